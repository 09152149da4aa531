import type { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, type KeyedRow } from '../../functions/adapters/bigquery.js';
import { billingExportViewSql } from '../../deploy/ledger-sql.js';
import { LOOKER_VIEWS, previewCostViews } from '../../deploy/looker-studio.js';
import { loadFixture } from '../support/fixtures.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';
import {
  createTableSql,
  DATASET,
  EXPORT_DATASET,
  EXPORT_TABLE,
  EXPORT_TABLE_ID,
  exportRows,
  exportSchema,
  LEDGER_FIXTURES,
  MIGRATED_VIEWS,
  NOW,
  PROJECT,
  sortedRows,
  SQL_ROOT,
  type Row,
} from './view-ledger.js';

// The views as Looker Studio meets them: migrated by Ledger.migrate and read with the real
// @google-cloud/bigquery client from the sandbox's BigQuery, so field types are the ones a
// BigQuery connector sees. Fixture rows are written as the functions write them: keyed inserts.
const METRIC_TYPES = ['INTEGER', 'FLOAT', 'NUMERIC'];

function keyed(table: string, rows: Row[]): KeyedRow[] {
  const keyOf = (row: Row, i: number): string =>
    table === 'runs'
      ? `${String(row.run_id)}/${String(row.event)}/${String(row.status)}`
      : `${String(row.row_key)}#${String(row.recorded_at)}#${i}`;
  return rows.map((row, i) => ({ key: keyOf(row, i), row }));
}

describe('views through the BigQuery client', () => {
  let sandbox: Sandbox;
  let ledger: Ledger;
  let bigquery: BigQuery;

  beforeAll(async () => {
    sandbox = await startTestSandbox();
    sandbox.clock.set(NOW);
    const runtime = sandboxRuntime(sandbox);
    const client = () => runtime.clients.bigquery(PROJECT, 'US');
    bigquery = await client();
    const options = { project: PROJECT, location: 'US', logger: runtime.logger, sqlRoot: SQL_ROOT };
    ledger = new Ledger(client, { ...options, dataset: DATASET });
    await ledger.migrate();
    for (const [table, fixture] of Object.entries(LEDGER_FIXTURES)) {
      await ledger.insert(table, keyed(table, loadFixture<Row[]>(fixture)));
    }
    // The export table is made with DDL: the sandbox's tables.insert cannot take a schema yet.
    await bigquery.createDataset(EXPORT_DATASET, { location: 'US' });
    await ledger.execute(createTableSql(EXPORT_TABLE, exportSchema()));
    const exportLedger = new Ledger(client, { ...options, dataset: EXPORT_DATASET });
    await exportLedger.insert(
      EXPORT_TABLE_ID,
      exportRows().map((row, i) => ({ key: `line-${i}`, row })),
    );
    await ledger.execute(
      billingExportViewSql({ project: PROJECT, dataset: DATASET }, EXPORT_TABLE, SQL_ROOT),
    );
  });
  afterAll(() => sandbox.close());

  async function schemaOf(view: string): Promise<Map<string, string>> {
    const [job] = await bigquery.createQueryJob({
      query: `SELECT * FROM \`${PROJECT}.${DATASET}.${view}\` LIMIT 1`,
      location: 'US',
    });
    const [, , response] = await job.getQueryResults({ maxResults: 1 });
    const fields = (response as { schema?: { fields?: Array<{ name: string; type: string }> } })
      .schema?.fields;
    return new Map((fields ?? []).map((f) => [f.name, f.type]));
  }

  it.each(LOOKER_VIEWS)(
    '$name: a $dateColumn date dimension and numeric metrics for Looker Studio',
    async (view) => {
      const types = await schemaOf(view.name);
      expect(types.get(view.dateColumn)).toBe(
        view.name === 'spot_cost_hours' ? 'TIMESTAMP' : 'DATE',
      );
      const notNumeric = view.metrics.filter((m) => !METRIC_TYPES.includes(types.get(m) ?? ''));
      expect(notNumeric).toEqual([]);
      expect(view.ratios.map((r) => types.get(r.field))).toEqual(view.ratios.map(() => 'FLOAT'));
    },
  );

  it('reads the same figures as the engine: cost per team with the unattributed row', async () => {
    const rows = await ledger.query<{ team: string; cost: unknown }>(
      'SELECT team, SUM(cost) AS cost FROM `${dataset}.cost_by_label_daily` GROUP BY team ORDER BY team',
    );
    expect(rows.map((r) => [r.team, Number(r.cost)])).toEqual([
      ['(unattributed)', 0.275],
      ['data', 0.268],
      ['ml', 0.6],
    ]);
  });

  it('reconciles through the bound export, with typed values as the client returns them', async () => {
    const [row] = await ledger.query<Record<string, unknown>>(
      `SELECT usage_date, estimated_cost, billed_cost, billed_credits, error_percent, recorded_vm_hours
       FROM \`\${dataset}.billing_reconciliation\`
       WHERE project_id = 'ml-training-prod' AND usage_date = DATE '2026-11-18'`,
    );
    expect({
      usage_date: (row?.usage_date as { value: string }).value,
      estimated_cost: Number(row?.estimated_cost),
      billed_cost: Number(row?.billed_cost),
      billed_credits: Number(row?.billed_credits),
      error_percent: row?.error_percent,
      recorded_vm_hours: row?.recorded_vm_hours,
    }).toEqual({
      usage_date: '2026-11-18',
      estimated_cost: 0.634,
      billed_cost: 0.63,
      billed_credits: -0.02,
      error_percent: 0.63,
      recorded_vm_hours: 4,
    });
  });

  it('keeps the bound export and every figure when the migration runs again', async () => {
    const total = async (): Promise<number> => {
      const [row] = await ledger.query<{ billed: unknown }>(
        'SELECT SUM(billed_cost) AS billed FROM `${dataset}.billing_reconciliation`',
      );
      return Number(row?.billed);
    };
    const everyView = async (): Promise<Record<string, string[]>> => {
      const contents: Record<string, string[]> = {};
      for (const view of MIGRATED_VIEWS) {
        contents[view] = sortedRows(
          await ledger.query<Row>(`SELECT * FROM \`\${dataset}.${view}\``),
        );
      }
      return contents;
    };
    expect(await total()).toBe(1.1);
    const before = await everyView();

    await ledger.migrate();

    expect(await total()).toBe(1.1);
    expect(await everyView()).toEqual(before);
  });

  it('previews the data sources in a few lines for npm start', async () => {
    const lines: string[] = [];
    await previewCostViews(ledger, (line) => lines.push(line));
    expect(lines).toEqual([
      '  cost_by_label_daily: ml 0.60 USD, (unattributed) 0.28 USD, data 0.27 USD',
      '  spot_savings_daily: Spot cost 0.88, saved 2.33 USD against on-demand prices',
      '  run_costs: 3 runs, 0.17 recorded on their VMs',
      '  label_compliance_share_daily: 2026-11-19: 33% of checked VMs compliant, and 52% of their cost',
      '  enforcement_periods: 5 VMs stopped (or would be, in dry run), 0.94 an hour',
      '  billing_reconciliation: 3 project-days compared with the Cloud Billing export',
    ]);
  });
});
