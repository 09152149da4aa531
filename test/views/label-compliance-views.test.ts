import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ViewLedger } from './view-ledger.js';

// The label views on fixtures/views/label-compliance.json: two sweeps on 2026-11-18 (09:00 and
// 15:00, scratch-c's 15:00 check run again at 15:05 under the same run id) and one on 11-19.
// On 11-18 train-a is compliant, gpu-e is not (empty app, marked), etl-b is exempt and scratch-c
// has no labels (marked). On 11-19 train-a is not compliant (marked), gpu-e is stopped after its
// grace period and scratch-c was fixed (team data). ghost-d and the October hour of etl-b were
// never checked. Costs are the VMs' recorded hours of the day (fixtures/views/spot-costs.json).
describe('label compliance views', () => {
  let ledger: ViewLedger;

  beforeAll(async () => {
    ledger = await ViewLedger.create();
  });
  afterAll(() => ledger.close());

  it('label_compliance_share_daily: share of VMs and of their cost that is compliant, per day', async () => {
    const rows = await ledger.view('label_compliance_share_daily', 'usage_date, project_id, team');
    expect(
      rows.map((r) => ({
        day: r.usage_date,
        project: r.project_id,
        team: r.team,
        vms: [r.checked_vms, r.compliant_vms, r.non_compliant_vms, r.exempt_vms],
        vmShare: r.compliant_vm_share,
        cost: [r.cost, r.compliant_cost, r.non_compliant_cost, r.exempt_cost, r.unchecked_cost],
        costShare: r.compliant_cost_share,
      })),
    ).toEqual([
      {
        day: '2026-10-31',
        project: 'ml-training-prod',
        team: 'data',
        vms: [0, 0, 0, 0],
        vmShare: null,
        cost: [0.134, 0, 0, 0, 0.134],
        costShare: null,
      },
      {
        day: '2026-11-18',
        project: 'data-pipelines',
        team: '(unattributed)',
        vms: [1, 0, 1, 0],
        vmShare: 0,
        cost: [0.165, 0, 0.165, 0, 0],
        costShare: 0,
      },
      {
        day: '2026-11-18',
        project: 'ml-training-prod',
        team: 'data',
        vms: [1, 0, 0, 1],
        vmShare: null,
        cost: [0.134, 0, 0, 0.134, 0],
        costShare: null,
      },
      {
        day: '2026-11-18',
        project: 'ml-training-prod',
        team: 'ml',
        vms: [2, 1, 1, 0],
        vmShare: 0.5,
        cost: [0.5, 0.2, 0.3, 0, 0],
        costShare: 0.4,
      },
      {
        day: '2026-11-19',
        project: 'data-pipelines',
        team: 'data',
        vms: [1, 1, 0, 0],
        vmShare: 1,
        cost: [0.11, 0.11, 0, 0, 0],
        costShare: 1,
      },
      {
        day: '2026-11-19',
        project: 'ml-training-prod',
        team: 'ml',
        vms: [2, 0, 2, 0],
        vmShare: 0,
        cost: [0.1, 0, 0.1, 0, 0],
        costShare: 0,
      },
    ]);
    expect(rows.every((r) => r.currency === 'USD')).toBe(true);
  });

  it('label_compliance_daily: VMs per day with their last check, marked and stopped', async () => {
    expect(await ledger.view('label_compliance_daily', 'day, project_id, team')).toEqual([
      {
        day: '2026-11-18',
        project_id: 'data-pipelines',
        team: '(unattributed)',
        vms: 1,
        exempt_vms: 0,
        compliant_vms: 0,
        non_compliant_vms: 1,
        compliance_ratio: 0,
        marked_vms: 1,
        stopped_vms: 0,
        non_compliant_hourly_cost: 0.11,
      },
      {
        day: '2026-11-18',
        project_id: 'ml-training-prod',
        team: 'data',
        vms: 1,
        exempt_vms: 1,
        compliant_vms: 0,
        non_compliant_vms: 0,
        compliance_ratio: null,
        marked_vms: 0,
        stopped_vms: 0,
        non_compliant_hourly_cost: 0,
      },
      {
        day: '2026-11-18',
        project_id: 'ml-training-prod',
        team: 'ml',
        vms: 2,
        exempt_vms: 0,
        compliant_vms: 1,
        non_compliant_vms: 1,
        compliance_ratio: 0.5,
        marked_vms: 1,
        stopped_vms: 0,
        non_compliant_hourly_cost: 0.3,
      },
      {
        day: '2026-11-19',
        project_id: 'data-pipelines',
        team: 'data',
        vms: 1,
        exempt_vms: 0,
        compliant_vms: 1,
        non_compliant_vms: 0,
        compliance_ratio: 1,
        marked_vms: 0,
        stopped_vms: 0,
        non_compliant_hourly_cost: 0,
      },
      {
        day: '2026-11-19',
        project_id: 'ml-training-prod',
        team: 'ml',
        vms: 2,
        exempt_vms: 0,
        compliant_vms: 0,
        non_compliant_vms: 2,
        compliance_ratio: 0,
        marked_vms: 2,
        stopped_vms: 1,
        non_compliant_hourly_cost: 0.4,
      },
    ]);
  });

  it('label_compliance_checks: one row per VM and check run, the re-run check counted once', async () => {
    const [counts] = await ledger.rows(
      `SELECT COUNT(*) AS checks, COUNT(DISTINCT run_id) AS runs,
         COUNTIF(instance_name = 'scratch-c' AND run_id = 'sweep-2026-11-18T15:00:00.000Z') AS rerun,
         MAX(CASE WHEN instance_name = 'scratch-c' AND run_id = 'sweep-2026-11-18T15:00:00.000Z'
           THEN FORMAT_TIMESTAMP('%H:%M', checked_at) END) AS rerun_at
       FROM \`\${dataset}.label_compliance_checks\``,
    );
    expect(counts).toEqual({ checks: 11, runs: 3, rerun: 1, rerun_at: '15:05' });
  });
});
