import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ViewLedger } from './view-ledger.js';

// run_costs on fixtures/views/runs.json (nine snapshots of three runs: run-7 on the batch VM
// train-a with a duplicated write and a stale RUNNING snapshot recorded after it finished, run-8
// on a Cloud Run Job, run-9 refused) and the VM hours train-a recorded under costguard-run=run-7,
// one of them recorded twice.
describe('run_costs', () => {
  let ledger: ViewLedger;

  beforeAll(async () => {
    ledger = await ViewLedger.create();
  });
  afterAll(() => ledger.close());

  it('gives one row per run: its latest snapshot and the VM hours recorded under its label', async () => {
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
        recorded_vms: 1,
        recorded_vm_hours: 2,
        first_recorded_hour: '2026-11-18T10:00:00.000Z',
        last_recorded_hour: '2026-11-18T11:00:00.000Z',
        recorded_cost: 0.2,
        recorded_on_demand_cost: 0.8,
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
      {
        run_id: 'run-10',
        event: 'started',
        event_seq: 2,
        status: 'RUNNING',
        pipeline: 'train-model',
        executor: 'vm',
        target: 'train',
        params: '{}',
        caller: 'ana@example.com',
        request_sha256: 'f'.repeat(64),
        resource: 'vm:ml-training-prod/us-central1-a/train-a',
        requested_at: '2026-11-20T11:00:00.000Z',
        started_at: '2026-11-20T11:02:00.000Z',
        deadline: '2026-11-20T17:00:00.000Z',
        recorded_at: '2026-11-20T11:02:05.000Z',
      },
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
});
