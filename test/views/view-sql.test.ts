import { readdirSync } from 'node:fs';
import parser from 'node-sql-parser';
import { describe, expect, it } from 'vitest';
import { bindSql, migrationFiles, sqlFiles } from '../../functions/adapters/bigquery.js';
import { ledgerObjects } from '../../deploy/summary.js';
import { EXPORT_TABLE, SQL_ROOT, viewSql } from './view-ledger.js';

// The view files as BigQuery will take them: Standard SQL a BigQuery-dialect parser accepts,
// one view per file named after it, applied in an order where everything a view reads exists.
const bigQuery = new parser.Parser();
const VIEW_FILES = readdirSync(`${SQL_ROOT}/views`)
  .filter((f) => f.endsWith('.sql'))
  .sort();
const READ = /(?:FROM|JOIN)\s+`\$\{dataset\}\.(\w+)`/g;

function parse(sql: string): void {
  bigQuery.astify(bindSql(sql, { project: 'costguard-host', dataset: 'costguard' }), {
    database: 'bigquery',
  });
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
    expect(ledgerObjects([{ name: file, sql: viewSql(file) }])).toEqual({
      views: [file.replace(/^\d+_/, '').replace(/\.sql$/, '')],
      tables: [],
    });
  });

  it('applies views after tables, each after everything it reads', () => {
    const defined = new Set<string>();
    for (const file of migrationFiles(SQL_ROOT)) {
      const reads = [...file.sql.matchAll(READ)].map((m) => m[1] as string);
      const undefinedReads = reads.filter((name) => !defined.has(name));
      expect({ file: file.name, undefinedReads }).toEqual({ file: file.name, undefinedReads: [] });
      const { views, tables } = ledgerObjects([file]);
      for (const name of [...views, ...tables]) defined.add(name);
    }
  });

  it('keeps views out of sql/tables', () => {
    const withViews = sqlFiles(SQL_ROOT, 'tables').filter((file) =>
      /CREATE\s+(OR\s+REPLACE\s+)?VIEW/i.test(file.sql),
    );
    expect(withViews.map((file) => file.name)).toEqual([]);
  });

  it('leaves the binding template out of the migration', () => {
    const placeholder = '${billing_export_table}';
    expect(viewSql('billing-export/billing_export.sql')).toContain(placeholder);
    expect(
      migrationFiles(SQL_ROOT)
        .filter((file) => file.sql.includes(placeholder))
        .map((file) => file.name),
    ).toEqual([]);
  });
});
