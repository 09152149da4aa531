import { afterEach, describe, expect, it } from 'vitest';
import {
  DATASET,
  EXPORT_TABLE,
  exportRows,
  PROJECT,
  SQL_ROOT,
  ViewLedger,
  type Row,
} from './view-ledger.js';
import { billingExportViewSql } from '../../deploy/ledger-sql.js';

// billing_reconciliation at 2026-11-20 12:00 UTC on the Cloud Billing export fixture
// (fixtures/billing-export, the standard usage cost table's schema) and the recorded hours of
// fixtures/views/spot-costs.json. ml-training-prod on 11-18 is billed core 0.07 + 0.07 (N2) +
// 0.12 (G2) + 0.09 (E2) = 0.35, RAM 0.025 + 0.025 + 0.04 + 0.04 = 0.13 and GPU 0.15 (L4), with a
// -0.02 promotion credit; its persistent disk, Windows licence, RAM commitment fee, adjustment
// and BigQuery lines are not VM rates. data-pipelines is billed 0.085 + 0.04 core and 0.03 +
// 0.015 RAM. web-frontend is billed but not governed: an E2 core at 0.2 (0.25 at list) and an
// on-demand N1 core at 0.1 under a flexible CUD consumption model, with sustained use -0.02,
// dollar-based CUD -0.01, free tier -0.005 and reseller margin -0.004 credits. 11-19 is one day
// old: not shown yet. Elsewhere cost_at_list equals cost.
const COLUMNS = [
  'usage_date',
  'project_id',
  'recorded_vm_hours',
  'unpriced_vm_hours',
  'estimated_cost',
  'billed_core_cost',
  'billed_ram_cost',
  'billed_gpu_cost',
  'billed_cost',
  'billed_credits',
  'billed_net_cost',
  'difference',
  'error_percent',
];

function pick(rows: Row[]): unknown[][] {
  return rows.map((r) => COLUMNS.map((c) => r[c]));
}

describe('billing_reconciliation', () => {
  let ledger: ViewLedger | undefined;
  afterEach(async () => {
    await ledger?.close();
    ledger = undefined;
  });

  it('compares recorded and billed VM cost per project and day, error in percent', async () => {
    ledger = await ViewLedger.create();
    const rows = await ledger.view('billing_reconciliation', 'usage_date, project_id');
    expect(pick(rows)).toEqual([
      // etl-b's October hour: nothing billed for it in the export, so no error figure.
      ['2026-10-31', 'ml-training-prod', 1, 0, 0.134, 0, 0, 0, 0, 0, 0, 0.134, null],
      // scratch-c 0.165 (ghost-d's hour is unpriced) against 0.17: -0.005 / 0.17.
      [
        '2026-11-18',
        'data-pipelines',
        2.5,
        1,
        0.165,
        0.125,
        0.045,
        0,
        0.17,
        0,
        0.17,
        -0.005,
        -2.94,
      ],
      // train-a 0.2 + gpu-e 0.3 + etl-b 0.134 = 0.634 against 0.63: 0.004 / 0.63.
      [
        '2026-11-18',
        'ml-training-prod',
        4,
        0,
        0.634,
        0.35,
        0.13,
        0.15,
        0.63,
        -0.02,
        0.61,
        0.004,
        0.63,
      ],
      // Compared at list: 0 - 0.35.
      ['2026-11-18', 'web-frontend', 0, 0, 0, 0.3, 0, 0, 0.3, -0.039, 0.261, -0.35, -100],
    ]);
    expect(rows.every((r) => r.currency === 'USD')).toBe(true);
  });

  it('shows a day once it is two days old', async () => {
    ledger = await ViewLedger.create();
    const days = async (now: string): Promise<unknown[]> =>
      (
        await ledger!.rows(
          `SELECT DISTINCT CAST(usage_date AS STRING) AS day FROM \`\${dataset}.billing_reconciliation\` ORDER BY day`,
          new Date(now),
        )
      ).map((r) => r.day);
    expect(await days('2026-11-20T23:59:59Z')).toEqual(['2026-10-31', '2026-11-18']);
    expect(await days('2026-11-21T00:00:00Z')).toEqual(['2026-10-31', '2026-11-18', '2026-11-19']);
    const [day19] = await ledger.rows(
      `SELECT estimated_cost, billed_cost FROM \`\${dataset}.billing_reconciliation\`
       WHERE usage_date = DATE '2026-11-19' AND project_id = 'ml-training-prod'`,
      new Date('2026-11-21T00:00:00Z'),
    );
    expect(day19).toEqual({ estimated_cost: 0.1, billed_cost: 0.095 });
  });

  it('before the export is bound, shows the recorded estimate with nothing billed', async () => {
    ledger = await ViewLedger.create({ bindBillingExport: false });
    expect(pick(await ledger.view('billing_reconciliation', 'usage_date, project_id'))).toEqual([
      ['2026-10-31', 'ml-training-prod', 1, 0, 0.134, 0, 0, 0, 0, 0, 0, 0.134, null],
      ['2026-11-18', 'data-pipelines', 2.5, 1, 0.165, 0, 0, 0, 0, 0, 0, 0.165, null],
      ['2026-11-18', 'ml-training-prod', 4, 0, 0.634, 0, 0, 0, 0, 0, 0, 0.634, null],
    ]);
  });

  it('keeps the bound export across a later migration', async () => {
    ledger = await ViewLedger.create();
    await ledger.migrate();
    const [total] = await ledger.rows(
      'SELECT SUM(billed_cost) AS billed FROM `${dataset}.billing_reconciliation`',
    );
    expect(total).toEqual({ billed: 1.1 });
  });

  it('explains the bill: list cost, discounts by credit type and model, commitment fees, unpriced share', async () => {
    ledger = await ViewLedger.create();
    const explained = [
      'project_id',
      'unpriced_share_percent',
      'billed_cost',
      'billed_list_cost',
      'negotiated_discount',
      'billed_list_cost_non_default_model',
      'commitment_fees',
      'billed_credits',
      'sud_credits',
      'cud_credits',
      'free_tier_credits',
      'promotion_credits',
      'other_credits',
    ];
    const rows = await ledger.rows(
      `SELECT * FROM \`\${dataset}.billing_reconciliation\`
       WHERE usage_date = DATE '2026-11-18' ORDER BY project_id`,
    );
    expect(rows.map((r) => explained.map((c) => r[c]))).toEqual([
      // ghost-d's unpriced hour is 1 of 2.5 recorded hours: 40 %, not left out of the count.
      ['data-pipelines', 40, 0.17, 0.17, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      // The 0.3 RAM commitment fee is counted apart from the VM rates; -0.02 is a promotion.
      ['ml-training-prod', 0, 0.63, 0.63, 0, 0, 0.3, -0.02, 0, 0, 0, -0.02, 0],
      // 0.25 - 0.2 negotiated off the E2 list price; the N1 line's 0.1 list cost is under a
      // flexible CUD model; the reseller margin is among the other credits.
      ['web-frontend', null, 0.3, 0.35, 0.05, 0.1, 0, -0.039, -0.02, -0.01, -0.005, 0, -0.004],
    ]);
  });

  it('compares against cost on export lines without cost_at_list', async () => {
    ledger = await ViewLedger.create();
    await ledger.execute(`UPDATE \`${EXPORT_TABLE}\` SET cost_at_list = NULL WHERE TRUE`);
    const [row] = await ledger.rows(
      `SELECT billed_cost, billed_list_cost, negotiated_discount, difference
       FROM \`\${dataset}.billing_reconciliation\`
       WHERE usage_date = DATE '2026-11-18' AND project_id = 'web-frontend'`,
    );
    expect(row).toEqual({
      billed_cost: 0.3,
      billed_list_cost: 0.3,
      negotiated_discount: 0,
      difference: -0.3,
    });
  });

  it('reads the export through billing_export: one row per line with its credits summed', async () => {
    ledger = await ViewLedger.create();
    const [line] = await ledger.rows(
      `SELECT project_id, service_id, sku_description, region, cost_type, cost, credits, currency
       FROM \`\${dataset}.billing_export\`
       WHERE sku_description = 'E2 Instance Core running in Americas' AND cost_type = 'regular'
         AND project_id = 'ml-training-prod'`,
    );
    expect(line).toEqual({
      project_id: 'ml-training-prod',
      service_id: '6F81-5844-456A',
      sku_description: 'E2 Instance Core running in Americas',
      region: 'us-central1',
      cost_type: 'regular',
      cost: 0.09,
      credits: -0.02,
      currency: 'USD',
    });
    const [n1] = await ledger.rows(
      `SELECT cost, cost_at_list, credits, sud_credits, cud_credits, free_tier_credits,
         promotion_credits, consumption_model_description
       FROM \`\${dataset}.billing_export\`
       WHERE sku_description = 'N1 Predefined Instance Core running in Americas'`,
    );
    expect(n1).toEqual({
      cost: 0.1,
      cost_at_list: 0.1,
      credits: expect.closeTo(-0.039, 12),
      sud_credits: -0.02,
      cud_credits: -0.01,
      free_tier_credits: -0.005,
      promotion_credits: 0,
      consumption_model_description: 'Compute Flexible CUD Consumption Model',
    });
    const [count] = await ledger.rows('SELECT COUNT(*) AS n FROM `${dataset}.billing_export`');
    expect(count).toEqual({ n: exportRows().length });
  });

  it.each([
    { case: 'a table name without its project', table: 'billing.gcp_billing_export_v1_X' },
    {
      case: 'a quote that would end the identifier',
      table: 'p-roject.billing.t`; DROP TABLE x; --',
    },
    { case: 'a project id with capitals', table: 'My-Project.billing.gcp_billing_export_v1_X' },
    { case: 'an empty name', table: '' },
  ])('refuses to bind the export to $case', ({ table }) => {
    expect(() =>
      billingExportViewSql({ project: PROJECT, dataset: DATASET }, table, SQL_ROOT),
    ).toThrow(/--billing-export: expected PROJECT\.DATASET\.TABLE/);
  });

  it('binds the export to the table it is given', () => {
    const sql = billingExportViewSql(
      { project: PROJECT, dataset: DATASET },
      EXPORT_TABLE,
      SQL_ROOT,
    );
    expect(sql).toContain('CREATE OR REPLACE VIEW `costguard.billing_export` AS');
    expect(sql).toContain(`FROM \`${EXPORT_TABLE}\``);
    expect(sql).not.toContain('${');
  });
});
