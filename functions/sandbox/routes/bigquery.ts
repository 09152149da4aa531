/**
 * BigQuery v2 on embedded DuckDB: datasets, tables, `tabledata.insertAll` (with BigQuery's
 * best-effort insertId de-duplication over a short window), `jobs.query`, `jobs.insert`,
 * `jobs.get` and `jobs.getQueryResults`, and load jobs of newline-delimited JSON uploaded as
 * `multipart/related` (all rows or none, a job id taken once). Queries are BigQuery SQL run
 * through the dialect layer.
 */

import { randomUUID } from 'node:crypto';
import { errorMessage } from '../../core/errors.js';
import { BigQueryEngine, type BigQueryField, type QueryResult } from '../bigquery-engine.js';
import type { QueryParameter } from '../bigquery-dialect.js';
import {
  asRecord,
  fail,
  multipartUpload,
  notFound,
  route,
  type SandboxRequest,
  textOf,
} from '../http.js';
import type { Sandbox, SandboxModule } from '../sandbox.js';

const INSERT_ID_WINDOW_MS = 60_000;

interface BigQueryState {
  engine: BigQueryEngine | undefined;
  datasets: Map<string, { projectId: string; location: string; created: number }>;
  recentInsertIds: Map<string, Map<string, number>>;
  jobs: Map<string, { projectId: string; result: QueryResult; created: number; query: string }>;
  /** Load jobs as the API renders them, by job id. */
  loads: Map<string, Record<string, unknown>>;
}

export function bigQueryState(sandbox: Sandbox): BigQueryState {
  return sandbox.extension<BigQueryState>('bigquery', () => ({
    engine: undefined,
    datasets: new Map(),
    recentInsertIds: new Map(),
    jobs: new Map(),
    loads: new Map(),
  }));
}

export function bigQueryEngine(sandbox: Sandbox): BigQueryEngine {
  const engine = bigQueryState(sandbox).engine;
  if (!engine) throw new Error('BigQuery engine is not started');
  return engine;
}

async function requireDataset(
  sandbox: Sandbox,
  projectId: string,
  datasetId: string,
): Promise<void> {
  if (!(await bigQueryEngine(sandbox).schemaExists(datasetId))) {
    fail(404, `Not found: Dataset ${projectId}:${datasetId}`, 'notFound');
  }
}

function renderDataset(
  projectId: string,
  datasetId: string,
  location: string,
  created: number,
): Record<string, unknown> {
  return {
    kind: 'bigquery#dataset',
    id: `${projectId}:${datasetId}`,
    datasetReference: { projectId, datasetId },
    location,
    creationTime: String(created),
  };
}

function renderTable(
  projectId: string,
  datasetId: string,
  tableId: string,
  fields: BigQueryField[],
  view: boolean,
  numRows: number,
): Record<string, unknown> {
  return {
    kind: 'bigquery#table',
    id: `${projectId}:${datasetId}.${tableId}`,
    tableReference: { projectId, datasetId, tableId },
    schema: { fields },
    type: view ? 'VIEW' : 'TABLE',
    ...(view ? {} : { numRows: String(numRows) }),
  };
}

const BIGQUERY_TO_DUCKDB: Record<string, string> = {
  STRING: 'VARCHAR',
  INTEGER: 'BIGINT',
  INT64: 'BIGINT',
  FLOAT: 'DOUBLE',
  FLOAT64: 'DOUBLE',
  NUMERIC: 'DECIMAL(38, 9)',
  BIGNUMERIC: 'DECIMAL(38, 9)',
  BOOLEAN: 'BOOLEAN',
  BOOL: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMP',
  DATETIME: 'TIMESTAMP',
  DATE: 'DATE',
  JSON: 'JSON',
  BYTES: 'BLOB',
};

function columnType(field: BigQueryField): string {
  let type: string;
  if (field.type === 'RECORD' || field.type === 'STRUCT') {
    type = `STRUCT(${(field.fields ?? []).map((f) => `\`${f.name}\` ${columnType(f)}`).join(', ')})`;
  } else {
    const mapped = BIGQUERY_TO_DUCKDB[field.type.toUpperCase()];
    if (!mapped) fail(400, `Unsupported field type ${field.type}`);
    type = mapped;
  }
  return field.mode === 'REPEATED' ? `${type}[]` : type;
}

/** A query result as the REST API returns it: schema plus rows of `{f: [{v}]}`. */
function renderValue(value: unknown, field: BigQueryField, int64Timestamps: boolean): unknown {
  if (value === null || value === undefined) return null;
  if (field.mode === 'REPEATED') {
    return (value as unknown[]).map((v) => ({
      v: renderValue(v, { ...field, mode: 'NULLABLE' }, int64Timestamps),
    }));
  }
  switch (field.type) {
    case 'RECORD': {
      const record = value as Record<string, unknown>;
      return {
        f: (field.fields ?? []).map((f) => ({
          v: renderValue(record[f.name], f, int64Timestamps),
        })),
      };
    }
    case 'TIMESTAMP': {
      const ms = Date.parse(`${textOf(value).replace(' ', 'T')}Z`);
      const fraction = /\.(\d+)$/.exec(textOf(value))?.[1] ?? '';
      const micros =
        BigInt(Math.floor(ms / 1000)) * 1_000_000n + BigInt((fraction + '000000').slice(0, 6));
      return int64Timestamps ? micros.toString() : (Number(micros) / 1e6).toString();
    }
    case 'NUMERIC': {
      const text = textOf(value);
      return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
    }
    case 'JSON':
      return typeof value === 'string' ? value : JSON.stringify(value);
    default:
      return textOf(value);
  }
}

function renderRows(result: QueryResult, rows: unknown[][], int64Timestamps: boolean): unknown[] {
  return rows.map((row) => ({
    f: result.fields.map((field, i) => ({ v: renderValue(row[i], field, int64Timestamps) })),
  }));
}

function parameters(body: Record<string, unknown>): Record<string, QueryParameter> {
  const out: Record<string, QueryParameter> = {};
  const list = (body.queryParameters ?? []) as Array<{
    name?: string;
    parameterType?: { type?: string; arrayType?: { type?: string } };
    parameterValue?: { value?: string | null; arrayValues?: Array<{ value?: string | null }> };
  }>;
  for (const p of list) {
    if (!p.name) fail(400, 'Positional query parameters are not supported by the sandbox');
    const type = p.parameterType?.type ?? 'STRING';
    out[p.name] =
      type === 'ARRAY'
        ? {
            type,
            arrayType: p.parameterType?.arrayType?.type ?? 'STRING',
            value: (p.parameterValue?.arrayValues ?? []).map((v) => v.value ?? null),
          }
        : { type, value: p.parameterValue?.value ?? null };
  }
  return out;
}

async function runQuery(
  sandbox: Sandbox,
  projectId: string,
  query: string,
  body: Record<string, unknown>,
  requestedJobId?: string,
): Promise<{ jobId: string; result: QueryResult }> {
  if (body.useLegacySql === true)
    fail(400, 'The sandbox runs Standard SQL only (useLegacySql: false)');
  let result: QueryResult;
  try {
    result = await bigQueryEngine(sandbox).query(query, {
      now: sandbox.clock.now(),
      params: parameters(body),
    });
  } catch (error) {
    fail(400, `Query error: ${errorMessage(error)}`, 'invalidQuery');
  }
  const jobId = requestedJobId ?? `job_${randomUUID().replace(/-/g, '')}`;
  bigQueryState(sandbox).jobs.set(jobId, {
    projectId,
    result,
    created: sandbox.clock.nowMs(),
    query,
  });
  return { jobId, result };
}

function resultsPage(
  request: SandboxRequest,
  result: QueryResult,
  body: Record<string, unknown> = {},
): Record<string, unknown> {
  const max = Number(body.maxResults ?? request.query.get('maxResults') ?? 100_000) || 100_000;
  const token = request.query.get('pageToken');
  const start = token ? Number(token) : Number(request.query.get('startIndex') ?? 0);
  const slice = result.rows.slice(start, start + max);
  const formatOptions = (body.formatOptions ?? {}) as { useInt64Timestamp?: boolean };
  const int64 =
    formatOptions.useInt64Timestamp === true ||
    request.query.get('formatOptions.useInt64Timestamp') === 'true';
  return {
    schema: { fields: result.fields },
    rows: renderRows(result, slice, int64),
    totalRows: String(result.rows.length),
    ...(start + max < result.rows.length ? { pageToken: String(start + max) } : {}),
    jobComplete: true,
    ...(result.affectedRows ||
    ['INSERT', 'UPDATE', 'DELETE', 'MERGE'].includes(result.statementType)
      ? { numDmlAffectedRows: String(result.affectedRows) }
      : {}),
  };
}

function jobResource(
  projectId: string,
  jobId: string,
  query: string,
  result: QueryResult,
  created: number,
): Record<string, unknown> {
  return {
    kind: 'bigquery#job',
    id: `${projectId}:US.${jobId}`,
    jobReference: { projectId, jobId, location: 'US' },
    configuration: { query: { query, useLegacySql: false }, jobType: 'QUERY' },
    status: { state: 'DONE' },
    statistics: {
      creationTime: String(created),
      startTime: String(created),
      endTime: String(created),
      query: {
        statementType: result.statementType,
        numDmlAffectedRows: String(result.affectedRows),
      },
    },
  };
}

function jobIdTaken(sandbox: Sandbox, jobId: string): boolean {
  const state = bigQueryState(sandbox);
  return state.jobs.has(jobId) || state.loads.has(jobId);
}

interface JobError {
  reason: string;
  message: string;
  location?: string;
}

/**
 * Carries out a load of newline-delimited JSON into an existing table, all rows or none: a bad
 * line or row fails the job (beyond `maxBadRecords`, default 0) and nothing is written, as in
 * BigQuery. The job's errors say which lines were refused.
 */
async function runLoad(
  sandbox: Sandbox,
  load: Record<string, unknown>,
  text: string,
): Promise<{ loaded: number; error?: JobError; errors: JobError[] }> {
  const destination = (load.destinationTable ?? {}) as { datasetId?: string; tableId?: string };
  const format = load.sourceFormat ?? 'CSV';
  if (format !== 'NEWLINE_DELIMITED_JSON') {
    fail(400, `The sandbox loads NEWLINE_DELIMITED_JSON only, not ${textOf(format)}`);
  }
  if (load.writeDisposition !== undefined && load.writeDisposition !== 'WRITE_APPEND') {
    fail(400, 'The sandbox loads with writeDisposition WRITE_APPEND only');
  }
  const { datasetId, tableId } = destination;
  if (!datasetId || !tableId) fail(400, 'A load job needs configuration.load.destinationTable');
  const engine = bigQueryEngine(sandbox);
  const columns = await engine.columns(datasetId, tableId);
  if (!columns) {
    const error = { reason: 'notFound', message: `Not found: Table ${datasetId}.${tableId}` };
    return { loaded: 0, error, errors: [error] };
  }
  const ignoreUnknown = load.ignoreUnknownValues === true;
  const maxBad = Number(load.maxBadRecords ?? 0);
  const rows: Array<Record<string, unknown>> = [];
  const errors: JobError[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      errors.push({ reason: 'invalid', location: `line ${i + 1}`, message: 'Invalid JSON' });
      return;
    }
    const problem =
      typeof row === 'object' && row !== null && !Array.isArray(row)
        ? BigQueryEngine.rowProblem(columns, row as Record<string, unknown>, ignoreUnknown)
        : 'a row must be a JSON object';
    if (problem) errors.push({ reason: 'invalid', location: `line ${i + 1}`, message: problem });
    else rows.push(stripUnknown(row as Record<string, unknown>, columns.names));
  });
  if (errors.length > maxBad) {
    return {
      loaded: 0,
      error: {
        reason: 'invalid',
        message: `Error while reading data, error message: JSON table encountered too many errors, giving up. Rows: ${errors.length}; errors: ${errors.length}.`,
      },
      errors,
    };
  }
  await engine.insert(datasetId, tableId, columns, rows);
  return { loaded: rows.length, errors };
}

const routes = [
  route<Sandbox>(
    'bigquery.datasets.insert',
    'POST',
    '/bigquery/v2/projects/{project}/datasets',
    async (request, sandbox) => {
      const body = asRecord(request.body);
      const ref = (body.datasetReference ?? {}) as { datasetId?: string };
      const datasetId = ref.datasetId;
      if (!datasetId || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(datasetId))
        fail(400, 'Invalid dataset ID');
      const projectId = request.params.project as string;
      if (await bigQueryEngine(sandbox).schemaExists(datasetId))
        fail(409, `Already Exists: Dataset ${projectId}:${datasetId}`, 'duplicate');
      await bigQueryEngine(sandbox).createSchema(datasetId);
      const location = typeof body.location === 'string' ? body.location : 'US';
      const created = sandbox.clock.nowMs();
      bigQueryState(sandbox).datasets.set(datasetId, { projectId, location, created });
      return { body: renderDataset(projectId, datasetId, location, created) };
    },
  ),
  route<Sandbox>(
    'bigquery.datasets.get',
    'GET',
    '/bigquery/v2/projects/{project}/datasets/{dataset}',
    async (request, sandbox) => {
      const { project, dataset } = request.params as { project: string; dataset: string };
      await requireDataset(sandbox, project, dataset);
      const meta = bigQueryState(sandbox).datasets.get(dataset);
      return { body: renderDataset(project, dataset, meta?.location ?? 'US', meta?.created ?? 0) };
    },
  ),
  route<Sandbox>(
    'bigquery.datasets.delete',
    'DELETE',
    '/bigquery/v2/projects/{project}/datasets/{dataset}',
    async (request, sandbox) => {
      const { project, dataset } = request.params as { project: string; dataset: string };
      await requireDataset(sandbox, project, dataset);
      if (
        request.query.get('deleteContents') !== 'true' &&
        (await bigQueryEngine(sandbox).tables(dataset)).length > 0
      ) {
        fail(400, `Dataset ${project}:${dataset} is still in use`, 'resourceInUse');
      }
      await bigQueryEngine(sandbox).dropSchema(dataset);
      bigQueryState(sandbox).datasets.delete(dataset);
      return { status: 204 };
    },
  ),
  route<Sandbox>(
    'bigquery.tables.insert',
    'POST',
    '/bigquery/v2/projects/{project}/datasets/{dataset}/tables',
    async (request, sandbox) => {
      const { project, dataset } = request.params as { project: string; dataset: string };
      await requireDataset(sandbox, project, dataset);
      const body = asRecord(request.body);
      const tableId = ((body.tableReference ?? {}) as { tableId?: string }).tableId;
      if (!tableId || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(tableId)) fail(400, 'Invalid table ID');
      const engine = bigQueryEngine(sandbox);
      if ((await engine.tables(dataset)).some((t) => t.name === tableId))
        fail(409, `Already Exists: Table ${project}:${dataset}.${tableId}`, 'duplicate');
      const view = (body.view as { query?: string } | undefined)?.query;
      const sql = view
        ? `CREATE VIEW \`${dataset}.${tableId}\` AS ${view}`
        : `CREATE TABLE \`${dataset}.${tableId}\` (${(((body.schema ?? {}) as { fields?: BigQueryField[] }).fields ?? []).map((f) => `\`${f.name}\` ${columnType(f)}${f.mode === 'REQUIRED' ? ' NOT NULL' : ''}`).join(', ')})`;
      try {
        await engine.query(sql, { now: sandbox.clock.now() });
      } catch (error) {
        fail(400, errorMessage(error));
      }
      const fields = (await engine.schema(dataset, tableId)) ?? [];
      return { body: renderTable(project, dataset, tableId, fields, Boolean(view), 0) };
    },
  ),
  route<Sandbox>(
    'bigquery.tables.list',
    'GET',
    '/bigquery/v2/projects/{project}/datasets/{dataset}/tables',
    async (request, sandbox) => {
      const { project, dataset } = request.params as { project: string; dataset: string };
      await requireDataset(sandbox, project, dataset);
      const tables = await bigQueryEngine(sandbox).tables(dataset);
      return {
        body: {
          kind: 'bigquery#tableList',
          tables: tables.map((t) => ({
            kind: 'bigquery#table',
            id: `${project}:${dataset}.${t.name}`,
            tableReference: { projectId: project, datasetId: dataset, tableId: t.name },
            type: t.view ? 'VIEW' : 'TABLE',
          })),
          totalItems: tables.length,
        },
      };
    },
  ),
  route<Sandbox>(
    'bigquery.tables.get',
    'GET',
    '/bigquery/v2/projects/{project}/datasets/{dataset}/tables/{table}',
    async (request, sandbox) => {
      const { project, dataset, table } = request.params as {
        project: string;
        dataset: string;
        table: string;
      };
      const engine = bigQueryEngine(sandbox);
      const entry = (await engine.tables(dataset)).find((t) => t.name === table);
      if (!entry) notFound(`Table ${project}:${dataset}.${table}`);
      const fields = (await engine.schema(dataset, table)) ?? [];
      return {
        body: renderTable(
          project,
          dataset,
          table,
          fields,
          entry.view,
          entry.view ? 0 : await engine.count(dataset, table),
        ),
      };
    },
  ),
  route<Sandbox>(
    'bigquery.tables.delete',
    'DELETE',
    '/bigquery/v2/projects/{project}/datasets/{dataset}/tables/{table}',
    async (request, sandbox) => {
      const { project, dataset, table } = request.params as {
        project: string;
        dataset: string;
        table: string;
      };
      const engine = bigQueryEngine(sandbox);
      const entry = (await engine.tables(dataset)).find((t) => t.name === table);
      if (!entry) notFound(`Table ${project}:${dataset}.${table}`);
      await engine.query(`DROP ${entry.view ? 'VIEW' : 'TABLE'} \`${dataset}.${table}\``, {
        now: sandbox.clock.now(),
      });
      return { status: 204 };
    },
  ),
  route<Sandbox>(
    'bigquery.tabledata.insertAll',
    'POST',
    '/bigquery/v2/projects/{project}/datasets/{dataset}/tables/{table}/insertAll',
    async (request, sandbox) => {
      const { project, dataset, table } = request.params as {
        project: string;
        dataset: string;
        table: string;
      };
      const engine = bigQueryEngine(sandbox);
      const columns = await engine.columns(dataset, table);
      if (!columns) notFound(`Table ${project}:${dataset}.${table}`);
      const body = asRecord(request.body);
      const rows = (body.rows ?? []) as Array<{
        insertId?: string;
        json?: Record<string, unknown>;
      }>;
      if (!Array.isArray(rows) || rows.length === 0) fail(400, 'No rows present in the request.');
      if (rows.length > 50_000) fail(400, 'Too many rows present in the request, limit: 50000');
      const ignoreUnknown = body.ignoreUnknownValues === true;
      const skipInvalid = body.skipInvalidRows === true;
      const problems = rows.map((r) =>
        BigQueryEngine.rowProblem(columns, r.json ?? {}, ignoreUnknown),
      );
      const invalid = problems.some((p) => p !== undefined);
      if (invalid && !skipInvalid) {
        return {
          body: {
            kind: 'bigquery#tableDataInsertAllResponse',
            insertErrors: problems.map((p, index) => ({
              index,
              errors: [
                p
                  ? { reason: 'invalid', location: '', message: p }
                  : { reason: 'stopped', location: '', message: '' },
              ],
            })),
          },
        };
      }
      // BigQuery drops a row whose insertId it saw recently (best effort, about a minute).
      const now = sandbox.clock.nowMs();
      const key = `${dataset}.${table}`;
      const state = bigQueryState(sandbox);
      const seen = state.recentInsertIds.get(key) ?? new Map<string, number>();
      state.recentInsertIds.set(key, seen);
      for (const [id, at] of seen) if (now - at > INSERT_ID_WINDOW_MS) seen.delete(id);
      const fresh = rows.filter(
        (r, i) => problems[i] === undefined && !(r.insertId && seen.has(r.insertId)),
      );
      await engine.insert(
        dataset,
        table,
        columns,
        fresh.map((r) => stripUnknown(r.json ?? {}, columns.names)),
      );
      for (const r of fresh) if (r.insertId) seen.set(r.insertId, now);
      return {
        body: {
          kind: 'bigquery#tableDataInsertAllResponse',
          ...(invalid
            ? {
                insertErrors: problems.flatMap((p, index) =>
                  p ? [{ index, errors: [{ reason: 'invalid', location: '', message: p }] }] : [],
                ),
              }
            : {}),
        },
      };
    },
  ),
  route<Sandbox>(
    'bigquery.jobs.load',
    'POST',
    '/upload/bigquery/v2/projects/{project}/jobs',
    async (request, sandbox) => {
      if (request.query.get('uploadType') !== 'multipart') {
        fail(400, 'The sandbox takes load jobs as uploadType=multipart');
      }
      const projectId = request.params.project as string;
      const { metadata, data } = multipartUpload(request);
      const reference = (metadata.jobReference ?? {}) as { jobId?: unknown; location?: unknown };
      const jobId =
        typeof reference.jobId === 'string'
          ? reference.jobId
          : `job_${randomUUID().replace(/-/g, '')}`;
      if (!/^[A-Za-z0-9_-]{1,1024}$/.test(jobId)) fail(400, `Invalid job ID: ${jobId}`);
      if (jobIdTaken(sandbox, jobId)) {
        fail(409, `Already Exists: Job ${projectId}:US.${jobId}`, 'duplicate');
      }
      const load = ((metadata.configuration ?? {}) as { load?: Record<string, unknown> }).load;
      if (!load) fail(400, 'A load job needs configuration.load');
      const outcome = await runLoad(sandbox, load, data.toString('utf8'));
      const now = sandbox.clock.nowMs();
      const job = {
        kind: 'bigquery#job',
        id: `${projectId}:US.${jobId}`,
        jobReference: { projectId, jobId, location: 'US' },
        configuration: { jobType: 'LOAD', load },
        status: {
          state: 'DONE',
          ...(outcome.error ? { errorResult: outcome.error, errors: outcome.errors } : {}),
        },
        statistics: {
          creationTime: String(now),
          startTime: String(now),
          endTime: String(now),
          load: {
            inputFiles: '1',
            inputFileBytes: String(data.length),
            outputRows: String(outcome.loaded),
            badRecords: String(outcome.errors.length),
          },
        },
      };
      bigQueryState(sandbox).loads.set(jobId, job);
      return { body: job };
    },
  ),
  route<Sandbox>(
    'bigquery.jobs.query',
    'POST',
    '/bigquery/v2/projects/{project}/queries',
    async (request, sandbox) => {
      const body = asRecord(request.body);
      if (typeof body.query !== 'string' || body.query.trim() === '')
        fail(400, 'Required parameter is missing: query');
      const projectId = request.params.project as string;
      const { jobId, result } = await runQuery(sandbox, projectId, body.query, body);
      return {
        body: {
          kind: 'bigquery#queryResponse',
          jobReference: { projectId, jobId, location: 'US' },
          ...resultsPage(request, result, body),
        },
      };
    },
  ),
  route<Sandbox>(
    'bigquery.jobs.insert',
    'POST',
    '/bigquery/v2/projects/{project}/jobs',
    async (request, sandbox) => {
      const body = asRecord(request.body);
      const query = ((body.configuration ?? {}) as { query?: Record<string, unknown> }).query;
      if (!query || typeof query.query !== 'string') fail(400, 'The sandbox runs query jobs only');
      const projectId = request.params.project as string;
      const requested = (body.jobReference as { jobId?: unknown } | undefined)?.jobId;
      if (typeof requested === 'string' && jobIdTaken(sandbox, requested)) {
        fail(409, `Already Exists: Job ${projectId}:US.${requested}`, 'duplicate');
      }
      const { jobId, result } = await runQuery(
        sandbox,
        projectId,
        query.query,
        query,
        typeof requested === 'string' ? requested : undefined,
      );
      return { body: jobResource(projectId, jobId, query.query, result, sandbox.clock.nowMs()) };
    },
  ),
  route<Sandbox>(
    'bigquery.jobs.get',
    'GET',
    '/bigquery/v2/projects/{project}/jobs/{job}',
    (request, sandbox) => {
      const load = bigQueryState(sandbox).loads.get(request.params.job as string);
      if (load) return { body: load };
      const job = bigQueryState(sandbox).jobs.get(request.params.job as string);
      if (!job) notFound(`Job ${request.params.project}:${request.params.job}`);
      return {
        body: jobResource(
          job.projectId,
          request.params.job as string,
          job.query,
          job.result,
          job.created,
        ),
      };
    },
  ),
  route<Sandbox>(
    'bigquery.jobs.getQueryResults',
    'GET',
    '/bigquery/v2/projects/{project}/queries/{job}',
    (request, sandbox) => {
      const job = bigQueryState(sandbox).jobs.get(request.params.job as string);
      if (!job) notFound(`Job ${request.params.project}:${request.params.job}`);
      return {
        body: {
          kind: 'bigquery#getQueryResultsResponse',
          jobReference: { projectId: job.projectId, jobId: request.params.job, location: 'US' },
          ...resultsPage(request, job.result),
        },
      };
    },
  ),
];

function stripUnknown(row: Record<string, unknown>, names: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).filter(([k]) => names.includes(k)));
}

export const bigQueryModule: SandboxModule = {
  name: 'bigquery',
  routes,
  async start(sandbox) {
    bigQueryState(sandbox).engine = await BigQueryEngine.create();
  },
  async stop(sandbox) {
    const state = bigQueryState(sandbox);
    await state.engine?.close();
    state.engine = undefined;
  },
};
