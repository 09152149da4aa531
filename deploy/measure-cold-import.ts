/**
 * Cold start of each entry point as the deployed source sees it, beside three baselines measured
 * in the same run, each in fresh Node processes:
 *
 * - bare: importing the Functions Framework and nothing else;
 * - bare served: registering a no-op function and serving it through the framework up to its
 *   first response, as each entry point is below (Express and the framework's server included:
 *   the floor of any deployed function);
 * - eager: importing the Functions Framework and every client package's index, as a design that
 *   loads its clients up front would;
 * - each entry point: importing build/functions/index.js, serving the target through the
 *   framework on a loopback port and sending it one request, up to the end of its first response.
 *   The request goes to a sandbox (started here, in this process) seeded with the demo fleet and
 *   a migrated ledger, so the first response does the real work: reads, client creation, writes.
 *   The probe then sends the same request again: its CPU (warm) is what the work costs once
 *   everything is loaded, not counted in the cold figures.
 *
 *   npm run build && npx tsx deploy/measure-cold-import.ts [--runs 5] [--only triggerRun,...]
 *                                                          [--cpu-prof DIR]
 *
 * `--only` measures the baselines and the named entry points; `--cpu-prof DIR` writes a CPU
 * profile of every probe process into DIR (profiling slows them: figures are then not comparable).
 *
 * Loopback only. Prints the machine, the settings, the medians and the ratios to the baselines.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ENTRY_POINTS, type EntryPointName } from '../functions/entry-points.js';
import { machineLine } from '../test/bench/machine.js';
import { REPOSITORY_ROOT } from './cli.js';

/** What a probe sends to its target: method, path, content type and body. */
interface FirstRequest {
  method: 'GET' | 'POST';
  path: string;
  contentType?: string;
  authorization?: string;
  body?: string;
}

/** The packages any entry point that reads the ledger imports, whatever it does next. */
const LEDGER_READ_PACKAGES = ['zod', '@google-cloud/bigquery'];

const RUNS_AUDIENCE = 'https://costguard-runs.example.run.app';

/** An identity token as Cloud Run forwards it to the function: payload intact, signature removed. */
function forwardedToken(audience: string, email: string): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `Bearer ${part({ alg: 'RS256', typ: 'JWT' })}.${part({ aud: audience, email, email_verified: true })}.SIGNATURE_REMOVED_BY_GOOGLE`;
}

const fixture = (path: string): string =>
  readFileSync(join(REPOSITORY_ROOT, 'fixtures', path), 'utf8');

/** One realistic first request per target: a structured CloudEvent for event targets. */
function firstRequests(): Record<EntryPointName, FirstRequest> {
  const cloudEvent = 'application/cloudevents+json';
  return {
    recordSpotCosts: { method: 'POST', path: '/', contentType: 'application/json', body: '{}' },
    enforceBudget: {
      method: 'POST',
      path: '/',
      contentType: cloudEvent,
      body: fixture('budget/cloud-event-message-published.json'),
    },
    enforceSpotCap: { method: 'POST', path: '/', contentType: 'application/json', body: '{}' },
    enforceLabels: { method: 'POST', path: '/', contentType: 'application/json', body: '{}' },
    enforceLabelsOnCreate: {
      method: 'POST',
      path: '/',
      contentType: cloudEvent,
      body: fixture('audit/insert-v1-last.json'),
    },
    // An unsigned click: refused (401) once the handler is built, before any API is called.
    slackActions: {
      method: 'POST',
      path: '/',
      contentType: 'application/x-www-form-urlencoded',
      body: 'payload=%7B%7D',
    },
    recordPreemption: {
      method: 'POST',
      path: '/',
      contentType: cloudEvent,
      body: fixture('audit/preempted-message-published.json'),
    },
    // An unknown run: the reply comes after the run ledger has been queried.
    triggerRun: {
      method: 'GET',
      path: '/runs/run-0123456789abcdef0123',
      authorization: forwardedToken(RUNS_AUDIENCE, 'measure@costguard.example.com'),
    },
  };
}

/** Every client package the product depends on (its `@google-cloud/*` and Slack dependencies). */
function clientPackages(root: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  return Object.keys(pkg.dependencies)
    .filter((name) => /^@google-cloud\/|^@slack\//.test(name))
    .filter((name) => name !== '@google-cloud/functions-framework')
    .sort();
}

export interface ColdSample {
  /** From spawning the process to its figures line: Node's own start included, as on a cold instance. */
  readonly ms: number;
  /** CPU time of the whole process up to then (every thread), steadier than wall time on a busy machine. */
  readonly cpuMs: number;
  /** CPU time of a second identical request in the same process (entry points and served probes). */
  readonly warmCpuMs?: number;
  readonly status?: number;
  readonly rssMiB: number;
  readonly libraries: readonly string[];
}

// Runs in the child: one probe, measured once from its first line, printed as JSON.
const PROBE = `
const [mode, arg, requestJson] = process.argv.slice(1);
const cpuNow = () => { const { user, system } = process.cpuUsage(); return (user + system) / 1000; };
let status;
let cpuMs;
let warmCpuMs;
let rss;
let firstAt;
if (mode === 'bare') {
  await import('@google-cloud/functions-framework');
} else if (mode === 'eager') {
  await import('@google-cloud/functions-framework');
  for (const name of arg.split(',')) await import(name);
} else {
  let target = 'noop';
  if (mode === 'served') {
    // The no-op function, with the named packages imported first (a floor for functions that need them).
    for (const name of arg.split(',').filter(Boolean)) await import(name);
    (await import('@google-cloud/functions-framework')).http(target, (req, res) => void res.status(204).end());
  } else {
    const [indexUrl, name] = arg.split('#');
    target = name;
    await import(indexUrl);
  }
  const { getTestServer } = await import('@google-cloud/functions-framework/testing');
  const { request } = await import('node:http');
  const server = getTestServer(target);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const first = JSON.parse(requestJson);
  const send = () => new Promise((resolve, reject) => {
    const call = request({ host: '127.0.0.1', port: server.address().port, method: first.method, path: first.path,
      headers: { ...(first.contentType ? { 'content-type': first.contentType } : {}), ...(first.authorization ? { authorization: first.authorization } : {}) } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode));
    });
    call.on('error', reject);
    call.end(first.body);
  });
  status = await send();
  cpuMs = cpuNow();
  rss = process.memoryUsage().rss;
  firstAt = performance.now();
  // The same request again, everything loaded: what the work itself costs once warm.
  await send();
  warmCpuMs = cpuNow() - cpuMs;
  server.closeAllConnections();
  server.close();
}
cpuMs ??= cpuNow();
rss ??= process.memoryUsage().rss;
const { createRequire } = await import('node:module');
const cache = Object.keys(createRequire(import.meta.url).cache);
const libraries = [...new Set(cache.map((p) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(p)?.[1]).filter(Boolean))]
  .filter((name) => /^@google-cloud\\/(?!common|paginator|precise-date|projectify|promisify|functions-framework)|^@slack\\/web-api$/.test(name)).sort();
process.stdout.write('\\nCOLD-IMPORT ' + JSON.stringify({ cpuMs, warmCpuMs, afterFirstMs: firstAt === undefined ? 0 : performance.now() - firstAt, status, rssMiB: rss / 2 ** 20, libraries }) + '\\n');
process.exit(0);
`;

const run = promisify(execFile);

// Asynchronous, so that this process's sandbox answers the probe while it runs.
async function probe(
  root: string,
  env: NodeJS.ProcessEnv,
  args: string[],
  profileDir?: string,
): Promise<ColdSample> {
  const began = performance.now();
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const { stdout: output } = await run(
    process.execPath,
    [...profile, '--input-type=module', '-e', PROBE, ...args],
    { cwd: root, env, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 2 ** 20 },
  );
  // The function's log lines share stdout; the figures are on the marked line.
  const line = output.split('\n').find((l) => l.startsWith('COLD-IMPORT '));
  if (!line) throw new Error(`no figures from the probe ${args[0]}: ${output.slice(-2000)}`);
  const { afterFirstMs, ...figures } = JSON.parse(line.slice('COLD-IMPORT '.length)) as Omit<
    ColdSample,
    'ms'
  > & { afterFirstMs: number };
  // Wall time up to the first response: what the probe did after it (the warm request) is not counted.
  return { ...figures, ms: performance.now() - began - afterFirstMs };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function main(): Promise<void> {
  const root = REPOSITORY_ROOT;
  const runsAt = process.argv.indexOf('--runs');
  const runs = runsAt === -1 ? 5 : Math.max(1, Math.min(20, Number(process.argv[runsAt + 1]) || 5));
  const optionValue = (name: string): string | undefined => {
    const at = process.argv.indexOf(name);
    return at === -1 ? undefined : process.argv[at + 1];
  };
  const only = optionValue('--only')?.split(',');
  const profileDir = optionValue('--cpu-prof');
  const index = join(root, 'build/functions/index.js');
  if (!existsSync(index)) {
    process.stderr.write('Run npm run build first.\n');
    process.exitCode = 1;
    return;
  }
  const { startSandbox } = await import('../functions/sandbox/server.js');
  const { loadFleetFixture } = await import('../functions/sandbox/fleet.js');
  const { putBudget } = await import('../functions/sandbox/routes/billing-budgets.js');
  const { createClients } = await import('../functions/adapters/clients.js');
  const { resolveEndpoints } = await import('../functions/adapters/endpoints.js');
  const { Ledger } = await import('../functions/adapters/bigquery.js');
  const { createLogger } = await import('../functions/core/logger.js');

  const sandbox = await startSandbox({
    fleet: loadFleetFixture(join(root, 'fixtures/fleets/demo.json')),
  });
  try {
    putBudget(sandbox, JSON.parse(fixture('budget/get-budget.json')) as Record<string, unknown>);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      ...sandbox.env(),
      COSTGUARD_PROJECTS: 'ml-training-prod,data-pipelines,research-sandbox',
      COSTGUARD_DATASET: 'costguard',
      COSTGUARD_PIPELINES: fixture('runs/pipelines.json'),
      COSTGUARD_RUNS_AUDIENCES: RUNS_AUDIENCE,
      COSTGUARD_BILLING_ACCOUNT: '01D4EE-079462-DFD6EC',
      COSTGUARD_BUDGET_IDS: 'de72f49d-779b-4945-a127-4d6ce8def0bb',
      // slackActions: the sandbox workspace's signing secret and bot token, not real ones.
      SLACK_BOT_TOKEN: 'xoxb-local-sandbox',
      SLACK_SIGNING_SECRET: 'sandbox-signing-secret-8c1f',
      COSTGUARD_SLACK_ACTOR_GROUPS: 'S0COSTGUARD',
    };
    const logger = createLogger({ minSeverity: 'ERROR', sink: () => undefined });
    await new Ledger(
      () => createClients(resolveEndpoints(env)).bigquery('ml-training-prod', 'US'),
      { project: 'ml-training-prod', dataset: 'costguard', location: 'US', logger },
    ).migrate();

    const packages = clientPackages(root);
    const requests = firstRequests();
    const out = (line = ''): void => void process.stdout.write(`${line}\n`);
    out(`Cold start per entry point: median of ${runs} fresh processes each`);
    out(machineLine());
    out(
      'Settings: NODE_ENV=production, no Node flags; clients pointed at a loopback sandbox (demo fleet, migrated ledger).',
    );
    out(
      'Wall: from spawning the process to its first response (Node start included). CPU: the whole process, every thread.',
    );
    out(
      'Warm: CPU of the same request sent again in the same process (state may have changed: a second run may find its work done).',
    );
    out('Ratios use CPU time, which a busy machine inflates far less than wall time.');
    out();

    type Median = { ms: number; cpuMs: number; warmCpuMs?: number; sample: ColdSample };
    // Round robin: each run spawns every probe once, so a change in the machine's load
    // between runs weighs on every probe alike rather than on whichever was measured then.
    const entries = ENTRY_POINTS.filter(({ name }) => !only || only.includes(name)).map(
      ({ name }) => ({ name, first: requests[name] }),
    );
    const probes: { key: string; args: string[] }[] = [
      { key: 'bare', args: ['bare', ''] },
      { key: 'served', args: ['served', '', JSON.stringify({ method: 'GET', path: '/' })] },
      // What any ledger read needs before its first byte: the settings' schema library and the
      // BigQuery client, on top of the served no-op function.
      {
        key: 'ledgerFloor',
        args: [
          'served',
          LEDGER_READ_PACKAGES.join(','),
          JSON.stringify({ method: 'GET', path: '/' }),
        ],
      },
      { key: 'eager', args: ['eager', packages.join(',')] },
      ...entries.map(({ name, first }) => ({
        key: name,
        args: ['entry', `${pathToFileURL(index).href}#${name}`, JSON.stringify(first)],
      })),
    ];
    const samples = new Map<string, ColdSample[]>(probes.map(({ key }) => [key, []]));
    for (let i = 0; i < runs; i++) {
      for (const { key, args } of probes) {
        samples.get(key)?.push(await probe(root, env, args, profileDir));
      }
    }
    const medianOf = (key: string): Median => {
      const of = samples.get(key) ?? [];
      return {
        ms: median(of.map((s) => s.ms)),
        cpuMs: median(of.map((s) => s.cpuMs)),
        ...(of[0]?.warmCpuMs === undefined
          ? {}
          : { warmCpuMs: median(of.map((s) => s.warmCpuMs ?? 0)) }),
        sample: of[0] as ColdSample,
      };
    };
    const bare = medianOf('bare');
    const served = medianOf('served');
    const ledgerFloor = medianOf('ledgerFloor');
    const eager = medianOf('eager');
    const row = (label: string, m: Median, extra: string): void =>
      out(
        `${label.padEnd(46)} ${m.ms.toFixed(0).padStart(7)} ${m.cpuMs.toFixed(0).padStart(7)} ${(m.warmCpuMs === undefined ? '-' : m.warmCpuMs.toFixed(0)).padStart(7)} ${m.sample.rssMiB.toFixed(0).padStart(7)}  ${extra}`,
      );
    out(
      `${'probe'.padEnd(46)} ${'wall ms'.padStart(7)} ${'cpu ms'.padStart(7)} ${'warm ms'.padStart(7)} ${'rss MiB'.padStart(7)}`,
    );
    row('bare Functions Framework import', bare, 'baseline');
    row(
      'bare: a no-op function served, first response',
      served,
      `${(served.cpuMs / bare.cpuMs).toFixed(1)}x bare (Express and the framework's server)`,
    );
    row(
      'bare served + import of zod and BigQuery',
      ledgerFloor,
      `${(ledgerFloor.cpuMs / bare.cpuMs).toFixed(1)}x bare (the floor of a first ledger read)`,
    );
    row(
      'eager import of every client package',
      eager,
      `${(eager.cpuMs / bare.cpuMs).toFixed(1)}x bare: ${packages.join(', ')}`,
    );
    const verdicts: string[] = [];
    for (const { name, first } of entries) {
      const m = medianOf(name);
      const speedup = eager.cpuMs / m.cpuMs;
      const ofBare = m.cpuMs / bare.cpuMs;
      const ofServed = m.cpuMs / served.cpuMs;
      row(
        `${name} ${first.method} ${first.path} -> ${m.sample.status ?? '-'}`,
        m,
        `${ofBare.toFixed(1)}x bare, ${ofServed.toFixed(1)}x no-op served, eager ${speedup.toFixed(1)}x this; ${m.sample.libraries.join(', ')}`,
      );
      const failed = (m.sample.status ?? 500) >= 500;
      if (failed) {
        verdicts.push(
          `${name}: NOT measured, the function answered ${m.sample.status ?? 'nothing'}`,
        );
        continue;
      }
      verdicts.push(
        `${name}: first response ${speedup.toFixed(1)}x faster than the eager import (target >= 3x): ${speedup >= 3 ? 'met' : 'NOT met'}`,
      );
      if (name === 'triggerRun') {
        verdicts.push(
          `triggerRun: first GET /runs/{id} ${ofBare.toFixed(1)}x the bare import (target <= 6x): ${ofBare <= 6 ? 'met' : 'NOT met'}; ${ofServed.toFixed(1)}x a no-op function served, whose floor with zod and BigQuery imported is already ${(ledgerFloor.cpuMs / bare.cpuMs).toFixed(1)}x bare`,
        );
      }
    }
    out();
    for (const verdict of verdicts) out(verdict);
  } finally {
    await sandbox.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    () => process.exit(process.exitCode ?? 0),
    (error: unknown) => {
      process.stderr.write(
        `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
