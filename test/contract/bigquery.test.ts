import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Ledger, LoadRows, type KeyedRow } from '../../functions/adapters/bigquery.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';

const SQL_ROOT = fileURLToPath(new URL('./sql', import.meta.url));

function reading(i: number, cost: string, recordedAt = '2026-11-20T01:00:00Z'): KeyedRow {
  const hour = new Date(Date.parse('2026-11-19T00:00:00Z') + (i % 24) * 3_600_000).toISOString();
  return {
    key: `p/${i}`,
    row: {
      row_key: `p/${i}`,
      reading_hour: hour,
      project_id: i % 2 === 0 ? 'ml-training-prod' : 'data-pipelines',
      cost,
      tags: ['a', 'b'],
      detail: { source: 'catalog', attempts: 1 },
      labels: { team: 'vision' },
      recorded_at: recordedAt,
    },
  };
}

// The real @google-cloud/bigquery client against the sandbox's BigQuery on DuckDB.
describe('BigQuery contract', () => {
  let sandbox: Sandbox;
  let ledger: Ledger;

  beforeEach(async () => {
    sandbox = await startTestSandbox();
    const runtime = sandboxRuntime(sandbox);
    ledger = new Ledger(() => runtime.clients.bigquery('ml-training-prod', 'US'), {
      project: 'ml-training-prod',
      dataset: 'costguard_test',
      location: 'US',
      logger: runtime.logger,
      sqlRoot: SQL_ROOT,
      retry: { baseDelayMs: 1 },
    });
    await ledger.migrate();
  });
  afterEach(() => sandbox.close());

  it('applies the migration idempotently: dataset, partitioned table and view', async () => {
    expect(await ledger.migrate()).toEqual([
      'tables/01_readings.sql',
      'views/01_latest_readings.sql',
    ]);
    const runtime = sandboxRuntime(sandbox);
    const bq = await runtime.clients.bigquery('ml-training-prod', 'US');
    const [tables] = await bq.dataset('costguard_test').getTables();
    expect(tables.map((t) => t.id).sort()).toEqual(['latest_readings', 'readings']);
    const [metadata] = await bq.dataset('costguard_test').table('readings').getMetadata();
    const fields = (
      metadata as { schema: { fields: Array<{ name: string; type: string; mode: string }> } }
    ).schema.fields;
    expect(fields.map((f) => `${f.name}:${f.type}:${f.mode}`)).toEqual([
      'row_key:STRING:REQUIRED',
      'reading_hour:TIMESTAMP:REQUIRED',
      'project_id:STRING:NULLABLE',
      'cost:NUMERIC:NULLABLE',
      'tags:STRING:REPEATED',
      'detail:RECORD:NULLABLE',
      'labels:JSON:NULLABLE',
      'recorded_at:TIMESTAMP:REQUIRED',
    ]);
  });

  it('inserts in requests of at most 500 rows and reads sums back with parameters', async () => {
    const rows = Array.from({ length: 1201 }, (_, i) => reading(i, '0.125'));
    expect(await ledger.insert('readings', rows)).toEqual({ inserted: 1201, requests: 3 });
    expect(sandbox.calls.filter((c) => c.route === 'bigquery.tabledata.insertAll')).toHaveLength(3);
    const [total] = await ledger.query<{ rows: number; cost: { toString(): string } }>(
      'SELECT COUNT(*) AS rows, SUM(cost) AS cost FROM `${dataset}.readings` WHERE project_id = @project',
      { project: 'ml-training-prod' },
    );
    expect([total?.rows, total?.cost.toString()]).toEqual([601, '75.125']);
  });

  it('de-duplicates a retried request by insertId and re-recorded rows through the view', async () => {
    sandbox.faults.set('bigquery.tabledata.insertAll', { fail: { count: 1, status: 503 } });
    await ledger.insert('readings', [reading(1, '2.5'), reading(2, '1.25')]);
    await ledger.insert('readings', [reading(1, '2.5')]); // the same request again, within the window
    sandbox.clock.advance(3_600_000);
    await ledger.insert('readings', [reading(1, '3', '2026-11-20T02:00:00Z')]); // re-recorded later
    const [raw] = await ledger.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM `${dataset}.readings`',
    );
    expect(raw?.n).toBe(3);
    const view = await ledger.query<{
      row_key: string;
      cost: { toString(): string };
      tags: string[];
      detail: unknown;
      labels: unknown;
    }>(
      'SELECT row_key, cost, tags, detail, labels FROM `${dataset}.latest_readings` ORDER BY row_key',
    );
    expect(view.map((r) => [r.row_key, r.cost.toString(), r.tags, r.detail, r.labels])).toEqual([
      ['p/1', '3', ['a', 'b'], { source: 'catalog', attempts: 1 }, '{"team":"vision"}'],
      ['p/2', '1.25', ['a', 'b'], { source: 'catalog', attempts: 1 }, '{"team":"vision"}'],
    ]);
  });

  it('rejects an invalid row without inserting the batch', async () => {
    await expect(
      ledger.insert('readings', [
        reading(1, '1.5'),
        { key: 'bad', row: { ...reading(2, '1').row, cost: 'lots' } },
      ]),
    ).rejects.toThrow('Rows rejected by readings: Invalid NUMERIC value: cost=lots');
    const [raw] = await ledger.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM `${dataset}.readings`',
    );
    expect(raw?.n).toBe(0);
  });

  it('loads rows with one load job, all of them, and reads their sums back', async () => {
    const rows = new LoadRows();
    rows.add(Array.from({ length: 1201 }, (_, i) => reading(i, '0.125')));
    const before = sandbox.calls.length;
    expect(await ledger.load('readings', rows)).toEqual({ loaded: 1201, uploads: 1 });
    // One upload, then the client reads the job's status until it is DONE.
    expect(sandbox.calls.slice(before).map((c) => c.route)).toEqual([
      'bigquery.jobs.load',
      'bigquery.jobs.get',
    ]);
    const [total] = await ledger.query<{ rows: number; cost: { toString(): string } }>(
      'SELECT COUNT(*) AS rows, SUM(cost) AS cost FROM `${dataset}.readings` WHERE project_id = @project',
      { project: 'ml-training-prod' },
    );
    expect([total?.rows, total?.cost.toString()]).toEqual([601, '75.125']);
    const [typed] = await ledger.query<{ tags: string[]; detail: unknown; hour: string }>(
      "SELECT tags, detail, FORMAT_TIMESTAMP('%Y-%m-%dT%H', reading_hour) AS hour FROM `${dataset}.readings` WHERE row_key = 'p/3'",
    );
    expect(typed).toEqual({
      tags: ['a', 'b'],
      detail: { source: 'catalog', attempts: 1 },
      hour: '2026-11-19T03',
    });
  });

  it('loads rows whose JSON lines fill several buffers, each row once and whole', async () => {
    // About 1.2 KB a row: 2,000 rows span three 1 MiB buffers, lines cut at no boundary.
    const wide = (i: number): KeyedRow => {
      const row = reading(i, '0.5');
      return {
        ...row,
        row: { ...row.row, labels: { team: 'vision', note: 'x'.repeat(1_000 + (i % 7)) } },
      };
    };
    const rows = new LoadRows();
    rows.add(Array.from({ length: 2_000 }, (_, i) => wide(i)));
    const text = Buffer.concat(rows.bytes()).toString();
    expect(rows.bytes().length).toBeGreaterThanOrEqual(3);
    expect(text).toBe(
      Array.from({ length: 2_000 }, (_, i) => JSON.stringify(wide(i).row)).join('\n'),
    );

    expect(await ledger.load('readings', rows)).toEqual({ loaded: 2_000, uploads: 1 });
    const [total] = await ledger.query<{ rows: number; cost: { toString(): string } }>(
      'SELECT COUNT(DISTINCT row_key) AS rows, SUM(cost) AS cost FROM `${dataset}.readings`',
    );
    expect([total?.rows, total?.cost.toString()]).toEqual([2_000, '1000']);
  });

  it('loads the same rows once when the upload is repeated: the job id is taken', async () => {
    const rows = new LoadRows();
    rows.add([reading(1, '2.5'), reading(2, '1.25')]);
    await ledger.load('readings', rows);
    // The retry of an upload whose answer was lost: BigQuery answers 409 for the job id.
    expect(await ledger.load('readings', rows)).toEqual({ loaded: 2, uploads: 1 });
    expect(sandbox.calls.map((c) => `${c.route} ${c.status}`).slice(-4)).toEqual([
      'bigquery.jobs.load 200',
      'bigquery.jobs.get 200',
      'bigquery.jobs.load 409',
      'bigquery.jobs.get 200',
    ]);
    const [total] = await ledger.query<{ n: number; cost: { toString(): string } }>(
      'SELECT COUNT(*) AS n, SUM(cost) AS cost FROM `${dataset}.readings`',
    );
    expect([total?.n, total?.cost.toString()]).toEqual([2, '3.75']);
  });

  it('retries a failed upload and loads its rows once', async () => {
    sandbox.faults.set('bigquery.jobs.load', { fail: { count: 1, status: 503 } });
    const rows = new LoadRows();
    rows.add([reading(1, '2.5')]);
    expect(await ledger.load('readings', rows)).toEqual({ loaded: 1, uploads: 2 });
    const [total] = await ledger.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM `${dataset}.readings`',
    );
    expect(total?.n).toBe(1);
  });

  it('refuses a load with an invalid row and writes none of its rows', async () => {
    const rows = new LoadRows();
    rows.add([reading(1, '1.5'), { key: 'bad', row: { ...reading(2, '1').row, cost: 'lots' } }]);
    await expect(ledger.load('readings', rows)).rejects.toThrow(
      /^Rows rejected by readings: .*Invalid NUMERIC value: cost=lots/,
    );
    const [raw] = await ledger.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM `${dataset}.readings`',
    );
    expect(raw?.n).toBe(0);
  });

  it('names the migration when the load target does not exist', async () => {
    const rows = new LoadRows();
    rows.add([reading(1, '1.5')]);
    await expect(ledger.load('no_such_table', rows)).rejects.toThrow(
      'Table costguard_test.no_such_table does not exist; run the migration',
    );
  });

  it('runs MERGE through a query job and reports the affected rows', async () => {
    await ledger.insert('readings', [reading(1, '1')]);
    const affected = await ledger.execute(
      `MERGE \`\${dataset}.readings\` t
       USING (SELECT @key AS row_key, NUMERIC '9.5' AS cost) s ON t.row_key = s.row_key
       WHEN MATCHED THEN UPDATE SET cost = s.cost`,
      { key: 'p/1' },
    );
    expect(affected).toBe(1);
    const [row] = await ledger.query<{ cost: { toString(): string } }>(
      'SELECT cost FROM `${dataset}.readings`',
    );
    expect(row?.cost.toString()).toBe('9.5');
  });

  it('pages large results through getQueryResults', async () => {
    await ledger.insert(
      'readings',
      Array.from({ length: 120 }, (_, i) => reading(i, '1')),
    );
    const runtime = sandboxRuntime(sandbox);
    const bq = await runtime.clients.bigquery('ml-training-prod', 'US');
    const [job] = await bq.createQueryJob({
      query: 'SELECT row_key FROM `costguard_test.readings` ORDER BY row_key',
    });
    const keys: string[] = [];
    let query: Record<string, unknown> | null | undefined = { maxResults: 50, autoPaginate: false };
    while (query) {
      const [rows, next]: [Array<{ row_key: string }>, Record<string, unknown> | null | undefined] =
        (await job.getQueryResults(query)) as never;
      keys.push(...rows.map((r) => r.row_key));
      query = next;
    }
    expect(keys).toHaveLength(120);
    expect(new Set(keys).size).toBe(120);
    expect(
      sandbox.calls.filter((c) => c.route === 'bigquery.jobs.getQueryResults').length,
    ).toBeGreaterThanOrEqual(3);
  });

  it('hands a large result over page by page as text, each page read once and a failed one retried', async () => {
    await ledger.insert(
      'readings',
      Array.from({ length: 120 }, (_, i) => reading(i, '1')),
    );
    sandbox.faults.set('bigquery.jobs.getQueryResults', { fail: { count: 1, status: 503 } });
    const before = sandbox.calls.length;
    const pages: string[][] = [];
    const costs = new Set<string | null>();

    const { pages: count } = await ledger.queryPages(
      'SELECT row_key, cost, tags[OFFSET(0)] AS tag FROM `${dataset}.readings` WHERE project_id = @project ORDER BY row_key',
      { project: 'ml-training-prod' },
      {},
      25,
      (rows) => {
        pages.push(rows.map((r) => r.row_key ?? ''));
        for (const r of rows) costs.add(`${r.cost}/${r.tag}`);
      },
    );

    // 60 rows of one project in pages of 25: the query's answer, then two pages of its job.
    expect(count).toBe(3);
    expect(pages.map((p) => p.length)).toEqual([25, 25, 10]);
    const keys = pages.flat();
    expect(new Set(keys).size).toBe(60);
    expect(keys).toEqual([...keys].sort());
    // Each value as BigQuery's JSON text.
    expect([...costs]).toEqual(['1/a']);
    expect(sandbox.calls.slice(before).map((c) => `${c.route} ${c.status}`)).toEqual([
      'bigquery.jobs.query 200',
      'bigquery.jobs.getQueryResults 503',
      'bigquery.jobs.getQueryResults 200',
      'bigquery.jobs.getQueryResults 200',
    ]);
  });

  it('creates a table from a schema and reads typed rows back', async () => {
    const runtime = sandboxRuntime(sandbox);
    const bq = await runtime.clients.bigquery('ml-training-prod', 'US');
    const [table] = await bq.dataset('costguard_test').createTable('from_schema', {
      schema: {
        fields: [
          { name: 'project_id', type: 'STRING', mode: 'REQUIRED' },
          { name: 'hours', type: 'INTEGER' },
          { name: 'cost', type: 'NUMERIC' },
          { name: 'detail', type: 'RECORD', fields: [{ name: 'source', type: 'STRING' }] },
        ],
      },
    });
    await table.insert([
      { project_id: 'ml-training-prod', hours: 3, cost: '4.25', detail: { source: 'catalog' } },
    ]);
    const [rows] = await bq.query({
      query: 'SELECT project_id, hours, cost, detail FROM `costguard_test.from_schema`',
      wrapIntegers: false,
    });
    expect(
      rows.map(
        (r: {
          project_id: string;
          hours: number;
          cost: { toString(): string };
          detail: unknown;
        }) => [r.project_id, r.hours, r.cost.toString(), r.detail],
      ),
    ).toEqual([['ml-training-prod', 3, '4.25', { source: 'catalog' }]]);
    await expect(table.insert([{ hours: 1 }])).rejects.toMatchObject({
      name: 'PartialFailureError',
    });
  });

  it('answers a broken query with a 400 the client surfaces', async () => {
    await expect(ledger.query('SELECT nope FROM `${dataset}.readings`')).rejects.toThrow(
      /Query error/,
    );
  });
});
