import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../support/sandbox.js';
import {
  at,
  migrateRecorderTables,
  queryLedger,
  serveRecorder,
  slackMessages,
  startRecorderSandbox,
  type ServedRecorder,
} from './recorder-sandbox.js';

// recordSpotCosts end to end: Functions Framework in-process, real client libraries against the
// sandbox (Compute, Monitoring, Billing Catalog, BigQuery on DuckDB, Slack).
//
// Hand-computed hourly rates from the catalog fixture (us-central1 / us-east1 "Americas"):
//   train-a2-spot     a2-highgpu-1g SPOT: 12 x 0.01659 + 85 x 0.00222 + 1 A100 x 1.5399 = 1.92768
//                     on demand:         12 x 0.031611 + 85 x 0.004237 + 2.933908   = 3.673385
//   web-e2-micro      e2-micro STANDARD, shared core: 0.25 x 0.021811 + 1 x 0.002923 = 0.00837575
//                     Spot rate: 0.25 x 0.006543 + 1 x 0.000877 = 0.00251275
//   batch-custom-ext  n2-custom-2-24576-ext SPOT: 2 x 0.007974 + 16 GiB x 0.001068
//                     + 8 GiB extended x 0.002296 = 0.051404; on demand 0.213966
//   etl-n2-delete     n2-standard-8 SPOT: 8 x 0.007594 + 32 x 0.001017 = 0.093296; on demand 0.388472
//   legacy-n1-t4      n1-standard-4 PREEMPTIBLE + 2 x T4: 4 x 0.006655 + 15 x 0.000892
//                     + 2 x 0.14 = 0.32; on demand 0.189999 + 2 x 0.35 = 0.889999
const HOUR_0 = '2026-11-20 00:00:00';

interface Expected {
  instance_name: string;
  provisioning_model: string;
  uptime_seconds: number;
  cost: string | null;
  on_demand_cost: string | null;
  spot_rate: string | null;
  on_demand_rate: string | null;
  price_source: string;
  attributes_source: string;
}

const HOUR_0_ROWS: Expected[] = [
  {
    instance_name: 'batch-custom-ext',
    provisioning_model: 'SPOT',
    uptime_seconds: 3600,
    cost: '0.051404000',
    on_demand_cost: '0.213966000',
    spot_rate: '0.051404000',
    on_demand_rate: '0.213966000',
    price_source: 'catalog',
    attributes_source: 'compute',
  },
  {
    instance_name: 'etl-n2-delete',
    provisioning_model: 'SPOT',
    uptime_seconds: 3600,
    cost: '0.093296000',
    on_demand_cost: '0.388472000',
    spot_rate: '0.093296000',
    on_demand_rate: '0.388472000',
    price_source: 'catalog',
    attributes_source: 'compute',
  },
  {
    instance_name: 'legacy-n1-t4',
    provisioning_model: 'PREEMPTIBLE',
    uptime_seconds: 3600,
    cost: '0.320000000',
    on_demand_cost: '0.889999000',
    spot_rate: '0.320000000',
    on_demand_rate: '0.889999000',
    price_source: 'catalog',
    attributes_source: 'compute',
  },
  {
    instance_name: 'train-a2-spot',
    provisioning_model: 'SPOT',
    uptime_seconds: 3600,
    cost: '1.927680000',
    on_demand_cost: '3.673385000',
    spot_rate: '1.927680000',
    on_demand_rate: '3.673385000',
    price_source: 'catalog',
    attributes_source: 'compute',
  },
  // Started at 00:30: half the hour at the on-demand rate, 0.5 x 0.00837575.
  {
    instance_name: 'web-e2-micro',
    provisioning_model: 'STANDARD',
    uptime_seconds: 1800,
    cost: '0.004187875',
    on_demand_cost: '0.004187875',
    spot_rate: '0.002512750',
    on_demand_rate: '0.008375750',
    price_source: 'catalog',
    attributes_source: 'compute',
  },
];

const COLUMNS = `instance_name, provisioning_model, uptime_seconds, CAST(cost AS STRING) AS cost,
  CAST(on_demand_cost AS STRING) AS on_demand_cost, CAST(spot_rate AS STRING) AS spot_rate,
  CAST(on_demand_rate AS STRING) AS on_demand_rate, price_source, attributes_source`;

async function hourRows(sandbox: Sandbox, hour: string): Promise<Array<Record<string, unknown>>> {
  return queryLedger(
    sandbox,
    `SELECT ${COLUMNS} FROM \`costguard.spot_cost_hours\`
     WHERE usage_hour = TIMESTAMP '${hour}' ORDER BY instance_name`,
  );
}

async function viewTotals(sandbox: Sandbox): Promise<Record<string, unknown>> {
  const [totals] = await queryLedger(
    sandbox,
    `SELECT COUNT(*) AS row_count, CAST(SUM(cost) AS STRING) AS cost,
       CAST(SUM(on_demand_cost) AS STRING) AS on_demand_cost, SUM(uptime_seconds) AS uptime
     FROM \`costguard.spot_cost_hours\``,
  );
  return totals ?? {};
}

async function tableRowCount(sandbox: Sandbox): Promise<number> {
  const [row] = await queryLedger(sandbox, 'SELECT COUNT(*) AS n FROM `costguard.spot_costs`');
  return Number(row?.n);
}

describe('recordSpotCosts', () => {
  let sandbox: Sandbox;
  let recorder: ServedRecorder;

  beforeEach(async () => {
    sandbox = await startRecorderSandbox();
    recorder = await serveRecorder(sandbox);
    await migrateRecorderTables(recorder.runtime);
  });
  afterEach(async () => {
    await recorder.close();
    await sandbox.close();
  });

  it('records every VM of the closed hour with hand-computed costs, one row each', async () => {
    at(sandbox, '2026-11-20T01:10:00Z');
    const { status, body } = await recorder.call();

    expect(status).toBe(200);
    expect(await hourRows(sandbox, HOUR_0)).toEqual(HOUR_0_ROWS);
    expect(body).toMatchObject({
      window: { start: '2026-11-19T19:00:00.000Z', end: '2026-11-20T01:00:00.000Z' },
      hoursRecorded: ['2026-11-20T00:00:00.000Z'],
      rows: { seen: 5, written: 5, unchanged: 0 },
      costByProvisioningModel: [
        {
          provisioningModel: 'PREEMPTIBLE',
          currency: 'USD',
          rows: 1,
          cost: '0.32',
          onDemandCost: '0.889999',
        },
        // 1.92768 + 0.051404 + 0.093296
        {
          provisioningModel: 'SPOT',
          currency: 'USD',
          rows: 3,
          cost: '2.07238',
          onDemandCost: '4.275823',
        },
        {
          provisioningModel: 'STANDARD',
          currency: 'USD',
          rows: 1,
          cost: '0.004187875',
          onDemandCost: '0.004187875',
        },
      ],
      priceSources: { catalog: 5, 'price-book': 0, unknown: 0 },
      attributeSources: { compute: 5, inventory: 0, monitoring: 0 },
      inventorySnapshots: 6,
      failures: [],
    });
    expect(body.durationMs).toEqual(expect.any(Number));
  });

  it('attributes each row to its labels and describes what was priced', async () => {
    at(sandbox, '2026-11-20T01:10:00Z');
    await recorder.call();
    const [a2] = await queryLedger(
      sandbox,
      `SELECT row_key, region, zone, instance_id, machine_type, vcpus, memory_gib, gpu_type, gpu_count,
         currency, team, app, cost_center, priority, costguard_run, TO_JSON_STRING(labels) AS labels,
         CAST(recorded_at AS STRING) AS recorded_at
       FROM \`costguard.spot_cost_hours\` WHERE instance_name = 'train-a2-spot'`,
    );
    expect(a2).toEqual({
      row_key: 'ml-training-prod/us-central1-a/100000000000000001/2026-11-20T00:00:00.000Z',
      region: 'us-central1',
      zone: 'us-central1-a',
      instance_id: '100000000000000001',
      machine_type: 'a2-highgpu-1g',
      vcpus: 12,
      memory_gib: 85,
      gpu_type: 'nvidia-tesla-a100',
      gpu_count: 1,
      currency: 'USD',
      team: 'vision',
      app: 'trainer',
      cost_center: 'cc-100',
      priority: 'low',
      costguard_run: 'run-42',
      labels:
        '{"app":"trainer","cost_center":"cc-100","costguard-run":"run-42","priority":"low","team":"vision"}',
      recorded_at: '2026-11-20 01:10:00',
    });
    const [micro] = await queryLedger(
      sandbox,
      `SELECT vcpus, memory_gib, gpu_type, gpu_count, costguard_run FROM \`costguard.spot_cost_hours\`
       WHERE instance_name = 'web-e2-micro'`,
    );
    expect(micro).toEqual({
      vcpus: 0.25,
      memory_gib: 1,
      gpu_type: null,
      gpu_count: null,
      costguard_run: null,
    });
  });

  it('never records the open hour, nor an hour closed less than 10 minutes ago', async () => {
    at(sandbox, '2026-11-20T01:09:00Z');
    const { status, body } = await recorder.call();
    expect(status).toBe(200);
    expect(body).toMatchObject({
      window: { end: '2026-11-20T00:00:00.000Z' },
      hoursRecorded: [],
      rows: { seen: 0, written: 0 },
    });
    expect(await tableRowCount(sandbox)).toBe(0);
  });

  it('writes nothing on a re-run for the same hours, and the view totals stay the same', async () => {
    at(sandbox, '2026-11-20T01:10:00Z');
    await recorder.call();
    const first = await viewTotals(sandbox);

    sandbox.clock.advance(5 * 60_000);
    const { status, body } = await recorder.call();

    expect(status).toBe(200);
    expect(body).toMatchObject({
      hoursRecorded: [],
      rows: { seen: 5, written: 0, unchanged: 5 },
      inventorySnapshots: 0,
    });
    expect(await viewTotals(sandbox)).toEqual(first);
    // 1.92768 + 0.051404 + 0.093296 + 0.32 + 0.004187875
    expect(first).toMatchObject({ row_count: 5, cost: '2.396567875', uptime: 16200 });
    expect(await tableRowCount(sandbox)).toBe(5);
  });

  it('reads the ledger once per table for both projects and writes each table with one load job', async () => {
    at(sandbox, '2026-11-20T01:10:00Z');
    sandbox.calls.length = 0;
    const { status, body } = await recorder.call();

    expect(status).toBe(200);
    const bigquery = sandbox.calls.filter((c) => c.route.startsWith('bigquery.'));
    // Spend history, alerts sent, rows recorded, latest snapshots, whether the closed day was
    // digested and its preemptions; then the two loads, and the row saying the day (without
    // preemptions) is digested.
    expect(bigquery.filter((c) => c.route === 'bigquery.jobs.query')).toHaveLength(6);
    expect(bigquery.filter((c) => c.route === 'bigquery.jobs.load')).toHaveLength(2);
    expect(bigquery.filter((c) => c.route === 'bigquery.tabledata.insertAll')).toHaveLength(1);
    expect(body).toMatchObject({ rows: { written: 5 }, writeRequests: 2 });
    expect(await viewTotals(sandbox)).toMatchObject({ row_count: 5, cost: '2.396567875' });
  });

  it('writes an unchanged snapshot again once it is 20 hours old, so the bounded read still finds it', async () => {
    at(sandbox, '2026-11-20T01:10:00Z');
    const first = await recorder.call();
    sandbox.clock.advance(3_600_000);
    const next = await recorder.call();
    at(sandbox, '2026-11-20T21:10:00Z');
    const refreshed = await recorder.call();
    sandbox.clock.advance(3_600_000);
    const after = await recorder.call();

    // The six VMs Compute lists: new, unchanged, 20 hours old (written again), unchanged.
    const snapshots = [first, next, refreshed, after].map(
      (call) => (call.body as { inventorySnapshots: number }).inventorySnapshots,
    );
    expect(snapshots).toEqual([6, 0, 6, 0]);
  });

  it('catches up every hour a missed run left behind, pricing a deleted Spot VM from the inventory', async () => {
    at(sandbox, '2026-11-20T01:10:00Z');
    await recorder.call();
    // etl-n2-delete is preempted at 01:30 and, with termination action DELETE, leaves Compute.
    const etl = sandbox.fleet.get('ml-training-prod', 'us-central1-b', 'etl-n2-delete');
    if (!etl) throw new Error('fixture VM missing');
    sandbox.clock.schedule(Date.parse('2026-11-20T01:30:00Z'), () => sandbox.fleet.preempt(etl));

    // The 02:10 run is missed; the 03:10 run records 01:00 and 02:00.
    at(sandbox, '2026-11-20T03:10:00Z');
    const { status, body } = await recorder.call();

    expect(status).toBe(200);
    expect(body).toMatchObject({
      hoursRecorded: ['2026-11-20T01:00:00.000Z', '2026-11-20T02:00:00.000Z'],
      rows: { written: 9, unchanged: 5 },
      attributeSources: { compute: 8, inventory: 1, monitoring: 0 },
    });
    const hour1 = await hourRows(sandbox, '2026-11-20 01:00:00');
    expect(hour1.find((r) => r.instance_name === 'etl-n2-delete')).toEqual({
      instance_name: 'etl-n2-delete',
      provisioning_model: 'SPOT',
      uptime_seconds: 1800,
      // half an hour at 0.093296
      cost: '0.046648000',
      on_demand_cost: '0.194236000',
      spot_rate: '0.093296000',
      on_demand_rate: '0.388472000',
      price_source: 'catalog',
      attributes_source: 'inventory',
    });
    const hour2 = await hourRows(sandbox, '2026-11-20 02:00:00');
    expect(hour2.map((r) => r.instance_name)).toEqual([
      'batch-custom-ext',
      'legacy-n1-t4',
      'train-a2-spot',
      'web-e2-micro',
    ]);
    // 00:00 and 01:00: 5 VMs, 4.5 VM-hours each (etl-n2-delete ran half of 01:00); 02:00: 4 VMs.
    expect(await viewTotals(sandbox)).toMatchObject({
      row_count: 14,
      uptime: 16200 + 16200 + 14400,
    });
  });

  it('looks for missed preemptions only in a project whose Spot VM left Compute, and records the one it finds', async () => {
    const sweptProjects = (): string[] =>
      sandbox.calls
        .filter((c) => c.route === 'compute.globalOperations.aggregatedList')
        .map((c) => c.path.split('/')[4] as string);
    at(sandbox, '2026-11-20T01:10:00Z');
    sandbox.calls.length = 0;
    await recorder.call();
    const quiet = sweptProjects();
    // etl-n2-delete is preempted at 01:30 and deleted; its event never reaches costguard.
    const etl = sandbox.fleet.get('ml-training-prod', 'us-central1-b', 'etl-n2-delete');
    if (!etl) throw new Error('fixture VM missing');
    sandbox.clock.schedule(Date.parse('2026-11-20T01:30:00Z'), () => sandbox.fleet.preempt(etl));
    at(sandbox, '2026-11-20T02:10:00Z');
    sandbox.calls.length = 0;
    const { status } = await recorder.call();

    expect(status).toBe(200);
    expect(quiet).toEqual([]);
    expect(sweptProjects()).toEqual(['ml-training-prod']);
    const preemptions = await queryLedger(
      sandbox,
      'SELECT instance_name, provisioning_model, preempted_at FROM `costguard.preemptions`',
    );
    expect(preemptions).toEqual([
      {
        instance_name: 'etl-n2-delete',
        provisioning_model: 'SPOT',
        preempted_at: expect.stringContaining('2026-11-20') as unknown,
      },
    ]);
  });

  it('records uptime of a VM it never saw, with the machine type from Monitoring and an unknown price', async () => {
    at(sandbox, '2026-11-20T01:10:00Z');
    await recorder.call();
    // A Spot VM created at 01:40 and deleted on preemption at 01:55, between two runs.
    sandbox.clock.schedule(Date.parse('2026-11-20T01:40:00Z'), () => {
      const flash = sandbox.fleet.add({
        project: 'ml-training-prod',
        zone: 'us-central1-a',
        name: 'flash-spot',
        id: '100000000000000009',
        machineType: 'n2-standard-8',
        provisioningModel: 'SPOT',
        terminationAction: 'DELETE',
        labels: { team: 'vision' },
      });
      sandbox.clock.schedule(Date.parse('2026-11-20T01:55:00Z'), () =>
        sandbox.fleet.preempt(flash),
      );
    });
    at(sandbox, '2026-11-20T02:10:00Z');
    const { body } = await recorder.call();

    expect(body).toMatchObject({
      priceSources: { unknown: 1 },
      attributeSources: { monitoring: 1 },
    });
    const [flash] = await queryLedger(
      sandbox,
      `SELECT ${COLUMNS}, machine_type, team FROM \`costguard.spot_cost_hours\` WHERE instance_name = 'flash-spot'`,
    );
    expect(flash).toEqual({
      instance_name: 'flash-spot',
      provisioning_model: 'UNKNOWN',
      uptime_seconds: 900,
      cost: null,
      // 900 s at the n2-standard-8 on-demand rate 0.388472
      on_demand_cost: '0.097118000',
      spot_rate: '0.093296000',
      on_demand_rate: '0.388472000',
      price_source: 'unknown',
      attributes_source: 'monitoring',
      machine_type: 'n2-standard-8',
      team: null,
    });
  });

  it('heals an hour when Monitoring delivers late data: the view keeps the fuller version', async () => {
    // At 01:10 Monitoring has ingested only up to 00:40.
    sandbox.settings.monitoringIngestDelaySeconds = 1800;
    at(sandbox, '2026-11-20T01:10:00Z');
    const early = await recorder.call();
    expect(early.body).toMatchObject({ rows: { written: 5 } });
    expect((await hourRows(sandbox, HOUR_0)).map((r) => r.uptime_seconds)).toEqual([
      2400, 2400, 2400, 2400, 600,
    ]);

    sandbox.settings.monitoringIngestDelaySeconds = 0;
    at(sandbox, '2026-11-20T02:10:00Z');
    const late = await recorder.call();

    expect(late.body).toMatchObject({
      hoursRecorded: ['2026-11-20T00:00:00.000Z', '2026-11-20T01:00:00.000Z'],
      rows: { written: 10 },
    });
    expect(await hourRows(sandbox, HOUR_0)).toEqual(HOUR_0_ROWS);
    // Two versions of the five rows of 00:00 are stored; the view counts each hour once.
    expect(await tableRowCount(sandbox)).toBe(15);
    expect(await viewTotals(sandbox)).toMatchObject({ row_count: 10, uptime: 16200 + 18000 });
  });

  it('prices from the bundled price book while the catalog is down, and re-prices once it is back', async () => {
    sandbox.faults.set('billingCatalog.skus.list', { fail: { count: 1000, status: 503 } });
    at(sandbox, '2026-11-20T01:10:00Z');
    const down = await recorder.call();

    expect(down.status).toBe(200);
    // The book (published prices) has no T4: the preemptible N1 with two T4s stays unknown
    // rather than priced without its GPUs.
    expect(down.body).toMatchObject({
      priceSources: { catalog: 0, 'price-book': 4, unknown: 1 },
      pricing: { catalogLoadedAt: null, catalogReachable: false },
    });
    // Price book (published 2026-07-30) for n2-standard-8 Spot: 8 x 0.01499 + 32 x 0.00201 = 0.18424.
    const [book] = await queryLedger(
      sandbox,
      `SELECT CAST(cost AS STRING) AS cost, price_source FROM \`costguard.spot_cost_hours\`
       WHERE instance_name = 'etl-n2-delete'`,
    );
    expect(book).toEqual({ cost: '0.184240000', price_source: 'price-book' });

    sandbox.faults.clear();
    at(sandbox, '2026-11-20T02:10:00Z');
    const back = await recorder.call();

    expect(back.body).toMatchObject({
      hoursRecorded: ['2026-11-20T00:00:00.000Z', '2026-11-20T01:00:00.000Z'],
      priceSources: { catalog: 10, 'price-book': 0 },
      pricing: { catalogLoadedAt: '2026-11-20T02:10:00.000Z', catalogReachable: true },
    });
    expect(await hourRows(sandbox, HOUR_0)).toEqual(HOUR_0_ROWS);
  });

  it('records the projects it can read and reports the one it cannot', async () => {
    await recorder.close();
    recorder = await serveRecorder(sandbox, {
      COSTGUARD_PROJECTS: 'ml-training-prod,data-pipelines,ghost-project-9',
    });
    at(sandbox, '2026-11-20T01:10:00Z');
    const { status, body } = await recorder.call();

    expect(status).toBe(200);
    expect(body).toMatchObject({
      rows: { written: 5 },
      failures: [{ project: 'ghost-project-9', retryable: false }],
    });
  });

  it('holds back the hours of a zone Compute cannot reach, and the next run records them once', async () => {
    // Prepare
    sandbox.faults.set('compute.instances.aggregatedList', {
      unreachable: { zones: ['us-central1-b'] },
    });
    at(sandbox, '2026-11-20T01:10:00Z');

    // Act
    const first = await recorder.call();

    // Assess: the gap is named and a retry asked for; no row of that zone lands unattributed.
    expect(first.status).toBe(503);
    expect(first.body).toMatchObject({
      rows: { written: 3 },
      gaps: [{ project: 'ml-training-prod', zones: ['us-central1-b'] }],
    });
    const names = (await hourRows(sandbox, HOUR_0)).map((r) => r.instance_name);
    expect(names).toEqual(['legacy-n1-t4', 'train-a2-spot', 'web-e2-micro']);

    // Act: the zone is back; the next run's window still holds the hour.
    sandbox.faults.clear();
    const next = await recorder.call();

    // Assess: every VM of the hour once, the held-back ones attributed from Compute.
    expect(next.status).toBe(200);
    expect(next.body).toMatchObject({ rows: { written: 2 }, gaps: [] });
    expect(await hourRows(sandbox, HOUR_0)).toEqual(HOUR_0_ROWS);
  });

  it('answers 503 when Monitoring is unavailable, and the retry records everything once', async () => {
    sandbox.faults.set('monitoring.timeSeries.list', { fail: { count: 1000, status: 503 } });
    at(sandbox, '2026-11-20T01:10:00Z');
    const failed = await recorder.call();

    expect(failed.status).toBe(503);
    expect(failed.body).toMatchObject({
      error: 'Some projects could not be read; a retry records them',
      rows: { written: 0 },
      failures: [
        { project: 'ml-training-prod', retryable: true },
        { project: 'data-pipelines', retryable: true },
      ],
    });

    // The detail is in the log, not in a 5xx body.
    expect(JSON.stringify(failed.body)).not.toContain('Injected failure');
    expect(
      recorder.runtime.logger.entries.filter(
        (e) => e.message === 'Could not record the project; its hours are recorded by a later run',
      ),
    ).toHaveLength(2);

    sandbox.faults.clear();
    const retried = await recorder.call();
    expect(retried.status).toBe(200);
    expect(await hourRows(sandbox, HOUR_0)).toEqual(HOUR_0_ROWS);
  });

  it.each([
    { case: 'a window of zero hours', body: { catchUpHours: 0 }, mentions: 'catchUpHours' },
    { case: 'an unknown field', body: { hours: 3 }, mentions: 'hours' },
    { case: 'a body that is not an object', body: '[1, 2]', mentions: 'JSON object' },
  ])('rejects $case with 400 and records nothing', async ({ body, mentions }) => {
    at(sandbox, '2026-11-20T01:10:00Z');
    const { status, body: reply } = await recorder.call(body);
    expect(status).toBe(400);
    expect(JSON.stringify(reply)).toContain(mentions);
    expect(await tableRowCount(sandbox)).toBe(0);
  });

  it('re-reads a longer window once when asked to backfill', async () => {
    at(sandbox, '2026-11-20T09:10:00Z');
    const { body } = await recorder.call({ catchUpHours: 9 });
    expect(body).toMatchObject({
      window: { start: '2026-11-20T00:00:00.000Z', end: '2026-11-20T09:00:00.000Z' },
      rows: { written: 9 * 5 },
    });
    expect(body.hoursRecorded).toHaveLength(9);
  });

  it('fails with 422 and a clear message when the ledger tables do not exist', async () => {
    await queryLedger(sandbox, 'DROP VIEW `costguard.spot_cost_hours`');
    await queryLedger(sandbox, 'DROP TABLE `costguard.spot_costs`');
    at(sandbox, '2026-11-20T01:10:00Z');
    const { status, body } = await recorder.call();
    expect(status).toBe(422);
    expect(body.error).toMatch(
      /^The cost ledger tables are missing or incomplete; run the ledger migration/,
    );
  });
});

describe('recordSpotCosts alerts', () => {
  let sandbox: Sandbox;
  let recorder: ServedRecorder;
  const rules = { overallPerHour: 2, teamPerHour: { vision: 1.5, '*': 5 } };

  beforeEach(async () => {
    sandbox = await startRecorderSandbox();
    recorder = await serveRecorder(sandbox, { COSTGUARD_SPOT_ALERTS: JSON.stringify(rules) });
    await migrateRecorderTables(recorder.runtime);
  });
  afterEach(async () => {
    await recorder.close();
    await sandbox.close();
  });

  it('tells Slack once per hour who passed a limit, by how much, and on which VMs', async () => {
    at(sandbox, '2026-11-20T01:10:00Z');
    const { body } = await recorder.call();

    expect(body).toMatchObject({ alerts: { raised: 2, posted: 1, failed: 0 } });
    const messages = slackMessages(sandbox);
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(message?.channel).toBe('C0SPOTCOST');
    // Spot and preemptible spend of 00:00: 1.92768 + 0.051404 + 0.093296 + 0.32 = 2.39238.
    expect(message?.text).toBe(
      'Spot spend alert for 2026-11-20 00:00 UTC: All governed projects 2.39 USD (over the 2.00 USD/h limit); ' +
        'Team vision 1.93 USD (over the 1.50 USD/h limit). ' +
        'https://console.cloud.google.com/bigquery?project=ml-training-prod&ws=!1m5!1m4!4m3!1sml-training-prod!2scostguard!3sspot_cost_hours',
    );
    expect(message?.blocks).toEqual([
      {
        type: 'header',
        text: { type: 'plain_text', text: 'Spot spend alert: 2026-11-20 00:00 UTC', emoji: true },
      },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: '*All governed projects* spent *2.39 USD* on Spot VMs in the hour, over the 2.00 USD/h limit.',
        },
      },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text:
            'Top VMs:\n' +
            '• `train-a2-spot` a2-highgpu-1g in ml-training-prod/us-central1-a (team vision): 1.93 USD\n' +
            '• `legacy-n1-t4` n1-standard-4 in data-pipelines/us-east1-b (team research): 0.32 USD\n' +
            '• `etl-n2-delete` n2-standard-8 in ml-training-prod/us-central1-b (team data): 0.09 USD\n' +
            '• `batch-custom-ext` n2-custom-2-24576-ext in ml-training-prod/us-central1-b (team data): 0.05 USD',
        },
      },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: '*Team vision* spent *1.93 USD* on Spot VMs in the hour, over the 1.50 USD/h limit.',
        },
      },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: 'Top VMs:\n• `train-a2-spot` a2-highgpu-1g in ml-training-prod/us-central1-a: 1.93 USD',
        },
      },
      { type: 'divider' },
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            text: { type: 'plain_text', text: 'Open the Spot cost view' },
            url: 'https://console.cloud.google.com/bigquery?project=ml-training-prod&ws=!1m5!1m4!4m3!1sml-training-prod!2scostguard!3sspot_cost_hours',
            action_id: 'open_spot_cost_view',
          },
        ],
      },
    ]);
    expect(
      await queryLedger(
        sandbox,
        `SELECT alert_key, scope, team, reasons, CAST(spend AS STRING) AS spend,
           CAST(hourly_limit AS STRING) AS hourly_limit, slack_channel, slack_ts
         FROM \`costguard.spot_cost_alerts\` WHERE scope != 'preemptions' ORDER BY alert_key`,
      ),
    ).toEqual([
      {
        alert_key: '2026-11-20T00:00:00.000Z/overall',
        scope: 'overall',
        team: null,
        reasons: 'limit',
        spend: '2.392380000',
        hourly_limit: '2.000000000',
        slack_channel: 'C0SPOTCOST',
        slack_ts: message?.ts,
      },
      {
        alert_key: '2026-11-20T00:00:00.000Z/team:vision',
        scope: 'team:vision',
        team: 'vision',
        reasons: 'limit',
        spend: '1.927680000',
        hourly_limit: '1.500000000',
        slack_channel: 'C0SPOTCOST',
        slack_ts: message?.ts,
      },
    ]);
  });

  it('does not alert twice for an hour a later run reads again, and alerts for the next hour', async () => {
    at(sandbox, '2026-11-20T01:10:00Z');
    await recorder.call();
    sandbox.clock.advance(10 * 60_000);
    const again = await recorder.call();
    expect(again.body).toMatchObject({ alerts: { raised: 0, posted: 0 } });
    expect(slackMessages(sandbox)).toHaveLength(1);

    at(sandbox, '2026-11-20T02:10:00Z');
    await recorder.call();
    expect(slackMessages(sandbox).map((m) => m.blocks[0])).toEqual([
      {
        type: 'header',
        text: { type: 'plain_text', text: 'Spot spend alert: 2026-11-20 00:00 UTC', emoji: true },
      },
      {
        type: 'header',
        text: { type: 'plain_text', text: 'Spot spend alert: 2026-11-20 01:00 UTC', emoji: true },
      },
    ]);
  });

  it('without Slack configured, logs the alert and records it once', async () => {
    await recorder.close();
    recorder = await serveRecorder(sandbox, {
      COSTGUARD_SPOT_ALERTS: JSON.stringify(rules),
      SLACK_BOT_TOKEN: '',
    });
    at(sandbox, '2026-11-20T01:10:00Z');
    const { body } = await recorder.call();

    expect(body).toMatchObject({ alerts: { raised: 2, posted: 0, failed: 0 } });
    expect(slackMessages(sandbox)).toHaveLength(0);
    expect(
      recorder.runtime.logger.entries.filter(
        (e) => e.message === 'Slack is not configured; message not sent',
      ),
    ).toHaveLength(1);
    expect(
      await queryLedger(
        sandbox,
        "SELECT alert_key, slack_channel, slack_ts FROM `costguard.spot_cost_alerts` WHERE scope != 'preemptions' ORDER BY alert_key",
      ),
    ).toEqual([
      { alert_key: '2026-11-20T00:00:00.000Z/overall', slack_channel: null, slack_ts: null },
      { alert_key: '2026-11-20T00:00:00.000Z/team:vision', slack_channel: null, slack_ts: null },
    ]);
  });

  it('keeps an alert Slack could not take for the next run, which posts it', async () => {
    sandbox.faults.set('slack.chat.postMessage', { fail: { count: 4, status: 503 } });
    at(sandbox, '2026-11-20T01:10:00Z');
    const failed = await recorder.call();
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({
      rows: { written: 5 },
      alerts: { raised: 2, posted: 0, failed: 1 },
    });
    expect(slackMessages(sandbox)).toHaveLength(0);

    sandbox.clock.advance(10 * 60_000);
    const retried = await recorder.call();
    expect(retried.body).toMatchObject({ rows: { written: 0 }, alerts: { raised: 2, posted: 1 } });
    expect(slackMessages(sandbox)).toHaveLength(1);
  });
});
