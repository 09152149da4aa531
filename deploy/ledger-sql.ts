/**
 * The ledger SQL as deploy and `npm run looker-studio` hand it to `bq query`: a migration file's
 * statement, and the statement that points the billing_export view at the Cloud Billing export.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bindSql, defaultSqlRoot } from '../functions/adapters/bigquery.js';
import { parseExportTable } from './options.js';

/**
 * bq reads any argument that starts with `-` as a flag (and takes no `--` separator), so the
 * leading comment lines of a SQL file are left out of the query it is given.
 */
export function queryText(sql: string): string {
  const lines = sql.split('\n');
  const first = lines.findIndex((line) => line.trim() !== '' && !line.trim().startsWith('--'));
  const text = first === -1 ? '' : lines.slice(first).join('\n').trim();
  if (text === '' || text.startsWith('-')) throw new Error('A ledger SQL file holds no statement');
  return text;
}

/** The statement that points `${dataset}.billing_export` at the export table. */
export function billingExportViewSql(
  names: { readonly project: string; readonly dataset: string },
  exportTable: string,
  sqlRoot = defaultSqlRoot(),
): string {
  const template = readFileSync(
    join(sqlRoot, 'views', 'billing-export', 'billing_export.sql'),
    'utf8',
  );
  return bindSql(template, names).replaceAll(
    '${billing_export_table}',
    parseExportTable(exportTable),
  );
}
