/**
 * Benchmark: a budget notification over 100% with 5,000 running low-priority Spot VMs spread over
 * the budget's projects, 50 ms of injected latency on every API route and stop operations
 * that take 30 simulated seconds, from message to all stops confirmed, against the sequential
 * stop loop of the seed document (one stop after another, each confirmed before the next).
 *
 *   npx tsx test/bench/enforcer.ts [--vms 5000] [--projects 25] [--latency 50]
 *                                  [--operation-seconds 30] [--concurrency 10,50,100]
 *                                  [--sequential-sample 200] [--sequential-all]
 *                                  [--priority-source labels|tags]
 *                                  [--cpu-profile PREFIX]
 *
 * Time: latency, CPU and the per-project write pacing run on the real clock; an operation's
 * 30 seconds pass on the sandbox's simulated clock, which a `wait` moves forward at once (as far
 * as the operation's end, at most two minutes), so they count in simulated time, not in wall
 * time. The write pacing (COSTGUARD_COMPUTE_WRITES_PER_MINUTE per project) bounds any design:
 * 5,000 VMs in one project take at least 244 s, in 10 projects 19 s, so the fleet is spread over
 * 25 projects by default and the floor of each split is printed. Every route the enforcer calls
 * (Compute, BigQuery, Budgets, Resource Manager, Slack) answers after the latency; the enforcer
 * is built as entry.ts builds it (Slack notifier, ledger holds) with a stand-in price lookup.
 * Printed per run: CPU per planned stop, the most calls in flight per call type against their
 * bounds, every route answered and when each port was busy. The sequential loop is timed on a
 * sample and extrapolated linearly unless --sequential-all. --cpu-profile writes a profile of
 * each enforcer run. With `--priority-source tags` the policy takes priorities from Resource
 * Manager tags (none bound, so every VM still counts as low): the enforcer reads each candidate
 * VM's effective tags before it plans, and the line says how many reads it made. Loopback only;
 * the sandbox stands in for Google Cloud.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { Ledger } from '../../functions/adapters/bigquery.js';
import { BudgetDirectory } from '../../functions/adapters/budgets.js';
import { createClients } from '../../functions/adapters/clients.js';
import type { ComputeFleet } from '../../functions/adapters/compute.js';
import { resolveEndpoints } from '../../functions/adapters/endpoints.js';
import { ProjectDirectory } from '../../functions/adapters/projects.js';
import { commonAdapters } from '../../functions/adapters/runtime.js';
import { VmTagDirectory } from '../../functions/adapters/vm-tags.js';
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
import { budgetSettings, DEFAULT_POLICY } from '../../functions/budget/policy.js';
import type { FleetFixture } from '../../functions/sandbox/fleet.js';
import { startSandbox } from '../../functions/sandbox/server.js';
import { DATASET } from '../budget/budget-harness.js';
import { capabilitySqlRoot } from '../support/sql.js';
import { machineLine } from './machine.js';
import { SANDBOX_APIS } from './sandbox-apis.js';

const { values: args } = parseArgs({
  options: {
    vms: { type: 'string', default: '5000' },
    projects: { type: 'string', default: '25' },
    latency: { type: 'string', default: '50' },
    'operation-seconds': { type: 'string', default: '30' },
    concurrency: { type: 'string', default: '10,50,100' },
    'sequential-sample': { type: 'string', default: '200' },
    'sequential-all': { type: 'boolean', default: false },
    'priority-source': { type: 'string', default: 'labels' },
    'serve-sandbox': { type: 'string' },
    'cpu-profile': { type: 'string' },
  },
});
const VMS = Number(args.vms);
const PROJECTS = Math.max(1, Number(args.projects));
const LATENCY_MS = Number(args.latency);
const OPERATION_SECONDS = Number(args['operation-seconds']);
const CONCURRENCIES = String(args.concurrency).split(',').map(Number);
const SAMPLE = args['sequential-all'] ? VMS : Math.min(VMS, Number(args['sequential-sample']));
const DEFAULT_CONCURRENCY = readConfig(budgetSettings, {}).stopConcurrency;
const FROM_TAGS = args['priority-source'] === 'tags';
const POLICY = readConfig(budgetSettings, {
  COSTGUARD_BUDGET_POLICY: JSON.stringify({
    ...DEFAULT_POLICY,
    ...(FROM_TAGS
      ? { prioritySource: 'tags', priorityTag: '100000000001/costguard-priority' }
      : {}),
  }),
}).policy;

const ACCOUNT = '01D4EE-079462-DFD6EC';
const BUDGET_ID = '5e2c7a90-bench-4c1e-8a55-3e2f1d0c9b8a';
const PROJECT_IDS = Array.from(
  { length: PROJECTS },
  (_, p) => `ml-training-${String(p + 1).padStart(2, '0')}`,
);
const PROJECT_NUMBERS = PROJECT_IDS.map((_, p) => String(481516234201 + p));
const PROJECT = PROJECT_IDS[0] as string;
const COMMON = readConfig(commonSettings, {
  COSTGUARD_PROJECTS: PROJECT,
  COSTGUARD_DATASET: 'costguard',
});
const WRITES_PER_MINUTE = COMMON.computeWritesPerMinute;
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
    projects: PROJECT_IDS.map((id, p) => ({
      id,
      number: PROJECT_NUMBERS[p] as string,
      zones: ZONES,
    })),
    instances: Array.from({ length: count }, (_, i) => ({
      project: PROJECT_IDS[i % PROJECTS] as string,
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
      projectNumbers: PROJECT_NUMBERS,
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
  const text = await response.text();
  return (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
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

/** The adapters as the entry points build them: Compute fleet, ledger and Slack notifier. */
function adapters(clients: ReturnType<typeof createClients>): ReturnType<typeof commonAdapters> {
  const env = {
    COSTGUARD_PROJECTS: PROJECT_IDS.join(','),
    COSTGUARD_DATASET: DATASET,
    SLACK_BOT_TOKEN: 'xoxb-bench-token',
    COSTGUARD_SLACK_CHANNEL: '#costguard-bench',
  };
  return commonAdapters(
    { env, clients, logger, clock: systemClock },
    readConfig(commonSettings, env),
  );
}

const computeFleet = (clients: ReturnType<typeof createClients>): ComputeFleet =>
  adapters(clients).fleet;

interface EnforcerRun {
  concurrency: number;
  toStopsConfirmedMs: number;
  totalMs: number;
  /** Simulated time the sandbox's clock moved during the run (operations ending, waits). */
  simulatedMs: number;
  cpuMsPerStop: number;
  stopped: number;
  /** effectiveTags.list calls made (a tags policy only). */
  tagReads: number;
  stats: ReturnType<ComputeFleet['stats']>;
  /** Calls the sandbox answered during the run, by route. */
  routes: Record<string, number>;
  /** Each port's calls as seconds from the message's arrival. */
  phases: string;
}

async function routeCounts(sandbox: RemoteSandbox): Promise<Record<string, number>> {
  const { calls } = (await control(sandbox, 'GET', '/_sandbox/calls')) as {
    calls: Array<{ route: string }>;
  };
  const counts: Record<string, number> = {};
  for (const { route } of calls) counts[route] = (counts[route] ?? 0) + 1;
  return counts;
}

/** Latency on every API route, and stop operations that take the simulated seconds. */
async function slowSandbox(sandbox: RemoteSandbox): Promise<void> {
  for (const api of SANDBOX_APIS) {
    await control(sandbox, 'PUT', `/_sandbox/faults/${api}.*`, { delayMs: LATENCY_MS });
  }
  await control(sandbox, 'PUT', '/_sandbox/faults/compute.instances.stop', {
    operation: { seconds: OPERATION_SECONDS },
  });
}

/** A CPU profile of the enforcer's run alone (--cpu-profile PREFIX), for Chrome DevTools. */
async function startProfiler(): Promise<{ stopInto(path: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    stopInto: async (path) => {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(path, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

async function sandboxNow(sandbox: RemoteSandbox): Promise<number> {
  return Date.parse(String((await control(sandbox, 'GET', '/_sandbox')).now));
}

/**
 * When each port's calls ran, from the start of the run: where the wall time went. A port's
 * methods are wrapped to record each call's interval under `port.method`.
 */
class Phases {
  private readonly spans = new Map<string, { first: number; last: number; calls: number }>();
  origin = 0;

  timed<T extends object>(port: string, target: T): T {
    return new Proxy(target, {
      get: (object, key, receiver) => {
        const value = Reflect.get(object, key, receiver) as unknown;
        if (typeof value !== 'function' || typeof key !== 'string') return value;
        return async (...callArgs: unknown[]) => {
          const begun = performance.now();
          try {
            return await Reflect.apply(value as (...a: unknown[]) => unknown, object, callArgs);
          } finally {
            this.record(`${port}.${key}`, begun, performance.now());
          }
        };
      },
    });
  }

  private record(name: string, begun: number, ended: number): void {
    const span = this.spans.get(name);
    if (!span) this.spans.set(name, { first: begun, last: ended, calls: 1 });
    else {
      span.first = Math.min(span.first, begun);
      span.last = Math.max(span.last, ended);
      span.calls++;
    }
  }

  end(name: string): number | undefined {
    return this.spans.get(name)?.last;
  }

  describe(): string {
    return [...this.spans]
      .sort(([, a], [, b]) => a.first - b.first)
      .map(
        ([name, s]) =>
          `${name}${s.calls > 1 ? ` x${s.calls}` : ''} ${((s.first - this.origin) / 1000).toFixed(2)}-${((s.last - this.origin) / 1000).toFixed(2)}`,
      )
      .join(', ');
  }
}

async function runEnforcer(concurrency: number): Promise<EnforcerRun> {
  const { sandbox, clients } = await sandboxWithFleet();
  const phases = new Phases();
  try {
    const ledger = new Ledger(() => clients.bigquery(PROJECT, 'US'), {
      project: PROJECT,
      dataset: DATASET,
      location: 'US',
      logger,
      // Only the enforcer's tables, and the Slack actions that hold its tiers.
      sqlRoot: capabilitySqlRoot(/^(2\d|45)_/),
    });
    await ledger.migrate();
    const warm = computeFleet(clients);
    // Warm the client libraries so that loading them is not counted.
    await warm.listAll(PROJECT, { status: 'TERMINATED' });
    // Fresh adapters, so that the fleet's call counts and peaks are the run's own.
    const built = adapters(clients);
    const fleet = built.fleet;
    const enforcementLedger = phases.timed('ledger', new BigQueryEnforcementLedger(built.ledger));
    const enforcer = createBudgetEnforcer({
      fleet: phases.timed('compute', {
        listing: fleet.listing.bind(fleet),
        get: fleet.get.bind(fleet),
        stopAll: fleet.stopAll.bind(fleet),
      }),
      budgets: phases.timed('budgets', new BudgetDirectory(() => clients.budgets(), { logger })),
      projects: phases.timed(
        'projects',
        new ProjectDirectory(() => clients.projects(), { logger }),
      ),
      prices,
      ledger: enforcementLedger,
      holds: enforcementLedger,
      notifier: phases.timed('slack', built.notifier),
      ...(FROM_TAGS
        ? { tags: new VmTagDirectory((zone) => clients.tagBindings(zone), { logger }) }
        : {}),
      logger,
      clock: systemClock,
      config: {
        policy: POLICY,
        projects: PROJECT_IDS,
        enforce: true,
        stopConcurrency: concurrency,
        dashboardUrl: undefined,
        trusted: { billingAccount: ACCOUNT, budgetIds: [BUDGET_ID] },
      },
    });
    await slowSandbox(sandbox);
    const event = budgetNotificationEvent({
      billingAccountId: ACCOUNT,
      budgetId: BUDGET_ID,
      budgetAmount: 10_000,
      costAmount: 10_250,
      costIntervalStart: '2026-11-01T07:00:00Z',
    });
    const simulatedStart = await sandboxNow(sandbox);
    await control(sandbox, 'DELETE', '/_sandbox/calls');
    const profiler = args['cpu-profile'] ? await startProfiler() : undefined;
    const cpu = process.cpuUsage();
    const started = performance.now();
    phases.origin = started;
    const report = await enforcer.handle(parseBudgetNotification(event.data, event.id));
    const finished = performance.now();
    const used = process.cpuUsage(cpu);
    if (profiler) await profiler.stopInto(`${args['cpu-profile']}-${concurrency}.cpuprofile`);
    const simulatedMs = (await sandboxNow(sandbox)) - simulatedStart;
    const routes = await routeCounts(sandbox);
    const summary = await control(sandbox, 'GET', '/_sandbox');
    const tagCalls = await control(
      sandbox,
      'GET',
      '/_sandbox/calls?route=resourcemanager.effectiveTags',
    );
    const stopped = Number(summary.instances) - Number(summary.running);
    if (stopped !== VMS || report.outcomes.length !== VMS) {
      throw new Error(`expected ${VMS} VMs stopped, found ${stopped}`);
    }
    if (!routes['slack.chat.postMessage']) throw new Error('Slack received no report');
    return {
      concurrency,
      toStopsConfirmedMs: (phases.end('compute.stopAll') ?? Number.NaN) - started,
      totalMs: finished - started,
      simulatedMs,
      cpuMsPerStop: (used.user + used.system) / 1000 / VMS,
      stopped,
      tagReads: (tagCalls.calls as unknown[]).length,
      stats: fleet.stats(),
      routes,
      phases: phases.describe(),
    };
  } finally {
    await sandbox.close();
  }
}

/** The seed's loop: list, then stop one VM after another, each confirmed before the next. */
async function runSequential(
  sample: number,
): Promise<{ perStopMs: number; listMs: number; simulatedPerStopMs: number }> {
  const { sandbox, clients } = await sandboxWithFleet();
  try {
    const fleet = computeFleet(clients);
    await fleet.listAll(PROJECT, { status: 'TERMINATED' });
    await slowSandbox(sandbox);
    const listStarted = performance.now();
    const vms = (
      await Promise.all(PROJECT_IDS.map((p) => fleet.listAll(p, { status: 'RUNNING' })))
    ).flat();
    const listMs = performance.now() - listStarted;
    const simulatedStart = await sandboxNow(sandbox);
    const started = performance.now();
    for (const vm of vms.slice(0, sample)) {
      await fleet.stop(vm, crypto.randomUUID());
    }
    const perStopMs = (performance.now() - started) / sample;
    const simulatedPerStopMs = ((await sandboxNow(sandbox)) - simulatedStart) / sample;
    return { perStopMs, listMs, simulatedPerStopMs };
  } finally {
    await sandbox.close();
  }
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const TARGET_SPEEDUP = 40;

if (args['serve-sandbox']) {
  await serveSandbox(args['serve-sandbox']);
} else {
  await main();
}

async function main(): Promise<void> {
  console.log(machineLine());
  const perProject = Math.ceil(VMS / PROJECTS);
  // A burst of a tenth of the minute's budget, then the budget's rate.
  const burst = Math.ceil(WRITES_PER_MINUTE / 10);
  const floorMs = (vmsInOneProject: number) =>
    Math.max(0, ((vmsInOneProject - burst) / WRITES_PER_MINUTE) * 60_000);
  const pacingFloorMs = floorMs(perProject);
  console.log(
    `Settings: ${VMS} running low-priority Spot VMs over ${PROJECTS} projects of the budget (${perProject} each), ${LATENCY_MS} ms injected latency on every API route (Compute, BigQuery, Budgets, Resource Manager, Slack), stop operations of ${OPERATION_SECONDS} simulated seconds, write pacing ${WRITES_PER_MINUTE}/min per project, priorities from ${FROM_TAGS ? 'Resource Manager tags' : 'labels'}, loopback sandbox in its own process.`,
  );
  console.log(
    `  The fleet is spread over projects on purpose: the write pacing alone keeps any design at least ${seconds(pacingFloorMs)} on this split, ${seconds(floorMs(Math.ceil(VMS / 10)))} with 10 projects and ${seconds(floorMs(VMS))} with all ${VMS} VMs in one project.`,
  );
  console.log(
    '  Wall time counts latency, CPU and pacing (real clock); operation time passes on the simulated clock, which a wait moves at once.',
  );
  const runs: EnforcerRun[] = [];
  for (const concurrency of CONCURRENCIES) {
    const run = await runEnforcer(concurrency);
    runs.push(run);
    const peaks = Object.entries(run.stats.peakInFlight)
      .map(([kind, peak]) => `${kind} ${peak}`)
      .join(', ');
    const calls = Object.entries(run.stats.calls)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ');
    console.log(
      `  enforcer, concurrency ${String(concurrency).padStart(3)}${concurrency === DEFAULT_CONCURRENCY ? ' (default)' : '          '}: message -> all ${run.stopped} stops confirmed ${seconds(run.toStopsConfirmedMs)} wall + ${seconds(run.simulatedMs)} simulated; with ledger rows and Slack ${seconds(run.totalMs)}; CPU ${run.cpuMsPerStop.toFixed(2)} ms per planned stop${FROM_TAGS ? `; ${run.tagReads} tag reads` : ''}`,
    );
    // The stop storm's calls (stops, waits, operation lists) share its concurrency; every
    // Compute call, listings included, shares the fleet's.
    const limit = Math.min(concurrency, COMMON.computeConcurrency);
    const held =
      Object.entries(run.stats.peakInFlight).every(
        ([kind, peak]) => peak <= (kind === 'list' ? COMMON.computeConcurrency : limit),
      ) && run.stats.peakTotal <= COMMON.computeConcurrency;
    console.log(
      `    max in flight per call type: ${peaks}; all Compute calls ${run.stats.peakTotal}; calls: ${calls}`,
    );
    console.log(
      `    bounds: stops, waits and operation lists <= ${limit} (min of the stop concurrency ${concurrency} and COSTGUARD_COMPUTE_CONCURRENCY ${COMMON.computeConcurrency}), every Compute call <= ${COMMON.computeConcurrency}: ${held ? 'held' : 'EXCEEDED'}`,
    );
    const routes = Object.entries(run.routes)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([route, n]) => `${route} ${n}`)
      .join(', ');
    console.log(`    routes answered (each after ${LATENCY_MS} ms): ${routes}`);
    console.log(`    port calls, seconds from the message: ${run.phases}`);
  }
  const sequential = await runSequential(SAMPLE);
  const sequentialMs = sequential.listMs + sequential.perStopMs * VMS;
  const sequentialSimulatedMs = sequential.simulatedPerStopMs * VMS;
  console.log(
    `  sequential stop loop (seed 004): ${sequential.perStopMs.toFixed(1)} ms wall and ${seconds(sequential.simulatedPerStopMs)} simulated per stop over ${SAMPLE} VMs; all ${VMS} ${SAMPLE === VMS ? 'took' : 'would take'} ${seconds(sequentialMs)} wall + ${seconds(sequentialSimulatedMs)} simulated${SAMPLE === VMS ? '' : ' (extrapolated)'}`,
  );
  console.log(
    `  the write pacing alone caps the speed-up at ${pacingFloorMs > 0 ? `${(sequentialMs / pacingFloorMs).toFixed(0)}x` : 'nothing'} on this split (${(sequentialMs / floorMs(Math.ceil(VMS / 10))).toFixed(0)}x with 10 projects, ${(sequentialMs / floorMs(VMS)).toFixed(1)}x with one)`,
  );
  const best = runs.find((r) => r.concurrency === DEFAULT_CONCURRENCY) ?? runs[0];
  if (best) {
    const wallRatio = sequentialMs / best.toStopsConfirmedMs;
    const totalRatio =
      (sequentialMs + sequentialSimulatedMs) / (best.toStopsConfirmedMs + best.simulatedMs);
    console.log(
      `  speed-up at concurrency ${best.concurrency}: ${wallRatio.toFixed(1)}x in wall time to all stops confirmed; ${totalRatio.toFixed(0)}x counting the operations' simulated time (target >= ${TARGET_SPEEDUP}x in wall time): ${wallRatio >= TARGET_SPEEDUP ? 'met' : 'NOT met'}; ${(sequentialMs / best.totalMs).toFixed(1)}x to the outcome rows and Slack report`,
    );
  }
}
