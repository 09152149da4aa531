import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATASET, ViewLedger, type Row } from './view-ledger.js';

// November 2026 has 720 hours. In ml-training-prod (us-central1): an on-demand n1-standard-2 all
// month at 0.10 an hour; an on-demand n2-standard-4 the first 360 hours at 0.20; a Spot
// n2-standard-4 the first 540 hours at 0.05 (0.20 on demand). An e2 VM gets no SUD and is left
// out. In December (744 hours) an on-demand n2-standard-4 runs 186 hours, a quarter.
const START = Date.parse('2026-11-01T00:00:00Z');
const DECEMBER = Date.parse('2026-12-01T00:00:00Z');

function vmHours(
  instance: string,
  machineType: string,
  model: 'STANDARD' | 'SPOT',
  vcpus: number,
  hours: number,
  cost: string,
  onDemandCost: string,
  start = START,
): Row[] {
  return Array.from({ length: hours }, (_, h) => {
    const usageHour = new Date(start + h * 3_600_000).toISOString();
    return {
      row_key: `ml-training-prod/us-central1-a/${instance}/${usageHour}`,
      usage_hour: usageHour,
      project_id: 'ml-training-prod',
      region: 'us-central1',
      zone: 'us-central1-a',
      instance_id: instance,
      instance_name: instance,
      machine_type: machineType,
      provisioning_model: model,
      uptime_seconds: 3600,
      vcpus,
      memory_gib: vcpus * 4,
      cost,
      on_demand_cost: onDemandCost,
      currency: 'USD',
      team: 'ml',
      price_source: 'catalog',
      attributes_source: 'compute',
      recorded_at: usageHour,
    };
  });
}

describe('sustained_use_discounts_monthly', () => {
  let ledger: ViewLedger;
  beforeAll(async () => {
    ledger = await ViewLedger.create({ empty: true });
    await ledger.insert(DATASET, 'spot_costs', [
      ...vmHours('n1-od', 'n1-standard-2', 'STANDARD', 2, 720, '0.1', '0.1'),
      ...vmHours('n2-od', 'n2-standard-4', 'STANDARD', 4, 360, '0.2', '0.2'),
      ...vmHours('n2-spot', 'n2-standard-4', 'SPOT', 4, 540, '0.05', '0.2'),
      ...vmHours('e2-od', 'e2-standard-2', 'STANDARD', 2, 10, '0.07', '0.07'),
      ...vmHours('n2-dec', 'n2-standard-4', 'STANDARD', 4, 186, '0.2', '0.2', DECEMBER),
    ]);
  });
  afterAll(() => ledger.close());

  it('estimates the discount by the month tiers of each family, on demand and for Spot hours', async () => {
    const rows = await ledger.rows(
      `SELECT * FROM \`\${dataset}.sustained_use_discounts_monthly\`
       WHERE usage_month = DATE '2026-11-01' ORDER BY machine_family`,
    );
    const columns = [
      'usage_month',
      'machine_family',
      'on_demand_vm_hours',
      'on_demand_cost',
      'sud_percent',
      'estimated_sud',
      'on_demand_net_cost',
      'spot_vm_hours',
      'spot_cost',
      'spot_on_demand_equivalent_cost',
      'spot_savings',
      'spot_savings_net',
    ];
    expect(rows.map((r) => columns.map((c) => r[c]))).toEqual([
      // Both vCPUs run all month: 100/80/60/40 % over the quarters, 30 % off 72.
      ['2026-11-01', 'N1', 720, 72, 30, -21.6, 50.4, 0, 0, 0, 0, 0],
      // On demand: 4 vCPUs half the month, 100 % then 86.78 %: 1 - 0.46695 / 0.5 = 6.61 % off
      // 72. Spot: 4 vCPUs three quarters, 13.22 % off the 108 on demand would have cost, so
      // Spot saves 81 at list and 108 - 14.2776 - 27 = 66.7224 net.
      ['2026-11-01', 'N2', 360, 72, 6.61, -4.7592, 67.2408, 540, 27, 108, 81, 66.7224],
    ]);
    expect(rows.every((r) => r.project_id === 'ml-training-prod' && r.currency === 'USD')).toBe(
      true,
    );
  });

  it('gives no discount up to a quarter of the month', async () => {
    const [row] = await ledger.rows(
      `SELECT machine_family, on_demand_cost, sud_percent, estimated_sud, on_demand_net_cost
       FROM \`\${dataset}.sustained_use_discounts_monthly\`
       WHERE usage_month = DATE '2026-12-01'`,
    );
    expect(row).toEqual({
      machine_family: 'N2',
      on_demand_cost: 37.2,
      sud_percent: 0,
      estimated_sud: 0,
      on_demand_net_cost: 37.2,
    });
  });
});
