/**
 * Benchmark: a budget notification over 100% with 5,000 running low-priority Spot VMs and 50 ms
 * of injected latency on every Compute call, from message to all stops confirmed, against the
 * sequential stop loop of the seed document (one `stop` call after another).
 *
 *   npx tsx test/bench/enforcer.ts [--vms 5000] [--latency 50] [--concurrency 10,50,100]
 *                                  [--sequential-sample 200] [--sequential-all]
 *
 * The sequential loop is timed on a sample and extrapolated linearly unless --sequential-all
 * (about 5,000 × 50 ms ≈ 4 minutes). Loopback only; the sandbox stands in for Google Cloud.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Ledger } from '../../functions/adapters/bigquery.js';
import { BudgetDirectory } from '../../functions/adapters/budgets.js';
import { createClients } from '../../functions/adapters/clients.js';
import type { ComputeFleet } from '../../functions/adapters/compute.js';
import { resolveEndpoints } from '../../functions/adapters/endpoints.js';
import { ProjectDirectory } from '../../functions/adapters/projects.js';
import { commonAdapters } from '../../functions/adapters/runtime.js';
import { loggingNotifier } from '../../functions/adapters/slack.js';
import { systemClock } from '../../functions/core/clock.js';
import { commonSettings, readConfig } from '../../functions/core/config.js';
import { createLogger } from '../../functions/core/logger.js';
import type { HourlyRate, PriceLookup } from '../../functions/core/pricing.js';
import {
  budgetNotificationEvent,
  demoBudget,
} from '../../functions/sandbox/demos/budget-notifications.js';
import { createBudgetEnforcer } from '../../functions/budget/enforce-budget.js';
import { BigQueryEnforcementLedger } from '../../functions/budget/enforcement-ledger.js';
import { parseBudgetNotification } from '../../functions/budget/notification.js';
import { budgetSettings } from '../../functions/budget/policy.js';
import type { FleetFixture } from '../../functions/sandbox/fleet.js';
import { startSandbox } from '../../functions/sandbox/server.js';
import { DATASET } from '../budget/budget-harness.js';
import { capabilitySqlRoot } from '../support/sql.js';
import { machineLine } from './machine.js';

const { values: args } = parseArgs({
  options: {
    vms: { type: 'string', default: '5000' },
    latency: { type: 'string', default: '50' },
    concurrency: { type: 'string', default: '10,50,100' },
    'sequential-sample': { type: 'string', default: '200' },
    'sequential-all': { type: 'boolean', default: false },
    'serve-sandbox': { type: 'string' },
  },
});
const VMS = Number(args.vms);
const LATENCY_MS = Number(args.latency);
const CONCURRENCIES = String(args.concurrency).split(',').map(Number);
const SAMPLE = args['sequential-all'] ? VMS : Math.min(VMS, Number(args['sequential-sample']));
const DEFAULT_CONCURRENCY = readConfig(budgetSettings, {}).stopConcurrency;

const ACCOUNT = '01D4EE-079462-DFD6EC';
const BUDGET_ID = '5e2c7a90-bench-4c1e-8a55-3e2f1d0c9b8a';
const PROJECT = 'ml-training-prod';
const ZONES = [
  'us-central1-a',
  'us-central1-b',
  'us-central1-c',
  'us-central1-f',
  'europe-west4-a',
];
const TYPES = ['n2-standard-4', 'n2-standard-8', 'e2-standard-4', 'g2-standard-8', 'c2-standard-8'];

const logger = createLogger({ sink: () => undefined });

function fleetOf(count: number): FleetFixture {
  return {
    startTime: '2026-11-20T00:00:00Z',
    projects: [{ id: PROJECT, number: '481516234201', zones: ZONES }],
    instances: Array.from({ length: count }, (_, i) => ({
      project: PROJECT,
      zone: ZONES[i % ZONES.length] as string,
      name: `batch-${String(i).padStart(5, '0')}`,
      machineType: TYPES[i % TYPES.length] as string,
      provisioningModel: 'SPOT' as const,
      labels: { team: 'ml', priority: 'low' },
    })),
  };
}

const prices: PriceLookup = {
  rate: (machine): Promise<HourlyRate> => {
    const hourly = 0.05 + TYPES.indexOf(machine.machineType) * 0.03;
    return Promise.resolve({
      hourly,
      spot: hourly,
      onDemand: hourly * 3,
      currency: 'USD',
      source: 'catalog',
    });
  },
};

interface RemoteSandbox {
  env: Record<string, string>;
  url: string;
  close(): Promise<void>;
}

/**
 * The sandbox in a child process (this file with --serve-sandbox), so that its CPU is not the
 * enforcer's: Google's API servers do not share the function's CPU either.
 */
async function sandboxWithFleet(): Promise<{
  sandbox: RemoteSandbox;
  clients: ReturnType<typeof createClients>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'costguard-bench-fleet-'));
  const fleetPath = join(dir, 'fleet.json');
  writeFileSync(fleetPath, JSON.stringify(fleetOf(VMS)));
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), '--serve-sandbox', fleetPath],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const hostPort = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /READY (\S+)/.exec(out);
      if (match) resolve(match[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}`)));
  });
  const url = `http://${hostPort}`;
  const env = { GCP_EMULATOR_HOST: hostPort, SLACK_API_URL: `${url}/api/` };
  const sandbox: RemoteSandbox = {
    env,
    url,
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
  await control(
    sandbox,
    'PUT',
    '/_sandbox/billing/budgets',
    demoBudget({
      billingAccountId: ACCOUNT,
      budgetId: BUDGET_ID,
      amount: 10_000,
      projectNumbers: ['481516234201'],
    }),
  );
  return { sandbox, clients: createClients(resolveEndpoints(env)) };
}

async function control(
  sandbox: RemoteSandbox,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

async function serveSandbox(fleetPath: string): Promise<void> {
  const sandbox = await startSandbox({
    fleet: JSON.parse(readFileSync(fleetPath, 'utf8')) as FleetFixture,
  });
  process.once('SIGTERM', () => {
    void sandbox.close().then(() => process.exit(0));
  });
  process.stdout.write(`READY ${sandbox.hostPort}\n`);
}

/** The Compute fleet as the entry points build it. */
function computeFleet(clients: ReturnType<typeof createClients>): ComputeFleet {
  const env = { COSTGUARD_PROJECTS: PROJECT, COSTGUARD_DATASET: DATASET };
  return commonAdapters(
    { env, clients, logger, clock: systemClock },
    readConfig(commonSettings, env),
  ).fleet;
}

interface EnforcerRun {
  concurrency: number;
  toStopsConfirmedMs: number;
  totalMs: number;
  stopped: number;
}

async function runEnforcer(concurrency: number): Promise<EnforcerRun> {
  const { sandbox, clients } = await sandboxWithFleet();
  try {
    const ledger = new Ledger(() => clients.bigquery(PROJECT, 'US'), {
      project: PROJECT,
      dataset: DATASET,
      location: 'US',
      logger,
      // Only the enforcer's tables.
      sqlRoot: capabilitySqlRoot(/^2\d_/),
    });
    await ledger.migrate();
    const fleet = computeFleet(clients);
    // Warm the client libraries so that loading them is not counted.
    await fleet.listAll(PROJECT, { status: 'TERMINATED' });
    let lastStopDone = 0;
    const enforcer = createBudgetEnforcer({
      fleet: {
        listing: fleet.listing.bind(fleet),
        get: fleet.get.bind(fleet),
        stopAll: async (targets, concurrency) => {
          const outcomes = await fleet.stopAll(targets, concurrency);
          lastStopDone = performance.now();
          return outcomes;
        },
      },
      budgets: new BudgetDirectory(() => clients.budgets(), { logger }),
      projects: new ProjectDirectory(() => clients.projects(), { logger }),
      prices,
      ledger: new BigQueryEnforcementLedger(ledger),
      notifier: loggingNotifier(logger),
      logger,
      clock: systemClock,
      config: {
        policy: readConfig(budgetSettings, {}).policy,
        projects: [PROJECT],
        enforce: true,
        stopConcurrency: concurrency,
        dashboardUrl: undefined,
        trusted: { billingAccount: ACCOUNT, budgetIds: [BUDGET_ID] },
      },
    });
    await control(sandbox, 'PUT', '/_sandbox/faults/compute.*', { delayMs: LATENCY_MS });
    const event = budgetNotificationEvent({
      billingAccountId: ACCOUNT,
      budgetId: BUDGET_ID,
      budgetAmount: 10_000,
      costAmount: 10_250,
      costIntervalStart: '2026-11-01T07:00:00Z',
    });
    const started = performance.now();
    const report = await enforcer.handle(parseBudgetNotification(event.data, event.id));
    const finished = performance.now();
    const summary = await control(sandbox, 'GET', '/_sandbox');
    const stopped = Number(summary.instances) - Number(summary.running);
    if (stopped !== VMS || report.outcomes.length !== VMS) {
      throw new Error(`expected ${VMS} VMs stopped, found ${stopped}`);
    }
    return {
      concurrency,
      toStopsConfirmedMs: lastStopDone - started,
      totalMs: finished - started,
      stopped,
    };
  } finally {
    await sandbox.close();
  }
}

/** The seed's loop: list, then stop one VM after another. */
async function runSequential(sample: number): Promise<{ perStopMs: number; listMs: number }> {
  const { sandbox, clients } = await sandboxWithFleet();
  try {
    const fleet = computeFleet(clients);
    await fleet.listAll(PROJECT, { status: 'TERMINATED' });
    await control(sandbox, 'PUT', '/_sandbox/faults/compute.*', { delayMs: LATENCY_MS });
    const listStarted = performance.now();
    const vms = await fleet.listAll(PROJECT, { status: 'RUNNING' });
    const listMs = performance.now() - listStarted;
    const started = performance.now();
    for (const vm of vms.slice(0, sample)) {
      await fleet.stop(vm, crypto.randomUUID());
    }
    return { perStopMs: (performance.now() - started) / sample, listMs };
  } finally {
    await sandbox.close();
  }
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

if (args['serve-sandbox']) {
  await serveSandbox(args['serve-sandbox']);
} else {
  await main();
}

async function main(): Promise<void> {
  console.log(machineLine());
  console.log(
    `Budget enforcer benchmark: ${VMS} running low-priority Spot VMs, ${LATENCY_MS} ms injected latency on every Compute call (loopback sandbox).`,
  );
  const runs: EnforcerRun[] = [];
  for (const concurrency of CONCURRENCIES) {
    const run = await runEnforcer(concurrency);
    runs.push(run);
    console.log(
      `  enforcer, concurrency ${String(concurrency).padStart(3)}${concurrency === DEFAULT_CONCURRENCY ? ' (default)' : '          '}: message -> all ${run.stopped} stops confirmed ${seconds(run.toStopsConfirmedMs)}; with ledger rows and Slack ${seconds(run.totalMs)}`,
    );
  }
  const sequential = await runSequential(SAMPLE);
  const sequentialMs = sequential.listMs + sequential.perStopMs * VMS;
  console.log(
    `  sequential stop loop (seed 004): ${sequential.perStopMs.toFixed(1)} ms per stop over ${SAMPLE} VMs; all ${VMS} ${SAMPLE === VMS ? 'took' : 'would take'} ${seconds(sequentialMs)}${SAMPLE === VMS ? '' : ' (extrapolated)'}`,
  );
  const best = runs.find((r) => r.concurrency === DEFAULT_CONCURRENCY) ?? runs[0];
  if (best) {
    console.log(
      `  speed-up at concurrency ${best.concurrency}: ${(sequentialMs / best.toStopsConfirmedMs).toFixed(1)}x to all stops confirmed`,
    );
  }
}
