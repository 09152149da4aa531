import { readdirSync } from 'node:fs';
import parser from 'node-sql-parser';
import { describe, expect, it } from 'vitest';
import { sqlFiles } from '../../functions/adapters/bigquery.js';
import { EXPORT_TABLE, SQL_ROOT, viewSql } from './view-ledger.js';

// The view files as BigQuery will take them: Standard SQL a BigQuery-dialect parser accepts,
// one view per file named after it, applied in an order where everything a view reads exists.
const bigQuery = new parser.Parser();
const VIEW_FILES = readdirSync(`${SQL_ROOT}/views`)
  .filter((f) => f.endsWith('.sql'))
  .sort();
const CREATED =
  /CREATE\s+(?:OR\s+REPLACE\s+)?(TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?`\$\{dataset\}\.(\w+)`/g;
const READ = /(?:FROM|JOIN)\s+`\$\{dataset\}\.(\w+)`/g;

function bound(sql: string): string {
  return sql.replaceAll('${dataset}', 'costguard').replaceAll('${project}', 'costguard-host');
}

function parse(sql: string): void {
  bigQuery.astify(bound(sql), { database: 'bigquery' });
}

describe('view SQL', () => {
  it.each(VIEW_FILES.filter((f) => f !== '70_billing_export.sql'))(
    '%s parses as BigQuery Standard SQL',
    (file) => {
      expect(() => parse(viewSql(file))).not.toThrow();
    },
  );

  it('70_billing_export.sql creates the stand-in only when absent, and its query parses', () => {
    // The parser knows CREATE OR REPLACE VIEW but not CREATE VIEW IF NOT EXISTS, which BigQuery
    // has; the statement's head is checked here and its query parsed on its own.
    const sql = viewSql('70_billing_export.sql');
    const head = /^CREATE VIEW IF NOT EXISTS `\$\{dataset\}\.billing_export` AS\n/m;
    expect(sql).toMatch(head);
    expect(() => parse(sql.slice(sql.search(head)).replace(head, ''))).not.toThrow();
  });

  it('the billing export binding parses once the export table is named', () => {
    const sql = viewSql('billing-export/billing_export.sql');
    expect(() => parse(sql.replace('${billing_export_table}', EXPORT_TABLE))).not.toThrow();
  });

  it.each(VIEW_FILES)('%s creates one view, named as the file', (file) => {
    const created = [...viewSql(file).matchAll(CREATED)].map((m) => `${m[1]} ${m[2]}`);
    expect(created).toEqual([`VIEW ${file.replace(/^\d+_/, '').replace(/\.sql$/, '')}`]);
  });

  it('applies views after tables, each after everything it reads', () => {
    const defined = new Set<string>();
    for (const file of [...sqlFiles(SQL_ROOT, 'tables'), ...sqlFiles(SQL_ROOT, 'views')]) {
      const reads = [...file.sql.matchAll(READ)].map((m) => m[1] as string);
      const undefinedReads = reads.filter((name) => !defined.has(name));
      expect({ file: file.name, undefinedReads }).toEqual({ file: file.name, undefinedReads: [] });
      for (const m of file.sql.matchAll(CREATED)) defined.add(m[2] as string);
    }
  });

  it('keeps views out of sql/tables', () => {
    const withViews = sqlFiles(SQL_ROOT, 'tables').filter((file) =>
      /CREATE\s+(OR\s+REPLACE\s+)?VIEW/i.test(file.sql),
    );
    expect(withViews.map((file) => file.name)).toEqual([]);
  });

  it('leaves the binding template out of the migration', () => {
    expect(sqlFiles(SQL_ROOT, 'views').map((f) => f.name)).not.toContain(
      'views/billing-export/billing_export.sql',
    );
  });
});
