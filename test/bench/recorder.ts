/**
 * Benchmark of recordSpotCosts: 10,000 VMs over 20 projects and 50 zones, one hour, through the
 * real client libraries against the sandbox. The sandbox runs in a child process (this same
 * script with `--serve-sandbox`), so the peak RSS printed for the recorder is its own.
 *
 *   npx tsx test/bench/recorder.ts [--vms 10000] [--projects 20] [--zones 50] [--seed-sample 500]
 *
 * Prints API calls by route (expected O(projects + pages + rows/500)), the calls the
 * one-insert-per-row design of the seed document would make for the same hour, wall time and
 * peak RSS of both processes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { RecordSummary } from '../../functions/recorder/record-spot-costs.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

const START = '2026-11-20T00:00:00Z';
const RUN_AT = '2026-11-20T01:10:00Z';

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
  zones: number;
}

function generateFleet(spec: FleetSpec): { fleet: unknown; projectIds: string[] } {
  const zones = REGIONS.flatMap(([region, letters, gpus]) =>
    letters.map((l) => ({ zone: `${region}-${l}`, gpus })),
  ).slice(0, spec.zones);
  const projectIds = Array.from(
    { length: spec.projects },
    (_, i) => `bench-project-${String(i + 1).padStart(2, '0')}`,
  );
  // Each project spans ten zones; together they cover all of them.
  const projectZones = projectIds.map((_, p) =>
    Array.from(
      { length: Math.min(10, zones.length) },
      (__, k) => zones[(p * 7 + k * 5) % zones.length]!,
    ),
  );
  const instances = Array.from({ length: spec.vms }, (_, i) => {
    const p = i % spec.projects;
    const place = projectZones[p]![Math.floor(i / spec.projects) % projectZones[p]!.length]!;
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
  };
}

/** Child mode: serve the sandbox for the fleet file until told to stop. */
async function serveSandbox(fleetPath: string): Promise<void> {
  const { startSandbox } = await import('../../functions/sandbox/server.js');
  const { loadFleetFixture } = await import('../../functions/sandbox/fleet.js');
  const sandbox = await startSandbox({
    fleet: loadFleetFixture(fleetPath),
  });
  sandbox.clock.set(new Date(RUN_AT));
  // Never outlive the benchmark, whatever happens to it.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: unknown) => {
    if (message !== 'stop') return;
    const maxRssKb = process.resourceUsage().maxRSS;
    void sandbox.close().then(() => {
      process.send?.({ maxRssKb }, () => process.exit(0));
    });
  });
  process.send?.({ hostPort: sandbox.hostPort, url: sandbox.url });
}

function startChild(
  fleetPath: string,
): Promise<{ child: ChildProcess; hostPort: string; url: string }> {
  // A heap cap given to this process (to see the recorder under memory pressure) is not the
  // sandbox's: it holds the fleet and DuckDB.
  const child = fork(process.argv[1] as string, ['--serve-sandbox', fleetPath], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: process.execArgv.filter((a) => !a.startsWith('--max-old-space-size')),
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the sandbox process exited with ${code}`)));
    child.once('message', (m) => {
      const { hostPort, url } = m as { hostPort: string; url: string };
      resolve({ child, hostPort, url });
    });
  });
}

function stopChild(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('message', (m) => resolve((m as { maxRssKb: number }).maxRssKb));
    child.send('stop');
  });
}

async function calls(url: string): Promise<Array<{ route: string; status: number }>> {
  const response = await fetch(`${url}/_sandbox/calls`);
  return ((await response.json()) as { calls: Array<{ route: string; status: number }> }).calls;
}

async function main(): Promise<void> {
  const spec = {
    vms: option('vms', 10_000),
    projects: option('projects', 20),
    zones: option('zones', 50),
  };
  const seedSample = option('seed-sample', 500);
  const dir = mkdtempSync(join(tmpdir(), 'bench-recorder-'));
  const { fleet, projectIds } = generateFleet(spec);
  const fleetPath = join(dir, 'fleet.json');
  writeFileSync(fleetPath, JSON.stringify(fleet));

  const { child, hostPort, url } = await startChild(fleetPath);
  try {
    const { createClients } = await import('../../functions/adapters/clients.js');
    const { resolveEndpoints } = await import('../../functions/adapters/endpoints.js');
    const { recorderLedger } = await import('../recorder/recorder-ledger.js');
    const { createLogger } = await import('../../functions/core/logger.js');
    const { createRecorderFor } = await import('../../functions/recorder/entry.js');
    const env = {
      GCP_EMULATOR_HOST: hostPort,
      SLACK_API_URL: `${url}/api/`,
      COSTGUARD_PROJECTS: projectIds.join(','),
      COSTGUARD_DATASET: 'costguard',
      COSTGUARD_CATCH_UP_HOURS: '1',
    };
    const logger = createLogger({
      minSeverity: 'WARNING',
      sink: (line) => process.stderr.write(`${line}\n`),
    });
    let now = new Date(RUN_AT);
    const clock = { now: () => now };
    const clients = createClients(resolveEndpoints(env));
    const runtime = { env, clients, logger, clock };
    const ledger = recorderLedger(runtime);
    await ledger.migrate();

    // The client libraries' own footprint, loaded before measuring (Compute's protos dominate).
    const bare = process.memoryUsage().rss;
    await Promise.all([
      clients.metrics(),
      clients.instances(),
      clients.machineTypes(),
      clients.catalog(),
      clients.bigquery(projectIds[0] as string, 'US'),
    ]);
    const before = process.memoryUsage().rss;
    let sampledPeak = before;
    const sampler = setInterval(() => {
      sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss);
    }, 10);
    const { recorder } = createRecorderFor(runtime);

    const runs: Array<{
      label: string;
      wallMs: number;
      summary: RecordSummary;
      byRoute: Map<string, number>;
      total: number;
    }> = [];
    for (const label of ['first hour, empty ledger', 'next hour, steady state']) {
      await fetch(`${url}/_sandbox/calls`, { method: 'DELETE' });
      const began = performance.now();
      const summary = await recorder.record();
      const wallMs = performance.now() - began;
      const recorded = await calls(url);
      const byRoute = new Map<string, number>();
      for (const c of recorded) byRoute.set(c.route, (byRoute.get(c.route) ?? 0) + 1);
      runs.push({ label, wallMs, summary, byRoute, total: recorded.length });
      // One hour later in both processes.
      now = new Date(now.getTime() + 3_600_000);
      await fetch(`${url}/_sandbox/clock`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ advanceSeconds: 3600 }),
      });
    }
    clearInterval(sampler);
    sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss);
    const recorderMaxRssKb = process.resourceUsage().maxRSS;

    const first = runs[0] as (typeof runs)[number];
    const rows = first.summary.rows.written;
    const timeSeriesPages = first.byRoute.get('monitoring.timeSeries.list') ?? 0;

    // The seed's design: one listTimeSeries per project, then one insertAll per row.
    await ledger.execute(
      'CREATE TABLE IF NOT EXISTS `${dataset}.seed_design_rows` AS SELECT * FROM `${dataset}.spot_costs` WHERE FALSE',
    );
    const bq = await clients.bigquery(projectIds[0] as string, 'US');
    const table = bq.dataset('costguard').table('seed_design_rows');
    const sampleRows = Math.min(seedSample, rows);
    const seedBegan = performance.now();
    for (let i = 0; i < sampleRows; i++) {
      await table.insert([
        {
          row_key: `seed/${i}`,
          usage_hour: '2026-11-20T00:00:00Z',
          project_id: 'p',
          zone: 'z',
          instance_id: String(i),
          uptime_seconds: 3600,
          currency: 'USD',
          price_source: 'catalog',
          attributes_source: 'monitoring',
          recorded_at: RUN_AT,
        },
      ]);
    }
    const seedMsPerInsert = sampleRows > 0 ? (performance.now() - seedBegan) / sampleRows : 0;

    const sandboxMaxRssKb = await stopChild(child);
    const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
    out(
      `recordSpotCosts benchmark: ${spec.vms} VMs, ${spec.projects} projects, ${spec.zones} zones, one hour per run`,
    );
    out(`  price sources ${JSON.stringify(first.summary.priceSources)}`);
    out(
      `  cost of the first hour: ${first.summary.costByProvisioningModel.map((c) => `${c.provisioningModel} ${Number(c.cost).toFixed(2)} ${c.currency}`).join(', ')}`,
    );
    for (const run of runs) {
      out();
      out(
        `${run.label}: ${run.summary.rows.written} rows, ${run.summary.inventorySnapshots} inventory snapshots`,
      );
      out(
        `  wall time ${(run.wallMs / 1000).toFixed(2)} s (read ${run.summary.phasesMs.read} ms, price ${run.summary.phasesMs.price} ms, write ${run.summary.phasesMs.write} ms, alert ${run.summary.phasesMs.alert} ms)`,
      );
      out('  API calls by route:');
      for (const [route, n] of [...run.byRoute].sort(([a], [b]) => a.localeCompare(b))) {
        out(`    ${route.padEnd(38)} ${String(n).padStart(6)}`);
      }
      out(`    ${'total'.padEnd(38)} ${String(run.total).padStart(6)}`);
    }
    out();
    const inserts = first.byRoute.get('bigquery.tabledata.insertAll') ?? 0;
    out(
      `Calls grow as projects x (listTimeSeries pages + aggregatedList pages + 2 ledger reads) + rows/500 inserts (${inserts} for ${rows} cost rows and ${first.summary.inventorySnapshots} snapshots) + distinct machine types + catalog pages + 2 ledger reads for alerts.`,
    );
    const seedCalls = timeSeriesPages + rows;
    out();
    out('The one-insert-per-row design (seed document 004) for the same hour:');
    out(
      `  monitoring.timeSeries.list   ${String(timeSeriesPages).padStart(6)}   (one listing per project)`,
    );
    out(
      `  bigquery.tabledata.insertAll ${String(rows).padStart(6)}   (one insert_rows_json call per row)`,
    );
    out(
      `  total                        ${String(seedCalls).padStart(6)}   (${(seedCalls / first.total).toFixed(0)}x the ${first.total} calls above)`,
    );
    out(
      `  ${sampleRows} single-row inserts measured against the sandbox: ${seedMsPerInsert.toFixed(1)} ms each, ~${((seedMsPerInsert * rows) / 1000).toFixed(0)} s for ${rows} rows (extrapolated)`,
    );
    out();
    out(
      `recorder process: ${mib(bare)} before the client libraries, ${mib(before)} with them loaded`,
    );
    out(
      `  peak RSS ${mib(recorderMaxRssKb * 1024)} (OS high-water mark); sampled during the runs ${mib(sampledPeak)}, ${mib(sampledPeak - before)} above the loaded libraries`,
    );
    out(
      `sandbox process (Compute/Monitoring/Catalog simulation, BigQuery on DuckDB): peak RSS ${mib(sandboxMaxRssKb * 1024)}`,
    );
  } catch (error) {
    child.kill();
    throw error;
  }
}

if (args[0] === '--serve-sandbox') {
  serveSandbox(args[1] as string).catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
} else {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(
        `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
