import { readFileSync } from 'node:fs';
import { bindSql, migrationFiles } from '../../functions/adapters/bigquery.js';
import {
  BigQueryEngine,
  type BigQueryField,
  type QueryResult,
} from '../../functions/sandbox/bigquery-engine.js';
import { billingExportViewSql } from '../../deploy/ledger-sql.js';
import { ledgerObjects } from '../../deploy/summary.js';
import { loadFixture } from '../support/fixtures.js';
import { SQL_ROOT } from '../support/sql.js';

export { SQL_ROOT };

/**
 * The ledger's tables and views on the in-memory BigQuery engine (DuckDB through the dialect
 * layer, no HTTP), filled with the fixture rows of fixtures/views and the Cloud Billing export
 * fixture, at a fixed simulated time. Rows come back as plain objects typed as the BigQuery
 * client would type them: numbers for INTEGER, FLOAT and NUMERIC, 'YYYY-MM-DD' for DATE and ISO
 * text for TIMESTAMP.
 */
export const NOW = new Date('2026-11-20T12:00:00Z');
export const DATASET = 'costguard';
export const PROJECT = 'costguard-host';
export const EXPORT_PROJECT = 'costguard-billing';
export const EXPORT_DATASET = 'billing';
export const EXPORT_TABLE_ID = 'gcp_billing_export_v1_01D4EE_079462_DFD6EC';
export const EXPORT_TABLE = `${EXPORT_PROJECT}.${EXPORT_DATASET}.${EXPORT_TABLE_ID}`;

export type Row = Record<string, unknown>;

/** Every view the migration creates, in migration order. */
export const MIGRATED_VIEWS = ledgerObjects(migrationFiles(SQL_ROOT)).views;

/** A view's rows as comparable text, in a fixed order whatever order the engine returns. */
export function sortedRows(rows: readonly Row[]): string[] {
  return rows.map((row) => JSON.stringify(row)).sort();
}

/** Fixture rows per ledger table, as the functions write them (insertAll JSON). */
export const LEDGER_FIXTURES = {
  spot_costs: 'views/spot-costs.json',
  runs: 'views/runs.json',
  label_compliance: 'views/label-compliance.json',
  enforcement_actions: 'views/enforcement-actions.json',
  cap_runs: 'views/cap-runs.json',
  cap_hours: 'views/cap-hours.json',
  preemptions: 'views/preemptions.json',
} as const;

export function exportSchema(): BigQueryField[] {
  return loadFixture<BigQueryField[]>('billing-export/schema.json');
}

export function exportRows(): Row[] {
  return loadFixture<Row[]>(`billing-export/${EXPORT_TABLE_ID}.json`);
}

/** BigQuery DDL type of a schema field, as `bq show --schema` describes it. */
function ddlType(field: BigQueryField): string {
  const scalar: Record<string, string> = {
    STRING: 'STRING',
    FLOAT: 'FLOAT64',
    FLOAT64: 'FLOAT64',
    INTEGER: 'INT64',
    INT64: 'INT64',
    NUMERIC: 'NUMERIC',
    BOOLEAN: 'BOOL',
    BOOL: 'BOOL',
    TIMESTAMP: 'TIMESTAMP',
    DATE: 'DATE',
  };
  const base =
    field.type === 'RECORD'
      ? `STRUCT<${(field.fields ?? []).map((f) => `${f.name} ${ddlType(f)}`).join(', ')}>`
      : scalar[field.type];
  if (base === undefined) throw new Error(`no DDL type for ${field.name}: ${field.type}`);
  return field.mode === 'REPEATED' ? `ARRAY<${base}>` : base;
}

export function createTableSql(table: string, fields: readonly BigQueryField[]): string {
  return `CREATE TABLE \`${table}\` (\n${fields.map((f) => `  ${f.name} ${ddlType(f)}`).join(',\n')}\n)`;
}

function plainValue(value: unknown, field: BigQueryField): unknown {
  if (value === null || value === undefined) return null;
  if (field.mode === 'REPEATED') return value;
  switch (field.type) {
    case 'INTEGER':
    case 'NUMERIC':
    case 'FLOAT':
      return Number(value);
    case 'TIMESTAMP':
      return new Date(`${(value as string).replace(' ', 'T')}Z`).toISOString();
    default:
      return value;
  }
}

export function plainRows(result: QueryResult): Row[] {
  return result.rows.map((row) =>
    Object.fromEntries(result.fields.map((f, i) => [f.name, plainValue(row[i], f)])),
  );
}

export interface ViewLedgerOptions {
  /** Insert every ledger fixture row this many times, as retried writes would. */
  readonly copies?: number;
  /** Point billing_export at the export fixture (default true). */
  readonly bindBillingExport?: boolean;
  /** Migrate and make the (empty) export table only: no fixture rows, export not bound. */
  readonly empty?: boolean;
}

export class ViewLedger {
  private constructor(readonly engine: BigQueryEngine) {}

  static async create(options: ViewLedgerOptions = {}): Promise<ViewLedger> {
    const ledger = new ViewLedger(await BigQueryEngine.create());
    await ledger.engine.createSchema(DATASET);
    await ledger.migrate();
    await ledger.engine.createSchema(EXPORT_DATASET);
    await ledger.execute(createTableSql(EXPORT_TABLE, exportSchema()));
    if (options.empty) return ledger;
    for (const [table, fixture] of Object.entries(LEDGER_FIXTURES)) {
      const rows = loadFixture<Row[]>(fixture);
      const copies = Array.from({ length: options.copies ?? 1 }, () => rows).flat();
      await ledger.insert(DATASET, table, copies);
    }
    await ledger.insert(EXPORT_DATASET, EXPORT_TABLE_ID, exportRows());
    if (options.bindBillingExport ?? true) {
      await ledger.execute(
        billingExportViewSql({ project: PROJECT, dataset: DATASET }, EXPORT_TABLE, SQL_ROOT),
      );
    }
    return ledger;
  }

  /** The migration: every table, then every view, in name order, as Ledger.migrate runs them. */
  async migrate(): Promise<string[]> {
    const files = migrationFiles(SQL_ROOT);
    for (const file of files) await this.execute(file.sql);
    return files.map((f) => f.name);
  }

  async insert(dataset: string, table: string, rows: Row[]): Promise<void> {
    const columns = await this.engine.columns(dataset, table);
    if (!columns) throw new Error(`no table ${dataset}.${table}`);
    await this.engine.insert(dataset, table, columns, rows);
  }

  /** Runs BigQuery SQL with `${dataset}` bound, at `now` (the simulated time, NOW by default). */
  execute(sql: string, now: Date = NOW): Promise<QueryResult> {
    return this.engine.query(bindSql(sql, { project: PROJECT, dataset: DATASET }), { now });
  }

  async rows(sql: string, now: Date = NOW): Promise<Row[]> {
    return plainRows(await this.execute(sql, now));
  }

  /** Every row of a view, ordered by the given columns. */
  view(name: string, orderBy: string): Promise<Row[]> {
    return this.rows(`SELECT * FROM \`\${dataset}.${name}\` ORDER BY ${orderBy}`);
  }

  async fields(name: string): Promise<BigQueryField[]> {
    return (await this.execute(`SELECT * FROM \`\${dataset}.${name}\` LIMIT 0`)).fields;
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}

export function viewSql(file: string): string {
  return readFileSync(`${SQL_ROOT}/views/${file}`, 'utf8');
}
