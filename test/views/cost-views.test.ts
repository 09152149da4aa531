import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ViewLedger } from './view-ledger.js';

// The cost views on fixtures/views/spot-costs.json: 12 recorded rows for 10 VM hours. Two hours
// were recorded twice (train-a 11:00 with late uptime, gpu-e 10:00 priced again from the
// catalog); only their latest versions count. scratch-c and ghost-d carry no labels; ghost-d
// (deleted before it was seen) has no price; gpu-e has an empty app label.
describe('cost views', () => {
  let ledger: ViewLedger;

  beforeAll(async () => {
    ledger = await ViewLedger.create();
  });
  afterAll(() => ledger.close());

  it('cost_daily: cost per day, project, region, zone, machine type and provisioning model', async () => {
    expect(await ledger.view('cost_daily', 'usage_date, project_id, zone, machine_type')).toEqual([
      {
        usage_date: '2026-10-31',
        project_id: 'ml-training-prod',
        region: 'us-central1',
        zone: 'us-central1-b',
        machine_type: 'e2-standard-4',
        provisioning_model: 'STANDARD',
        currency: 'USD',
        vms: 1,
        vm_hours: 1,
        cost: 0.134,
        on_demand_cost: 0.134,
        unpriced_vm_hours: 0,
      },
      {
        usage_date: '2026-11-18',
        project_id: 'data-pipelines',
        region: 'europe-west1',
        zone: 'europe-west1-b',
        machine_type: '(unknown)',
        provisioning_model: 'UNKNOWN',
        currency: 'USD',
        vms: 1,
        vm_hours: 1,
        cost: null,
        on_demand_cost: null,
        unpriced_vm_hours: 1,
      },
      {
        usage_date: '2026-11-18',
        project_id: 'data-pipelines',
        region: 'europe-west1',
        zone: 'europe-west1-b',
        machine_type: 'n2-standard-8',
        provisioning_model: 'SPOT',
        currency: 'USD',
        vms: 1,
        vm_hours: 1.5,
        cost: 0.165,
        on_demand_cost: 0.6,
        unpriced_vm_hours: 0,
      },
      {
        usage_date: '2026-11-18',
        project_id: 'ml-training-prod',
        region: 'us-central1',
        zone: 'us-central1-a',
        machine_type: 'g2-standard-8',
        provisioning_model: 'SPOT',
        currency: 'USD',
        vms: 1,
        vm_hours: 1,
        cost: 0.3,
        on_demand_cost: 1,
        unpriced_vm_hours: 0,
      },
      {
        usage_date: '2026-11-18',
        project_id: 'ml-training-prod',
        region: 'us-central1',
        zone: 'us-central1-a',
        machine_type: 'n2-standard-8',
        provisioning_model: 'SPOT',
        currency: 'USD',
        vms: 1,
        vm_hours: 2,
        cost: 0.2,
        on_demand_cost: 0.8,
        unpriced_vm_hours: 0,
      },
      {
        usage_date: '2026-11-18',
        project_id: 'ml-training-prod',
        region: 'us-central1',
        zone: 'us-central1-b',
        machine_type: 'e2-standard-4',
        provisioning_model: 'STANDARD',
        currency: 'USD',
        vms: 1,
        vm_hours: 1,
        cost: 0.134,
        on_demand_cost: 0.134,
        unpriced_vm_hours: 0,
      },
      {
        usage_date: '2026-11-19',
        project_id: 'data-pipelines',
        region: 'europe-west1',
        zone: 'europe-west1-b',
        machine_type: 'n2-standard-8',
        provisioning_model: 'SPOT',
        currency: 'USD',
        vms: 1,
        vm_hours: 1,
        cost: 0.11,
        on_demand_cost: 0.4,
        unpriced_vm_hours: 0,
      },
      {
        usage_date: '2026-11-19',
        project_id: 'ml-training-prod',
        region: 'us-central1',
        zone: 'us-central1-a',
        machine_type: 'n2-standard-8',
        provisioning_model: 'SPOT',
        currency: 'USD',
        vms: 1,
        vm_hours: 1,
        cost: 0.1,
        on_demand_cost: 0.4,
        unpriced_vm_hours: 0,
      },
    ]);
  });

  it('counts a re-recorded hour once: the views add up to the latest versions, not the table', async () => {
    // 0.134 + 0.2 + 0.134 + 0.165 + 0.3 + 0.1 + 0.11; the table also holds the superseded
    // 0.05 (partial uptime) and 0.29 (price-book) versions.
    const [viewTotal] = await ledger.rows(
      'SELECT SUM(cost) AS cost, SUM(vm_hours) AS vm_hours FROM `${dataset}.cost_daily`',
    );
    const [tableTotal] = await ledger.rows(
      'SELECT SUM(cost) AS cost, SUM(uptime_seconds) / 3600 AS vm_hours FROM `${dataset}.spot_costs`',
    );
    expect(viewTotal).toEqual({ cost: 1.143, vm_hours: 9.5 });
    expect(tableTotal).toEqual({ cost: 1.483, vm_hours: 11 });
  });

  it('cost_by_label_daily: team, app and cost_center per day, unlabelled cost as (unattributed)', async () => {
    const rows = await ledger.view('cost_by_label_daily', 'usage_date, team, app, project_id');
    expect(
      rows.map((r) => [
        r.usage_date,
        r.team,
        r.app,
        r.cost_center,
        r.project_id,
        r.vms,
        r.vm_hours,
        r.cost,
        r.on_demand_cost,
        r.unpriced_vm_hours,
      ]),
    ).toEqual([
      ['2026-10-31', 'data', 'etl', 'cc-200', 'ml-training-prod', 1, 1, 0.134, 0.134, 0],
      [
        '2026-11-18',
        '(unattributed)',
        '(unattributed)',
        '(unattributed)',
        'data-pipelines',
        2,
        2.5,
        0.165,
        0.6,
        1,
      ],
      ['2026-11-18', 'data', 'etl', 'cc-200', 'ml-training-prod', 1, 1, 0.134, 0.134, 0],
      ['2026-11-18', 'ml', '(unattributed)', 'cc-100', 'ml-training-prod', 1, 1, 0.3, 1, 0],
      ['2026-11-18', 'ml', 'trainer', 'cc-100', 'ml-training-prod', 1, 2, 0.2, 0.8, 0],
      [
        '2026-11-19',
        '(unattributed)',
        '(unattributed)',
        '(unattributed)',
        'data-pipelines',
        1,
        1,
        0.11,
        0.4,
        0,
      ],
      ['2026-11-19', 'ml', 'trainer', 'cc-100', 'ml-training-prod', 1, 1, 0.1, 0.4, 0],
    ]);
    expect(rows.every((r) => r.currency === 'USD')).toBe(true);
  });

  it('cost_by_label_daily: per team the unattributed cost is a row of its own', async () => {
    expect(
      await ledger.rows(
        'SELECT team, SUM(cost) AS cost FROM `${dataset}.cost_by_label_daily` GROUP BY team ORDER BY team',
      ),
    ).toEqual([
      { team: '(unattributed)', cost: 0.275 },
      { team: 'data', cost: 0.268 },
      { team: 'ml', cost: 0.6 },
    ]);
  });

  it('cost_by_label_monthly: the same attribution per calendar month', async () => {
    const rows = await ledger.view('cost_by_label_monthly', 'usage_month, team, app, project_id');
    expect(
      rows.map((r) => [
        r.usage_month,
        r.team,
        r.app,
        r.cost_center,
        r.project_id,
        r.vms,
        r.days,
        r.vm_hours,
        r.cost,
        r.on_demand_cost,
        r.unpriced_vm_hours,
      ]),
    ).toEqual([
      ['2026-10-01', 'data', 'etl', 'cc-200', 'ml-training-prod', 1, 1, 1, 0.134, 0.134, 0],
      [
        '2026-11-01',
        '(unattributed)',
        '(unattributed)',
        '(unattributed)',
        'data-pipelines',
        2,
        2,
        3.5,
        0.275,
        1,
        1,
      ],
      ['2026-11-01', 'data', 'etl', 'cc-200', 'ml-training-prod', 1, 1, 1, 0.134, 0.134, 0],
      ['2026-11-01', 'ml', '(unattributed)', 'cc-100', 'ml-training-prod', 1, 1, 1, 0.3, 1, 0],
      ['2026-11-01', 'ml', 'trainer', 'cc-100', 'ml-training-prod', 1, 2, 3, 0.3, 1.2, 0],
    ]);
  });

  it('spot_savings_daily: on-demand price of the Spot hours against their cost, per day and team', async () => {
    // STANDARD etl-b and unpriced ghost-d are not Spot hours priced both ways, so they are out.
    expect(await ledger.view('spot_savings_daily', 'usage_date, team')).toEqual([
      {
        usage_date: '2026-11-18',
        team: '(unattributed)',
        project_id: 'data-pipelines',
        currency: 'USD',
        spot_vms: 1,
        spot_vm_hours: 1.5,
        spot_cost: 0.165,
        on_demand_equivalent_cost: 0.6,
        savings: 0.435,
        savings_percent: 72.5,
      },
      {
        usage_date: '2026-11-18',
        team: 'ml',
        project_id: 'ml-training-prod',
        currency: 'USD',
        spot_vms: 2,
        spot_vm_hours: 3,
        spot_cost: 0.5,
        on_demand_equivalent_cost: 1.8,
        savings: 1.3,
        savings_percent: 72.22,
      },
      {
        usage_date: '2026-11-19',
        team: '(unattributed)',
        project_id: 'data-pipelines',
        currency: 'USD',
        spot_vms: 1,
        spot_vm_hours: 1,
        spot_cost: 0.11,
        on_demand_equivalent_cost: 0.4,
        savings: 0.29,
        savings_percent: 72.5,
      },
      {
        usage_date: '2026-11-19',
        team: 'ml',
        project_id: 'ml-training-prod',
        currency: 'USD',
        spot_vms: 1,
        spot_vm_hours: 1,
        spot_cost: 0.1,
        on_demand_equivalent_cost: 0.4,
        savings: 0.3,
        savings_percent: 75,
      },
    ]);
  });

  it('a date range on usage_date selects whole days of usage_hour', async () => {
    expect(
      await ledger.rows(
        `SELECT SUM(cost) AS cost FROM \`\${dataset}.cost_daily\`
         WHERE usage_date BETWEEN DATE '2026-11-18' AND DATE '2026-11-18'`,
      ),
    ).toEqual([{ cost: 0.799 }]);
  });
});
