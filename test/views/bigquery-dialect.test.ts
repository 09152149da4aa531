import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BigQueryEngine, numericText } from '../../functions/sandbox/bigquery-engine.js';
import { toDuckDbSql } from '../../functions/sandbox/bigquery-dialect.js';

// The BigQuery constructs the views rely on, run through the dialect layer on DuckDB and
// compared with what BigQuery returns for them.
const NOW = new Date('2026-11-20T12:00:00Z');

describe('BigQuery dialect on DuckDB', () => {
  let engine: BigQueryEngine;

  beforeAll(async () => {
    engine = await BigQueryEngine.create();
    await engine.createSchema('ds');
    await engine.query(
      `CREATE TABLE \`p.ds.lines\` (
         sku STRUCT<id STRING, description STRING>,
         credits ARRAY<STRUCT<name STRING, amount FLOAT64, type STRING>>
       )`,
      { now: NOW },
    );
    const columns = await engine.columns('ds', 'lines');
    await engine.insert('ds', 'lines', columns!, [
      {
        sku: { id: 'CF4E-A0C7-E3BF', description: 'E2 Instance Core running in Americas' },
        credits: [
          { name: 'Free trial', amount: -0.5, type: 'PROMOTION' },
          { name: 'Sustained use', amount: -0.25, type: 'SUSTAINED_USAGE_DISCOUNT' },
        ],
      },
      {
        sku: { id: 'F268-6CF1-4A8D', description: 'E2 Instance Ram running in Americas' },
        credits: [],
      },
    ]);
  });
  afterAll(() => engine.close());

  async function value(expression: string, now = NOW): Promise<unknown> {
    const result = await engine.query(`SELECT ${expression} AS v`, { now });
    return result.rows[0]?.[0];
  }

  it.each([
    {
      expression: "DATE_TRUNC(DATE(TIMESTAMP '2026-11-18 10:42:00'), MONTH)",
      expected: '2026-11-01',
    },
    {
      expression: "DATE_TRUNC(DATE_TRUNC(DATE '2026-11-18', MONTH), YEAR)",
      expected: '2026-01-01',
    },
    {
      expression: "TIMESTAMP_TRUNC(TIMESTAMP '2026-11-18 10:42:13', HOUR)",
      expected: '2026-11-18 10:00:00',
    },
    {
      expression: "DATE_TRUNC(DATE '2026-11-18', MONTH) = DATE_TRUNC(DATE '2026-11-30', MONTH)",
      expected: true,
    },
    {
      expression:
        "TIMESTAMP_DIFF(TIMESTAMP '2026-11-18 11:45:00', TIMESTAMP '2026-11-18 10:00:00', MINUTE)",
      expected: '105',
    },
    { expression: "DATE_DIFF(DATE '2026-11-20', DATE '2026-11-18', DAY)", expected: '2' },
    {
      expression: "DATE_DIFF(DATE '2026-11-20', DATE_TRUNC(DATE '2026-11-18', MONTH), DAY)",
      expected: '19',
    },
    { expression: 'DATE_SUB(CURRENT_DATE(), INTERVAL 2 DAY)', expected: '2026-11-18' },
    { expression: 'CURRENT_TIMESTAMP()', expected: '2026-11-20 12:00:00' },
    { expression: 'SAFE_DIVIDE(1, 0)', expected: null },
    {
      expression:
        "REGEXP_CONTAINS('Spot Preemptible N2 Instance Core running in EMEA', '\\\\bCore\\\\b')",
      expected: true,
    },
    {
      expression:
        "REGEXP_CONTAINS('Licensing Fee for SQL Server on VM with 8 cores', '\\\\bCore\\\\b')",
      expected: false,
    },
    {
      expression: "STARTS_WITH('Commitment v1: Ram in Americas for 1 Year', 'Commitment')",
      expected: true,
    },
    { expression: '(SELECT SUM(k) FROM UNNEST(GENERATE_ARRAY(1, 4)) AS k)', expected: '10' },
  ])('$expression is $expected', async ({ expression, expected }) => {
    expect(await value(expression)).toEqual(expected);
  });

  it('emits each DuckDB call once, however the BigQuery calls nest', () => {
    const sql = toDuckDbSql(
      'SELECT DATE_TRUNC(DATE_TRUNC(d, MONTH), YEAR), TIMESTAMP_DIFF(a, TIMESTAMP_TRUNC(b, HOUR), SECOND) FROM t',
      { now: NOW },
    );
    expect(sql.match(/date_trunc\(/g)).toHaveLength(3);
    expect(sql.match(/date_diff\(/g)).toHaveLength(1);
  });

  it('reads struct fields of array elements through UNNEST(...) AS alias', async () => {
    const result = await engine.query(
      `SELECT sku.description AS sku, IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) AS c), 0) AS credits
       FROM \`p.ds.lines\` ORDER BY sku`,
      { now: NOW },
    );
    expect(result.rows).toEqual([
      ['E2 Instance Core running in Americas', -0.75],
      ['E2 Instance Ram running in Americas', 0],
    ]);
  });

  it('evaluates CURRENT_DATE() in a view when the view is queried, as BigQuery does', async () => {
    await engine.query(
      'CREATE OR REPLACE VIEW `ds.today` AS SELECT CURRENT_DATE() AS today, CURRENT_TIMESTAMP() AS now',
      { now: NOW },
    );
    const at = async (now: string) =>
      (await engine.query('SELECT * FROM `ds.today`', { now: new Date(now) })).rows[0];
    expect(await at('2026-11-20T12:00:00Z')).toEqual(['2026-11-20', '2026-11-20 12:00:00']);
    expect(await at('2026-11-23T01:30:00Z')).toEqual(['2026-11-23', '2026-11-23 01:30:00']);
  });

  it('creates a view only when absent with CREATE VIEW IF NOT EXISTS', async () => {
    await engine.query('CREATE VIEW IF NOT EXISTS `ds.standin` AS SELECT 1 AS first', { now: NOW });
    await engine.query('CREATE VIEW IF NOT EXISTS `ds.standin` AS SELECT 2 AS second', {
      now: NOW,
    });
    const result = await engine.query('SELECT * FROM `ds.standin`', { now: NOW });
    expect(result.fields.map((f) => f.name)).toEqual(['first']);
  });

  it('returns the last statement of a script, as before the clock was set per statement', async () => {
    const result = await engine.query(
      'CREATE TEMP TABLE t AS SELECT 1 AS x; INSERT INTO t VALUES (2); SELECT SUM(x) AS total FROM t',
      { now: NOW },
    );
    expect(result).toMatchObject({ statementType: 'SELECT', rows: [['3']] });
  });
});

describe('NUMERIC values as BigQuery takes them', () => {
  it.each([
    { text: '12', plain: '12' },
    { text: '-1.50', plain: '-1.5' },
    { text: '+.5', plain: '0.5' },
    { text: '5.', plain: '5' },
    { text: '1.5e3', plain: '1500' },
    { text: '2E-4', plain: '0.0002' },
    { text: '1e-9', plain: '0.000000001' },
    { text: '-0.0', plain: '0' },
    {
      text: '99999999999999999999999999999.999999999',
      plain: '99999999999999999999999999999.999999999',
    },
  ])('reads $text as $plain', ({ text, plain }) => {
    expect(numericText(text, 'amount')).toBe(plain);
  });

  it.each([
    { text: '1e300' },
    { text: '100000000000000000000000000000' },
    { text: '0.0000000001' },
    { text: '1.2.3' },
    { text: 'e5' },
    { text: '' },
  ])('refuses $text as BigQuery does', ({ text }) => {
    expect(() => numericText(text, 'amount')).toThrow(/Invalid NUMERIC value/);
  });
});
