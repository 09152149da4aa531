/**
 * Stand-ins for the run trigger's tests: the runs sandbox and settings, a fixed price lookup,
 * forwarded identity tokens and a triggerRun served in-process.
 */
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { commonAdapters } from '../../functions/adapters/runtime.js';
import { commonSettings, readConfig } from '../../functions/core/config.js';
import type { HourlyRate, PricedMachine, PriceLookup } from '../../functions/core/pricing.js';
import type { RunRecord } from '../../functions/runs/run-record.js';
import { buildTriggerRun } from '../../functions/runs/entry.js';
import { serveTarget } from '../../functions/sandbox/serve-target.js';
import { loadFixture } from './fixtures.js';
import { runApiProblems } from './openapi.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from './sandbox.js';

/** The sandbox with the run trigger's modules, the runs fleet and the Cloud Run jobs fixture. */
export async function startRunsSandbox(): Promise<Sandbox> {
  return startTestSandbox('fleets/runs.json');
}

/** The audience the test triggerRun accepts in a caller's identity token. */
export const RUNS_AUDIENCE = 'http://127.0.0.1/costguard-trigger-run';

export function runsEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    COSTGUARD_PROJECTS: 'data-pipelines,ml-training-prod',
    COSTGUARD_RUNS_AUDIENCES: RUNS_AUDIENCE,
    COSTGUARD_DATASET: 'costguard',
    COSTGUARD_SLACK_CHANNEL: 'C0RUNS',
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    COSTGUARD_PIPELINES: JSON.stringify(loadFixture('runs/pipelines.json')),
    ...overrides,
  };
}

/** A price lookup for tests: fixed Spot rates per machine type, 'unknown' otherwise. */
export function fakePrices(
  hourly: Record<string, number>,
): PriceLookup & { asked: PricedMachine[] } {
  const asked: PricedMachine[] = [];
  return {
    asked,
    rate(machine): Promise<HourlyRate> {
      asked.push(machine);
      const price = hourly[machine.machineType];
      return Promise.resolve(
        price === undefined
          ? { hourly: 0, spot: undefined, onDemand: 0, currency: 'USD', source: 'unknown' }
          : {
              hourly: price,
              spot: price,
              onDemand: price * 3,
              currency: 'USD',
              source: 'price-book',
            },
      );
    },
  };
}

/**
 * An ID token as Cloud Run forwards it: the payload intact, the signature removed; issued for
 * the test triggerRun unless the claims name another audience.
 */
export function forwardedToken(claims: Record<string, unknown>): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `Bearer ${part({ alg: 'RS256', kid: 'k1', typ: 'JWT' })}.${part({ aud: RUNS_AUDIENCE, ...claims })}.SIGNATURE_REMOVED_BY_GOOGLE`;
}

/** The caller a test request has unless it sends its own token: an invoker of most pipelines. */
export const DEFAULT_CALLER = 'alice@example.com';

export interface RunsApi {
  readonly url: string;
  readonly sandbox: Sandbox;
  readonly runtime: ReturnType<typeof sandboxRuntime>;
  readonly prices: ReturnType<typeof fakePrices>;
  call(
    method: string,
    path: string,
    options?: { body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>;
  close(): Promise<void>;
}

let served = 0;

/**
 * `triggerRun` built from its entry against the sandbox, registered with the Functions
 * Framework and served on a loopback port, with the ledger migrated.
 */
export async function serveTriggerRun(
  sandbox: Sandbox,
  env: Record<string, string> = runsEnv(),
  prices = fakePrices({ 'c2-standard-8': 0.08, 'e2-standard-4': 0.134, 'n2-standard-8': 0.1 }),
): Promise<RunsApi> {
  const runtime = sandboxRuntime(sandbox, env);
  const { ledger } = commonAdapters(runtime, readConfig(commonSettings, runtime.env));
  await ledger.migrate();
  const target = await serveTarget(`triggerRunTest${++served}`, {
    kind: 'http',
    handler: await buildTriggerRun(runtime, { prices }),
  });
  const url = target.url.replace(/\/$/, '');
  return {
    url,
    sandbox,
    runtime,
    prices,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const signed = Object.keys(headers).some((h) => /^(x-serverless-)?authorization$/i.test(h));
      if (!signed) headers.authorization = forwardedToken({ email: DEFAULT_CALLER });
      let body: string | undefined = options.raw;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      const response = await fetch(`${url}${path}`, { method, headers, body });
      const text = await response.text();
      // Every answer a run test receives is held to the API's OpenAPI document.
      const problems = runApiProblems({
        method,
        path,
        status: response.status,
        headers: response.headers,
        text,
      });
      if (problems.length > 0) {
        throw new Error(`The response does not match docs/openapi.json:\n${problems.join('\n')}`);
      }
      let parsed: Record<string, unknown> = {};
      try {
        parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        parsed = { text };
      }
      return { status: response.status, body: parsed, headers: response.headers };
    },
    close: () => target.close(),
  };
}

/** Rows of the runs table, oldest first, straight from the sandbox's BigQuery. */
export async function runRows(
  api: RunsApi,
  runId?: string,
): Promise<Array<Record<string, unknown>>> {
  const { ledger } = commonAdapters(api.runtime, readConfig(commonSettings, api.runtime.env));
  return ledger.query(
    `SELECT * FROM \`\${dataset}.runs\`${runId ? ' WHERE run_id = @runId' : ''} ORDER BY recorded_at, event_seq`,
    runId ? { runId } : undefined,
  );
}

/**
 * A runs sandbox with triggerRun served on it (with `env`, else the runs settings), opened
 * before and closed after the file's tests ('file') or each test ('test'); read `sandbox` and
 * `api` inside the tests.
 */
export function useTriggerRun(
  scope: 'file' | 'test',
  options: { env?: Record<string, string> } = {},
): {
  readonly sandbox: Sandbox;
  readonly api: RunsApi;
} {
  let sandbox: Sandbox | undefined;
  let api: RunsApi | undefined;
  const [open, close] = scope === 'file' ? [beforeAll, afterAll] : [beforeEach, afterEach];
  open(async () => {
    sandbox = await startRunsSandbox();
    api = await serveTriggerRun(sandbox, options.env);
  });
  close(async () => {
    await api?.close();
    await sandbox?.close();
  });
  return {
    get sandbox() {
      if (!sandbox) throw new Error('The runs sandbox is open only inside tests.');
      return sandbox;
    },
    get api() {
      if (!api) throw new Error('triggerRun is served only inside tests.');
      return api;
    },
  };
}

/** A time on the day the run fixtures take place. */
export const at = (time: string): Date => new Date(`2026-11-20T${time}Z`);

/** A VM run as the ledger holds it while it runs, for the pure run steps' tests. */
export const RUNNING_RUN: RunRecord = {
  runId: 'run-0a1b2c3d4e5f60718293',
  pipeline: 'nightly-categories',
  executor: 'vm',
  target: 'all',
  params: {},
  status: 'RUNNING',
  caller: 'alice@example.com',
  idempotencyKey: undefined,
  requestHash: 'h',
  resource: 'vm:data-pipelines/us-east1-b/batch-runner',
  requestedAt: at('00:00:00'),
  startedAt: at('00:00:10'),
  finishedAt: undefined,
  deadline: at('04:00:00'),
  execution: undefined,
  resultsPrefix: 'gs://b/results/run-0a1b2c3d4e5f60718293/',
  logsUri: undefined,
  exitMarker: undefined,
  detail: undefined,
  cost: undefined,
  slackChannel: undefined,
  slackTs: undefined,
};
