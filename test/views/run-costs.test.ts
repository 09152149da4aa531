import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ViewLedger } from './view-ledger.js';

// run_costs on fixtures/views/runs.json (nine snapshots of three runs: run-7 on the batch VM
// train-a from 10:00 to 11:45 with a duplicated write and a stale RUNNING snapshot recorded after
// it finished, run-8 on a Cloud Run Job, run-9 refused) and train-a's recorded hours, one of them
// recorded twice, and one the next day, outside every run.
describe('run_costs', () => {
  let ledger: ViewLedger;

  beforeAll(async () => {
    ledger = await ViewLedger.create();
  });
  afterAll(() => ledger.close());

  /** A runs-table snapshot of a train-model run on the batch VM train-a, with `fields` added. */
  const trainRun = (fields: Record<string, unknown>) => ({
    pipeline: 'train-model',
    executor: 'vm',
    target: 'train',
    params: '{}',
    caller: 'ana@example.com',
    request_sha256: 'f'.repeat(64),
    resource: 'vm:ml-training-prod/us-central1-a/train-a',
    ...fields,
  });

  it("gives one row per run: its latest snapshot and its VM's hours within its window", async () => {
    expect(await ledger.view('run_costs', 'requested_at, run_id')).toEqual([
      {
        requested_date: '2026-11-18',
        run_id: 'run-7',
        pipeline: 'train-model',
        executor: 'vm',
        target: 'train',
        status: 'SUCCEEDED',
        resource: 'vm:ml-training-prod/us-central1-a/train-a',
        requested_at: '2026-11-18T09:55:00.000Z',
        started_at: '2026-11-18T10:00:00.000Z',
        finished_at: '2026-11-18T11:45:00.000Z',
        duration_minutes: 105,
        // 10:00 in full; 11:00, up the whole hour, for the 45 minutes the run still ran.
        recorded_vms: 1,
        recorded_vm_hours: 1.75,
        first_recorded_hour: '2026-11-18T10:00:00.000Z',
        last_recorded_hour: '2026-11-18T11:00:00.000Z',
        recorded_cost: 0.175,
        recorded_on_demand_cost: 0.7,
        reported_cost: 0.19,
        reported_cost_source: 'recorder+estimate',
        currency: 'USD',
      },
      {
        requested_date: '2026-11-19',
        run_id: 'run-8',
        pipeline: 'nightly-export',
        executor: 'cloud-run-job',
        target: 'export',
        status: 'SUCCEEDED',
        resource: 'job:projects/data-pipelines/locations/europe-west1/jobs/export',
        requested_at: '2026-11-19T08:00:00.000Z',
        started_at: '2026-11-19T08:01:00.000Z',
        finished_at: '2026-11-19T08:31:00.000Z',
        duration_minutes: 30,
        recorded_vms: 0,
        recorded_vm_hours: 0,
        first_recorded_hour: null,
        last_recorded_hour: null,
        recorded_cost: null,
        recorded_on_demand_cost: null,
        reported_cost: 0.05,
        reported_cost_source: 'estimate',
        currency: 'USD',
      },
      {
        requested_date: '2026-11-19',
        run_id: 'run-9',
        pipeline: 'train-model',
        executor: 'vm',
        target: 'train',
        status: 'REFUSED',
        resource: 'vm:ml-training-prod/us-central1-a/train-a',
        requested_at: '2026-11-19T09:00:00.000Z',
        started_at: null,
        finished_at: null,
        duration_minutes: null,
        recorded_vms: 0,
        recorded_vm_hours: 0,
        first_recorded_hour: null,
        last_recorded_hour: null,
        recorded_cost: null,
        recorded_on_demand_cost: null,
        reported_cost: null,
        reported_cost_source: null,
        currency: null,
      },
    ]);
  });

  it('keeps a run whose VM hours are not recorded yet, with nothing recorded against it', async () => {
    await ledger.insert('costguard', 'runs', [
      trainRun({
        run_id: 'run-10',
        event: 'started',
        event_seq: 2,
        status: 'RUNNING',
        requested_at: '2026-11-20T11:00:00.000Z',
        started_at: '2026-11-20T11:02:00.000Z',
        deadline: '2026-11-20T17:00:00.000Z',
        recorded_at: '2026-11-20T11:02:05.000Z',
      }),
    ]);
    expect(
      await ledger.rows(
        `SELECT run_id, status, duration_minutes, recorded_vm_hours, recorded_cost
         FROM \`\${dataset}.run_costs\` WHERE requested_date = DATE '2026-11-20'`,
      ),
    ).toEqual([
      {
        run_id: 'run-10',
        status: 'RUNNING',
        duration_minutes: null,
        recorded_vm_hours: 0,
        recorded_cost: null,
      },
    ]);
  });

  it("attributes by the run's VM and window: a copied label moves nothing, and a shared hour is split", async () => {
    // Prepare: run-11 on train-a from 10:30 to 12:15, run-12 on it from 12:20 to 12:40. Another
    // VM's owner copies the costguard-run=run-11 label; train-a keeps the label past the run.
    const run = (runId: string, startedAt: string, finishedAt: string) =>
      trainRun({
        run_id: runId,
        event: 'observed',
        event_seq: 3,
        status: 'SUCCEEDED',
        requested_at: '2026-11-21T10:29:00.000Z',
        started_at: startedAt,
        finished_at: finishedAt,
        deadline: '2026-11-21T17:00:00.000Z',
        recorded_at: finishedAt,
      });
    await ledger.insert('costguard', 'runs', [
      run('run-11', '2026-11-21T10:30:00.000Z', '2026-11-21T12:15:00.000Z'),
      run('run-12', '2026-11-21T12:20:00.000Z', '2026-11-21T12:40:00.000Z'),
    ]);
    const hour = (name: string, id: string, at: string, cost: number, label: string | null) => ({
      row_key: `ml-training-prod/us-central1-a/${id}/2026-11-21T${at}:00:00.000Z`,
      usage_hour: `2026-11-21T${at}:00:00.000Z`,
      project_id: 'ml-training-prod',
      zone: 'us-central1-a',
      instance_id: id,
      instance_name: name,
      provisioning_model: 'SPOT',
      uptime_seconds: 3600,
      cost: String(cost),
      on_demand_cost: String(cost * 4),
      currency: 'USD',
      costguard_run: label,
      price_source: 'catalog',
      attributes_source: 'compute',
      recorded_at: `2026-11-21T${at}:59:59.000Z`,
    });
    await ledger.insert('costguard', 'spot_costs', [
      hour('train-a', '1001', '09', 0.1, null),
      hour('train-a', '1001', '10', 0.1, 'run-11'),
      hour('train-a', '1001', '11', 0.1, 'run-11'),
      hour('train-a', '1001', '12', 0.12, 'run-11'),
      hour('train-a', '1001', '13', 0.1, 'run-11'),
      hour('copy-z', '1009', '10', 0.5, 'run-11'),
      hour('copy-z', '1009', '11', 0.5, 'run-11'),
    ]);

    // Act
    const rows = await ledger.rows(
      `SELECT run_id, recorded_vms, recorded_vm_hours, first_recorded_hour, last_recorded_hour,
              recorded_cost, recorded_on_demand_cost
       FROM \`\${dataset}.run_costs\` WHERE requested_date = DATE '2026-11-21' ORDER BY run_id`,
    );

    // Assess: run-11 has half of 10:00, all of 11:00 and a quarter of 12:00 of train-a; nothing
    // of copy-z, nor of train-a before its start or after its end. run-12 a third of 12:00.
    expect(rows).toEqual([
      {
        run_id: 'run-11',
        recorded_vms: 1,
        recorded_vm_hours: 1.75,
        first_recorded_hour: '2026-11-21T10:00:00.000Z',
        last_recorded_hour: '2026-11-21T12:00:00.000Z',
        recorded_cost: 0.18,
        recorded_on_demand_cost: 0.72,
      },
      {
        run_id: 'run-12',
        recorded_vms: 1,
        recorded_vm_hours: 1 / 3,
        first_recorded_hour: '2026-11-21T12:00:00.000Z',
        last_recorded_hour: '2026-11-21T12:00:00.000Z',
        recorded_cost: 0.04,
        recorded_on_demand_cost: 0.16,
      },
    ]);
  });
});
