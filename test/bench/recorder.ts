/**
 * Benchmark of recordSpotCosts through the real client libraries against the sandbox, with 50 ms
 * of latency injected on every sandbox route, for fleets of 2,500, 10,000 and 40,000 VMs spread
 * unevenly over 20 projects (no project holds a multiple of 500 VMs). For each fleet, in the same
 * run, it prints our design's API calls by route, CPU time, wall time and peak RSS for the first
 * hour (empty ledger) and the next (steady state), beside the one-insert-per-row design's calls
 * and its time extrapolated from single-row inserts measured against the same sandbox.
 *
 *   npm run bench:recorder -- [--fleets 2500,10000,40000] [--projects 20] [--latency-ms 50]
 *                             [--naive-sample 100]
 *
 * The script compiles the project, writes the part of Compute's definitions as `npm run build`
 * does, and runs the JavaScript, as deployed: under tsx the recorder's CPU time and memory would
 * include the TypeScript transform.
 *
 * Processes: this one orchestrates; per fleet, one child serves the sandbox (Compute, Monitoring,
 * Catalog, BigQuery on DuckDB) and another runs the recorder, so that the recorder's CPU time
 * and peak RSS are its own. No Node flags (no heap cap) beyond what runs TypeScript.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { RecordSummary } from '../../functions/recorder/record-spot-costs.js';
import { machineLine } from './machine.js';
import { SANDBOX_APIS } from './sandbox-apis.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
};
const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

const START = '2026-11-20T00:00:00Z';
const RUN_AT = '2026-11-20T01:10:00Z';
const DATASET = 'costguard';
const TARGET_RATIO = 150;
const TARGET_CPU_MS = 3_000;
const TARGET_RSS_MIB = 256;
/** Compute's largest aggregatedList page. */
const MAX_PAGE_VMS = 500;

// Regions the catalog fixture prices, with their zones; GPU machine types only where offered.
const REGIONS: Array<[string, string[], boolean]> = [
  ['us-central1', ['a', 'b', 'c', 'f'], true],
  ['us-east1', ['b', 'c', 'd'], true],
  ['us-west1', ['a', 'b', 'c'], true],
  ['us-east4', ['a', 'b', 'c'], true],
  ['europe-west4', ['a', 'b', 'c'], true],
  ['europe-west1', ['b', 'c', 'd'], true],
  ['asia-east1', ['a', 'b', 'c'], true],
  ['asia-northeast1', ['a', 'b', 'c'], true],
  ['us-east5', ['a', 'b', 'c'], false],
  ['us-south1', ['a', 'b', 'c'], false],
  ['us-west2', ['a', 'b', 'c'], false],
  ['us-west3', ['a', 'b', 'c'], false],
  ['northamerica-northeast1', ['a', 'b', 'c'], false],
  ['northamerica-northeast2', ['a', 'b', 'c'], false],
  ['southamerica-east1', ['a', 'b', 'c'], false],
  ['europe-west2', ['a', 'b', 'c'], false],
  ['europe-west3', ['a', 'b', 'c'], false],
];
const MACHINES = [
  'n2-standard-8',
  'n2d-standard-4',
  'e2-standard-4',
  'e2-micro',
  'c2-standard-8',
  'c3-standard-8',
  't2d-standard-4',
  'n1-standard-4',
  'n2-custom-4-20480-ext',
];
const GPU_MACHINES: Array<[string, string]> = [
  ['a2-highgpu-1g', 'nvidia-tesla-a100'],
  ['g2-standard-8', 'nvidia-l4'],
];
const TEAMS = ['vision', 'nlp', 'recsys', 'data', 'platform', 'research', 'search', 'ads'];

interface FleetSpec {
  vms: number;
  projects: number;
}

/** VMs per project, uneven (weights 3 to 13), none a multiple of 500, summing to `vms`. */
export function projectSizes(spec: FleetSpec): number[] {
  const weights = Array.from({ length: spec.projects }, (_, p) => 3 + ((p * 7) % 11));
  const total = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.floor((spec.vms * w) / total));
  sizes[0] = (sizes[0] as number) + spec.vms - sizes.reduce((a, b) => a + b, 0);
  for (let p = 0; p < sizes.length; p++) {
    if ((sizes[p] as number) % 500 === 0) {
      sizes[p] = (sizes[p] as number) - 1;
      sizes[(p + 1) % sizes.length] = (sizes[(p + 1) % sizes.length] as number) + 1;
    }
  }
  return sizes;
}

function generateFleet(spec: FleetSpec): { fleet: unknown; projectIds: string[]; sizes: number[] } {
  const zones = REGIONS.flatMap(([region, letters, gpus]) =>
    letters.map((l) => ({ zone: `${region}-${l}`, gpus })),
  );
  const projectIds = Array.from(
    { length: spec.projects },
    (_, i) => `bench-project-${String(i + 1).padStart(2, '0')}`,
  );
  // Each project spans ten zones; together they cover all of them.
  const projectZones = projectIds.map((_, p) =>
    Array.from({ length: 10 }, (__, k) => zones[(p * 7 + k * 5) % zones.length]!),
  );
  const sizes = projectSizes(spec);
  const owner = sizes.flatMap((n, p) => Array.from({ length: n }, () => p));
  const instances = owner.map((p, i) => {
    const place = projectZones[p]![i % 10]!;
    const gpu = place.gpus && i % 25 === 0 ? GPU_MACHINES[(i / 25) % 2]! : undefined;
    const model = i % 10 < 7 ? 'SPOT' : i % 10 < 9 ? 'STANDARD' : 'PREEMPTIBLE';
    const team = TEAMS[i % TEAMS.length]!;
    return {
      project: projectIds[p]!,
      zone: place.zone,
      name: `vm-${String(i).padStart(5, '0')}`,
      machineType: gpu ? gpu[0] : MACHINES[i % MACHINES.length]!,
      provisioningModel: model,
      ...(gpu ? { gpus: [{ type: gpu[1], count: 1 }] } : {}),
      labels: {
        team,
        app: `${team}-app-${i % 3}`,
        cost_center: `cc-${100 + (i % 8) * 10}`,
        priority: ['low', 'medium', 'high'][i % 3]!,
      },
    };
  });
  return {
    fleet: {
      startTime: START,
      projects: projectIds.map((id, p) => ({
        id,
        number: String(100000000000 + p),
        zones: projectZones[p]!.map((z) => z.zone),
      })),
      instances,
    },
    projectIds,
    sizes,
  };
}

// ---- child processes ---------------------------------------------------------------------

function send(message: unknown): Promise<void> {
  return new Promise((resolve) => process.send?.(message, () => resolve()));
}

function nextMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void =>
      reject(new Error(`a benchmark process exited with ${code}`));
    child.once('exit', onExit);
    child.once('message', (m) => {
      child.off('exit', onExit);
      resolve(m as T);
    });
  });
}

/** Sandbox child: serves the fleet with latency on every route until told to stop. */
async function serveSandbox(fleetPath: string, latencyMs: number): Promise<void> {
  const { startSandbox } = await import('../../functions/sandbox/server.js');
  const { loadFleetFixture } = await import('../../functions/sandbox/fleet.js');
  const sandbox = await startSandbox({ fleet: loadFleetFixture(fleetPath) });
  sandbox.clock.set(new Date(RUN_AT));
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: unknown) => {
    if (message === 'latency') {
      // Every API route; the inspection routes (sandbox.*) stay immediate.
      for (const api of SANDBOX_APIS) sandbox.faults.set(`${api}.*`, { delayMs: latencyMs });
      void send('ready');
    } else if (message === 'stop') {
      void sandbox.close().then(() => process.exit(0));
    }
  });
  await send({ hostPort: sandbox.hostPort, url: sandbox.url });
}

interface RunFigures {
  label: string;
  wallMs: number;
  cpuMs: number;
  summary: RecordSummary;
  byRoute: Record<string, number>;
  total: number;
}

interface RecorderFigures {
  runs: RunFigures[];
  peakRssMiB: number;
  naive: { sample: number; wallMsPerInsert: number; cpuMsPerInsert: number };
}

function recorderEnv(hostPort: string, url: string, projectIds: string[]): Record<string, string> {
  return {
    GCP_EMULATOR_HOST: hostPort,
    SLACK_API_URL: `${url}/api/`,
    COSTGUARD_PROJECTS: projectIds.join(','),
    COSTGUARD_DATASET: DATASET,
    COSTGUARD_CATCH_UP_HOURS: '1',
  };
}

async function calls(url: string): Promise<Array<{ route: string }>> {
  const response = await fetch(`${url}/_sandbox/calls`);
  return ((await response.json()) as { calls: Array<{ route: string }> }).calls;
}

/** Recorder child: two hourly runs, then single-row inserts for the naive design's figures. */
async function runRecorder(
  hostPort: string,
  url: string,
  projects: string,
  naiveSample: number,
): Promise<void> {
  const projectIds = projects.split(',');
  const { createClients } = await import('../../functions/adapters/clients.js');
  const { resolveEndpoints } = await import('../../functions/adapters/endpoints.js');
  const { createLogger } = await import('../../functions/core/logger.js');
  const { createRecorderFor } = await import('../../functions/recorder/entry.js');
  const env = recorderEnv(hostPort, url, projectIds);
  const logger = createLogger({
    minSeverity: 'WARNING',
    sink: (line) => process.stderr.write(`${line}\n`),
  });
  let now = new Date(RUN_AT);
  const clients = createClients(resolveEndpoints(env));
  const { recorder } = createRecorderFor({ env, clients, logger, clock: { now: () => now } });

  const runs: RunFigures[] = [];
  for (const label of ['first hour, empty ledger', 'next hour, steady state']) {
    await fetch(`${url}/_sandbox/calls`, { method: 'DELETE' });
    const cpu = process.cpuUsage();
    const began = performance.now();
    const summary = await recorder.record();
    const wallMs = performance.now() - began;
    const used = process.cpuUsage(cpu);
    const byRoute: Record<string, number> = {};
    const recorded = await calls(url);
    for (const c of recorded) byRoute[c.route] = (byRoute[c.route] ?? 0) + 1;
    runs.push({
      label,
      wallMs,
      cpuMs: (used.user + used.system) / 1000,
      summary,
      byRoute,
      total: recorded.length,
    });
    now = new Date(now.getTime() + 3_600_000);
    await fetch(`${url}/_sandbox/clock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ advanceSeconds: 3600 }),
    });
  }
  // The recorder's own high-water mark, before the naive design's inserts below.
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;

  // The one-insert-per-row design: each cost row is one insertAll call, one after another.
  const bq = await clients.bigquery(projectIds[0] as string, 'US');
  const table = bq.dataset(DATASET).table('spot_costs');
  const cpu = process.cpuUsage();
  const began = performance.now();
  for (let i = 0; i < naiveSample; i++) {
    await table.insert([
      {
        row_key: `naive/${i}`,
        usage_hour: START,
        project_id: 'naive-design',
        zone: 'us-central1-a',
        instance_id: String(i),
        uptime_seconds: 3600,
        currency: 'USD',
        price_source: 'catalog',
        attributes_source: 'compute',
        recorded_at: RUN_AT,
      },
    ]);
  }
  const used = process.cpuUsage(cpu);
  await send({
    runs,
    peakRssMiB,
    naive: {
      sample: naiveSample,
      wallMsPerInsert: naiveSample > 0 ? (performance.now() - began) / naiveSample : 0,
      cpuMsPerInsert: naiveSample > 0 ? (used.user + used.system) / 1000 / naiveSample : 0,
    },
  } satisfies RecorderFigures);
}

function child(argv: string[]): ChildProcess {
  // Whatever runs this file (tsx or compiled JavaScript) runs the children, with no heap cap.
  return fork(process.argv[1] as string, argv, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: process.execArgv.filter((a) => !a.startsWith('--max-old-space-size')),
  });
}

// ---- orchestration -----------------------------------------------------------------------

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function benchFleet(
  spec: FleetSpec,
  latencyMs: number,
  naiveSample: number,
): Promise<{ ratio: number; floorRatio: number; cpuMs: number; peakRssMiB: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-recorder-'));
  const { fleet, projectIds, sizes } = generateFleet(spec);
  const fleetPath = join(dir, 'fleet.json');
  writeFileSync(fleetPath, JSON.stringify(fleet));
  const sandboxChild = child(['--serve-sandbox', fleetPath, String(latencyMs)]);
  try {
    const { hostPort, url } = await nextMessage<{ hostPort: string; url: string }>(sandboxChild);
    // The ledger's tables, before latency and outside the recorder's process.
    const { createClients } = await import('../../functions/adapters/clients.js');
    const { resolveEndpoints } = await import('../../functions/adapters/endpoints.js');
    const { createLogger } = await import('../../functions/core/logger.js');
    const { recorderLedger } = await import('../recorder/recorder-ledger.js');
    const env = recorderEnv(hostPort, url, projectIds);
    await recorderLedger({
      env,
      clients: createClients(resolveEndpoints(env)),
      logger: createLogger({ minSeverity: 'ERROR', sink: () => undefined }),
    }).migrate();
    sandboxChild.send('latency');
    await nextMessage(sandboxChild);

    const recorderChild = child([
      '--run-recorder',
      hostPort,
      url,
      projectIds.join(','),
      String(naiveSample),
    ]);
    const figures = await nextMessage<RecorderFigures>(recorderChild);
    await new Promise((resolve) => recorderChild.once('exit', resolve));

    out();
    out(
      `== ${fmt(spec.vms)} VMs over ${spec.projects} projects (${Math.min(...sizes)} to ${Math.max(...sizes)} VMs each), ${latencyMs} ms latency on every route ==`,
    );
    const first = figures.runs[0] as RunFigures;
    const rows = first.summary.rows.written;
    out(
      `  cost of the first hour: ${first.summary.costByProvisioningModel.map((c) => `${c.provisioningModel} ${Number(c.cost).toFixed(2)} ${c.currency}`).join(', ')}; price sources ${JSON.stringify(first.summary.priceSources)}`,
    );
    const routes = [...new Set(figures.runs.flatMap((r) => Object.keys(r.byRoute)))].sort();
    out(
      `  ${'API calls by route'.padEnd(38)} ${figures.runs.map((r) => r.label.padStart(26)).join('')}`,
    );
    for (const route of routes) {
      out(
        `    ${route.padEnd(36)} ${figures.runs.map((r) => fmt(r.byRoute[route] ?? 0).padStart(26)).join('')}`,
      );
    }
    const line = (label: string, pick: (r: RunFigures) => string): void =>
      out(`  ${label.padEnd(38)} ${figures.runs.map((r) => pick(r).padStart(26)).join('')}`);
    line('total calls', (r) => fmt(r.total));
    line(
      'rows written / snapshots',
      (r) => `${fmt(r.summary.rows.written)} / ${fmt(r.summary.inventorySnapshots)}`,
    );
    line('CPU time of the run', (r) => `${fmt(r.cpuMs / 1000, 2)} s`);
    line('wall time of the run', (r) => `${fmt(r.wallMs / 1000, 2)} s`);
    line('  read / price / write / alert', (r) => {
      const p = r.summary.phasesMs;
      return `${fmt(p.read)}/${fmt(p.price)}/${fmt(p.write)}/${fmt(p.alert)} ms`;
    });
    out(`  recorder process peak RSS (both runs, no heap cap): ${fmt(figures.peakRssMiB)} MiB`);

    const timeSeriesPages = first.byRoute['monitoring.timeSeries.list'] ?? 0;
    const naiveCalls = timeSeriesPages + rows;
    const ratio = naiveCalls / first.total;
    // No design reads less than each project's uptime and each page of its inventory (500 VMs),
    // nor writes with less than one call: the best ratio any design can reach for this fleet.
    const floor =
      spec.projects + sizes.reduce((sum, n) => sum + Math.ceil(n / MAX_PAGE_VMS), 0) + 1;
    const steadyRatio = naiveCalls / (figures.runs[1] as RunFigures).total;
    const { naive } = figures;
    out('  one-insert-per-row design, same hour:');
    out(
      `    calls ${fmt(naiveCalls)} (${fmt(timeSeriesPages)} listTimeSeries + ${fmt(rows)} single-row insertAll) = ${fmt(ratio, 1)}x ours in the first hour, ${fmt(steadyRatio, 1)}x in steady state`,
    );
    out(
      `    ${naive.sample} single-row inserts measured in this run: ${fmt(naive.wallMsPerInsert, 1)} ms wall and ${fmt(naive.cpuMsPerInsert, 2)} ms CPU each; for ${fmt(rows)} rows ~${fmt((naive.wallMsPerInsert * rows) / 1000)} s wall and ~${fmt((naive.cpuMsPerInsert * rows) / 1000, 1)} s CPU for the inserts alone (extrapolated)`,
    );
    out(
      `  fewest calls any design needs: ${fmt(floor)} (${spec.projects} uptime reads, ${fmt(floor - spec.projects - 1)} inventory pages of up to ${MAX_PAGE_VMS} VMs, 1 write), so at most ${fmt(naiveCalls / floor, 1)}x; ${TARGET_RATIO}x would allow ${fmt(naiveCalls / TARGET_RATIO, 1)} calls`,
    );
    return {
      ratio,
      floorRatio: naiveCalls / floor,
      cpuMs: first.cpuMs,
      peakRssMiB: figures.peakRssMiB,
    };
  } finally {
    sandboxChild.send('stop');
    await new Promise((resolve) => sandboxChild.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const fleets = option('fleets', '2500,10000,40000').split(',').map(Number);
  const projects = Number(option('projects', '20'));
  const latencyMs = Number(option('latency-ms', '50'));
  const naiveSample = Number(option('naive-sample', '100'));
  out('recordSpotCosts benchmark');
  out(`${machineLine()} (wall times are inflated on a busy machine; CPU times much less)`);
  out(
    `Settings: fleets ${fleets.join(', ')} VMs over ${projects} projects, ${latencyMs} ms on every API route (${SANDBOX_APIS.join(', ')}), catch-up window 1 hour, project concurrency 4, no heap cap`,
  );
  out(
    'No VM is stopped or deleted between the runs, so the preemption backstop reads no project; each project showing a sign of a preemption adds one Compute call.',
  );
  const verdicts: string[] = [];
  for (const vms of fleets) {
    const figures = await benchFleet({ vms, projects }, latencyMs, naiveSample);
    if (vms !== 10_000) {
      verdicts.push(
        `${fmt(vms)} VMs: ${fmt(figures.ratio, 1)}x fewer calls than one insert per row, of at most ${fmt(figures.floorRatio, 1)}x that any design reaches with ${projects} projects`,
      );
    } else {
      verdicts.push(
        `10,000 VMs: ${fmt(figures.ratio, 1)}x fewer calls than one insert per row (target >= ${TARGET_RATIO}x): ${figures.ratio >= TARGET_RATIO ? 'met' : 'NOT met'}`,
        `10,000 VMs: ${fmt(figures.cpuMs / 1000, 2)} s CPU for the first hour (target <= ${TARGET_CPU_MS / 1000} s): ${figures.cpuMs <= TARGET_CPU_MS ? 'met' : 'NOT met'}`,
      );
    }
    verdicts.push(
      `${fmt(vms)} VMs: peak RSS ${fmt(figures.peakRssMiB)} MiB (target <= ${TARGET_RSS_MIB} MiB): ${figures.peakRssMiB <= TARGET_RSS_MIB ? 'met' : 'NOT met'}`,
    );
  }
  out();
  for (const verdict of verdicts) out(verdict);
}

const mode = args[0];
const entry =
  mode === '--serve-sandbox'
    ? serveSandbox(args[1] as string, Number(args[2]))
    : mode === '--run-recorder'
      ? runRecorder(args[1] as string, args[2] as string, args[3] as string, Number(args[4]))
      : main().then(() => process.exit(0));
entry.catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
