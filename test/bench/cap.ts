/**
 * Benchmark of enforceSpotCap, printed, never asserted:
 *
 * 1. One cap run over a large fleet (default 10,000 running Spot VMs over 20 projects, 30 caps of
 *    mixed scopes: all governed projects, some projects, a label value), in dry run, with 50 ms of
 *    injected latency on every Google API call (Compute and BigQuery), and the same run with no
 *    latency as the baseline: API calls per run, wall and CPU per run, peak RSS.
 * 2. A simulated day: a 120 VM fleet runs at a steady rate under a daily cap; at a known minute
 *    a sweep of GPU VMs starts and the cap is crossed. Cloud Scheduler calls enforceSpotCap every
 *    10 minutes; printed: the minute the cap was crossed, the minute of the first stop request,
 *    and when a budget notification could first have acted for the same crossing.
 *
 *   npm run bench:cap -- [--vms 10000] [--projects 20] [--caps 30] [--latency 50]
 *
 * The sandbox runs in this process (its CPU is counted with the run's; the baseline shows how
 * much). Loopback only.
 */
import { totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { Ledger } from '../../functions/adapters/bigquery.js';
import { buildEnforceSpotCap } from '../../functions/caps/entry.js';
import { createLogger } from '../../functions/core/logger.js';
import type { HourlyRate, PriceLookup } from '../../functions/core/pricing.js';
import type { FleetFixture } from '../../functions/sandbox/fleet.js';
import { serveTarget } from '../../functions/sandbox/serve-target.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';
import { machineLine } from './machine.js';

const { values: args } = parseArgs({
  options: {
    vms: { type: 'string', default: '10000' },
    projects: { type: 'string', default: '20' },
    caps: { type: 'string', default: '30' },
    latency: { type: 'string', default: '50' },
  },
});
const VMS = Number(args.vms);
const PROJECTS = Number(args.projects);
const CAPS = Number(args.caps);
const LATENCY_MS = Number(args.latency);
const TEAMS = ['vision', 'nlp', 'recsys', 'data', 'research'];
const TYPES = ['n2-standard-4', 'n2-standard-8', 'e2-standard-4', 'g2-standard-8', 'a2-highgpu-1g'];
const HOURLY: Record<string, number> = {
  'n2-standard-4': 0.0776,
  'n2-standard-8': 0.1552,
  'e2-standard-4': 0.0449,
  'g2-standard-8': 0.3412,
  'a2-highgpu-1g': 1.4696,
};
const PRIORITIES = ['low', 'low', 'medium', 'high'];

const prices: PriceLookup = {
  rate: (machine): Promise<HourlyRate> => {
    const hourly = HOURLY[machine.machineType] ?? 0.1;
    return Promise.resolve({
      hourly,
      spot: hourly,
      onDemand: hourly * 3,
      currency: 'USD',
      source: 'catalog',
    });
  },
};

const projectId = (i: number): string => `bench-project-${String(i).padStart(2, '0')}`;

function fleetOf(vms: number, projects: number): FleetFixture {
  return {
    startTime: '2026-11-20T00:00:00Z',
    projects: Array.from({ length: projects }, (_, i) => ({
      id: projectId(i),
      number: String(100000000000 + i),
      zones: ['us-central1-a', 'us-central1-b'],
    })),
    instances: Array.from({ length: vms }, (_, i) => ({
      project: projectId(i % projects),
      zone: i % 2 === 0 ? 'us-central1-a' : 'us-central1-b',
      name: `vm-${String(i).padStart(5, '0')}`,
      machineType: TYPES[i % TYPES.length] as string,
      provisioningModel: 'SPOT' as const,
      labels: {
        team: TEAMS[i % TEAMS.length] as string,
        priority: PRIORITIES[i % PRIORITIES.length] as string,
      },
    })),
  };
}

/** Caps of mixed scopes: every third over all projects, some projects, or a team label. */
function capsOf(count: number, projects: number): unknown[] {
  return Array.from({ length: count }, (_, i) => {
    const kind = i % 3;
    const scope =
      kind === 0
        ? {}
        : kind === 1
          ? { projects: [projectId(i % projects), projectId((i + 1) % projects)] }
          : { label: `team=${TEAMS[i % TEAMS.length] as string}` };
    return {
      name: `cap-${String(i).padStart(2, '0')}`,
      scope,
      period: i % 2 === 0 ? 'day' : 'month',
      amount: 1_000_000,
      currency: 'USD',
      tiers: [{ at: 0.8 }, { at: 1, stop: ['low'] }],
    };
  });
}

const ENV = { COSTGUARD_DATASET: 'costguard' };

async function startBench(fleet: FleetFixture, env: Record<string, string>) {
  const sandbox = await startTestSandbox(fleet);
  const runtime = {
    ...sandboxRuntime(sandbox, { ...ENV, ...env }),
    logger: createLogger({ sink: () => undefined }),
  };
  const ledger = new Ledger(() => runtime.clients.bigquery(fleet.projects[0]?.id ?? '', 'US'), {
    project: fleet.projects[0]?.id ?? '',
    dataset: 'costguard',
    location: 'US',
    logger: createLogger({ sink: () => undefined }),
  });
  await ledger.migrate();
  const target = await serveTarget('enforceSpotCapBench', {
    kind: 'http',
    handler: await buildEnforceSpotCap(runtime, { prices }),
  });
  return { sandbox, target };
}

async function timedRun(sandbox: Sandbox, url: string) {
  const calls = sandbox.calls.length;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const response = await fetch(url, { method: 'POST' });
  const body = (await response.json()) as { caps?: unknown[] };
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return {
    status: response.status,
    caps: body.caps?.length ?? 0,
    calls: sandbox.calls.length - calls,
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
  };
}

async function fleetRun(): Promise<void> {
  const fleet = fleetOf(VMS, PROJECTS);
  const { sandbox, target } = await startBench(fleet, {
    COSTGUARD_PROJECTS: fleet.projects.map((p) => p.id).join(','),
    COSTGUARD_SPOT_CAPS: JSON.stringify(capsOf(CAPS, PROJECTS)),
  });
  try {
    // A first run warms up what every instance loads once (clients, the ledger engine).
    sandbox.clock.set(new Date('2026-11-20T09:55:00Z'));
    await timedRun(sandbox, target.url);
    sandbox.clock.set(new Date('2026-11-20T10:05:00Z'));
    const baseline = await timedRun(sandbox, target.url);
    sandbox.clock.advance(10 * 60_000);
    sandbox.faults.set('*', { delayMs: LATENCY_MS });
    const loaded = await timedRun(sandbox, target.url);
    const rss = process.resourceUsage().maxRSS / 1024;
    console.log(
      `1. One cap run: ${VMS} running Spot VMs, ${PROJECTS} projects, ${CAPS} caps (all projects / some projects / a label), dry run`,
    );
    for (const [what, r] of [
      ['no injected latency (baseline)', baseline],
      [`${LATENCY_MS} ms on every API call`, loaded],
    ] as const) {
      console.log(
        `   ${what.padEnd(32)} HTTP ${r.status}, ${r.caps} caps, ${r.calls} API calls, wall ${Math.round(r.wallMs)} ms, CPU ${Math.round(r.cpuMs)} ms (sandbox included)`,
      );
    }
    console.log(`   peak RSS of this process (sandbox included): ${Math.round(rss)} MiB`);
  } finally {
    sandbox.faults.set('*', {});
    await target.close();
    await sandbox.close();
  }
}

/** The simulated day: a steady fleet, then a GPU sweep from a known minute. */
async function reactionDay(): Promise<void> {
  const fleet = fleetOf(120, 2);
  const cap = {
    name: 'fleet-daily',
    scope: {},
    period: 'day',
    amount: 520,
    currency: 'USD',
    tiers: [{ at: 0.8 }, { at: 1, stop: ['low'] }],
  };
  const { sandbox, target } = await startBench(fleet, {
    COSTGUARD_PROJECTS: fleet.projects.map((p) => p.id).join(','),
    COSTGUARD_SPOT_CAPS: JSON.stringify([cap]),
    COSTGUARD_SPOT_CAPS_ENFORCE: 'true',
  });
  const steady = fleet.instances.reduce((sum, vm) => sum + (HOURLY[vm.machineType] ?? 0), 0);
  const surgeAt = Date.parse('2026-11-20T09:07:00Z');
  const surge = 40;
  const surgeRate = surge * (HOURLY['a2-highgpu-1g'] ?? 0);
  try {
    sandbox.clock.set(new Date(surgeAt));
    for (let i = 0; i < surge; i++) {
      sandbox.fleet.add({
        project: projectId(i % 2),
        zone: 'us-central1-a',
        name: `sweep-${i}`,
        machineType: 'a2-highgpu-1g',
        provisioningModel: 'SPOT',
        labels: { team: 'research', priority: 'low' },
      });
    }
    // Spend so far at t (hours since midnight): the steady fleet all day, the sweep since 09:07.
    const spendAt = (t: number): number =>
      steady * ((t - Date.parse('2026-11-20T00:00:00Z')) / 3_600_000) +
      surgeRate * Math.max(0, (t - surgeAt) / 3_600_000);
    let crossing = surgeAt;
    while (spendAt(crossing) < cap.amount) crossing += 1000;
    let firstStop: number | undefined;
    // Scheduler fires at :00, :10, ... after the surge.
    let t = Math.ceil(surgeAt / 600_000) * 600_000;
    for (let run = 0; run < 36 && firstStop === undefined; run++, t += 600_000) {
      sandbox.clock.set(new Date(t));
      const before = sandbox.calls.filter((c) => c.route === 'compute.instances.stop').length;
      await fetch(target.url, { method: 'POST' });
      const after = sandbox.calls.filter((c) => c.route === 'compute.instances.stop').length;
      if (after > before) firstStop = t;
    }
    const hhmm = (ms: number): string => new Date(ms).toISOString().slice(11, 16);
    const hhmmss = (ms: number): string => new Date(ms).toISOString().slice(11, 19);
    console.log();
    console.log(
      `2. Simulated day: 120 VMs at ${steady.toFixed(2)} USD/h, cap ${cap.amount} USD/day; ${surge} GPU VMs (+${surgeRate.toFixed(2)} USD/h) start at ${hhmm(surgeAt)}`,
    );
    console.log(`   cap crossed at               ${hhmmss(crossing)} (from the fleet's rates)`);
    console.log(
      `   first stop request (cap)     ${firstStop === undefined ? 'none within 6 h' : `${hhmm(firstStop)}, ${((firstStop - crossing) / 60_000).toFixed(1)} min after the crossing (Scheduler every 10 min)`}`,
    );
    console.log(
      `   budget notification, earliest: the crossing's cost reaches Cloud Billing budgets after the billing data delay, which Google documents as "typically up to 24 hours" (users report 4-12 h), then at the next of the notifications sent several times a day: at best ${hhmm(crossing + 4 * 3_600_000)} with a 4 h delay, ${Math.round((4 * 3_600_000) / 60_000)} min after the crossing`,
    );
  } finally {
    await target.close();
    await sandbox.close();
  }
}

console.log(`Spot cap benchmark, ${Math.round(totalmem() / 2 ** 30)} GiB of RAM; ${machineLine()}`);
console.log(
  `settings: --vms ${VMS} --projects ${PROJECTS} --caps ${CAPS} --latency ${LATENCY_MS}; part 1 in dry run, part 2 with COSTGUARD_SPOT_CAPS_ENFORCE=true; COSTGUARD_SPOT_CAP_RECENT_HOURS and COSTGUARD_BUDGET_STOP_CONCURRENCY at their defaults (3 h, 50)`,
);
await fleetRun();
await reactionDay();
