/**
 * The BigQuery ledger: the idempotent migration that applies `sql/tables` and `sql/views`,
 * keyed batched inserts (insertId = the row's deterministic key, at most 500 rows a request, a
 * few requests at once),
 * load jobs for bulk appends, and parameterised queries. SQL files name tables as
 * `${dataset}.table`.
 */

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { BigQuery, Job } from '@google-cloud/bigquery';
import { settleAll } from '../core/concurrency.js';
import { httpStatusOf, isNotFound, PermanentError, TransientError } from '../core/errors.js';
import { repositoryPath } from '../core/repository-path.js';
import type { Logger } from '../core/logger.js';
import { loggedRetries, withRetry, type RetryOptions } from '../core/retry.js';

export const MAX_ROWS_PER_INSERT = 500;
/** insertAll requests of one `insert` in flight at once. */
const INSERTS_IN_FLIGHT = 4;

/** Job error reasons that a new job may get past (BigQuery's troubleshooting table). */
const TRANSIENT_JOB_REASONS = new Set([
  'backendError',
  'internalError',
  'jobBackendError',
  'jobInternalError',
  'rateLimitExceeded',
]);

interface JobFailure {
  reasons: string[];
  detail: string;
}

/** A job that ended in error, as the client reports it: no HTTP code, the job's `errors`. */
function jobFailureOf(error: unknown): JobFailure | undefined {
  const { code, errors } = error as { code?: unknown; errors?: unknown };
  if (code !== undefined || !Array.isArray(errors) || errors.length === 0) return undefined;
  const list = errors as Array<{ reason?: string; message?: string }>;
  const messages = [...new Set(list.map((e) => e.message ?? ''))].filter((m) => m !== '');
  return { reasons: list.map((e) => e.reason ?? ''), detail: messages.slice(0, 3).join('; ') };
}

/** Size of the buffers that hold a load's JSON lines (most of a run's rows in a few of them). */
const LOAD_CHUNK_BYTES = 1 << 20;

/**
 * Rows for one load job, kept as the bytes of their JSON lines: serialised once, outside the
 * JavaScript heap (so the garbage collector neither scans them nor lets the heap grow by their
 * size), and uploaded as they are, where the client's insert path copies each request body
 * several times.
 */
export class LoadRows {
  private readonly chunks: Buffer[] = [];
  private used = 0;
  private rows = 0;

  add(rows: readonly KeyedRow[]): void {
    for (const { row } of rows) {
      // Newline-delimited: a separator before every line but the first.
      const line = `${this.rows === 0 ? '' : '\n'}${JSON.stringify(row)}`;
      const bytes = Buffer.byteLength(line);
      let chunk = this.chunks.at(-1);
      if (!chunk || this.used + bytes > chunk.length) {
        // The full chunk keeps only what was written into it.
        if (chunk) this.chunks[this.chunks.length - 1] = chunk.subarray(0, this.used);
        chunk = Buffer.allocUnsafe(Math.max(LOAD_CHUNK_BYTES, bytes));
        this.chunks.push(chunk);
        this.used = 0;
      }
      this.used += chunk.write(line, this.used);
      this.rows++;
    }
  }

  get count(): number {
    return this.rows;
  }

  /** Newline-delimited JSON, in the pieces it was written into. */
  bytes(): Buffer[] {
    return this.chunks.map((chunk, i) =>
      i === this.chunks.length - 1 ? chunk.subarray(0, this.used) : chunk,
    );
  }
}

/** A query row with each column's value as BigQuery's JSON text. */
export type TextRow = Record<string, string | null>;

interface RawRow {
  f?: Array<{ v?: unknown }>;
}

interface RawPage {
  schema?: { fields?: Array<{ name?: string }> };
}

/** Rows as the API sends them (`{f: [{v}]}`, in the schema's column order), by column name. */
function textRows(
  rows: readonly RawRow[] | null | undefined,
  page: RawPage | undefined,
): TextRow[] {
  const names = (page?.schema?.fields ?? []).map((field) => field.name ?? '');
  return (rows ?? []).map((row) => {
    const out: TextRow = {};
    names.forEach((name, i) => {
      const value = row.f?.[i]?.v;
      if (value !== null && value !== undefined && typeof value !== 'string') {
        throw new PermanentError(`Column ${name} is not a flat value; read it with query()`);
      }
      out[name] = value ?? null;
    });
    return out;
  });
}

/** What tabledata.insertAll answers: the rows it refused, if any, by index. */
interface InsertAllReply {
  insertErrors?: Array<{ index?: number; errors?: Array<{ message?: string; reason?: string }> }>;
}

export interface KeyedRow {
  key: string;
  row: Record<string, unknown>;
}

export interface LedgerOptions {
  project: string;
  dataset: string;
  location: string;
  logger: Logger;
  retry?: RetryOptions;
  sqlRoot?: string;
}

/** The repository's `sql/` folder. */
export function defaultSqlRoot(): string {
  return repositoryPath('sql');
}

export function sqlFiles(
  root: string,
  folder: 'tables' | 'views',
): Array<{ name: string; sql: string }> {
  const dir = `${root}/${folder}`;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => ({ name: `${folder}/${f}`, sql: readFileSync(`${dir}/${f}`, 'utf8') }));
}

/** Every table definition, then every view, each folder in name order: the migration's order. */
export function migrationFiles(root: string): Array<{ name: string; sql: string }> {
  return [...sqlFiles(root, 'tables'), ...sqlFiles(root, 'views')];
}

/** Substitutes `${project}` and `${dataset}` in a SQL text. */
export function bindSql(sql: string, names: { project: string; dataset: string }): string {
  return sql.replaceAll('${project}', names.project).replaceAll('${dataset}', names.dataset);
}

export class Ledger {
  constructor(
    private readonly bigquery: () => Promise<BigQuery>,
    readonly options: LedgerOptions,
  ) {}

  private retry<T>(what: string, operation: () => Promise<T>): Promise<T> {
    return withRetry(operation, loggedRetries(this.options.logger, what, this.options.retry));
  }

  /** Creates the dataset if needed, then applies every table and view definition in order. */
  async migrate(): Promise<string[]> {
    const bq = await this.bigquery();
    const dataset = bq.dataset(this.options.dataset);
    const [exists] = await this.retry('dataset.exists', () => dataset.exists());
    if (!exists) {
      await this.retry('createDataset', async () => {
        try {
          await bq.createDataset(this.options.dataset, { location: this.options.location });
        } catch (error) {
          if (httpStatusOf(error) !== 409) throw error;
        }
      });
    }
    const root = this.options.sqlRoot ?? defaultSqlRoot();
    const applied: string[] = [];
    for (const file of migrationFiles(root)) {
      await this.execute(file.sql);
      applied.push(file.name);
    }
    this.options.logger.info('Ledger schema is up to date', {
      dataset: this.options.dataset,
      applied,
    });
    return applied;
  }

  /** Runs a statement or script (DDL, MERGE) after binding `${dataset}`. */
  async execute(sql: string, params?: Record<string, unknown>): Promise<number> {
    const bq = await this.bigquery();
    const [job] = await this.retry('query', () =>
      bq.createQueryJob({ query: this.bind(sql), params, location: this.options.location }),
    );
    // getQueryResults waits for the job; its metadata then carries the DML statistics.
    await this.retry('query results', () => job.getQueryResults({ maxResults: 0 }));
    const response = await this.retry('job status', () => job.getMetadata());
    const stats = (response[0] as { statistics?: { query?: { numDmlAffectedRows?: string } } })
      .statistics;
    return Number(stats?.query?.numDmlAffectedRows ?? 0);
  }

  async query<T = Record<string, unknown>>(
    sql: string,
    params?: Record<string, unknown>,
    types?: Record<string, string | string[]>,
  ): Promise<T[]> {
    const bq = await this.bigquery();
    const [rows] = await this.retry('query', () =>
      bq.query({
        query: this.bind(sql),
        params,
        types,
        location: this.options.location,
        wrapIntegers: false,
      }),
    );
    return rows as T[];
  }

  /**
   * A query whose rows arrive in pages of at most `pageRows`, each handed to `onPage` before the
   * next is read, so that memory holds one page of a large result rather than all of it. Each
   * value comes as BigQuery's JSON text (a string, or null), flat columns only: the client's own
   * conversion builds and deep-copies several objects per row, most of a large read's cost.
   * Each page is retried on its own.
   */
  async queryPages(
    sql: string,
    params: Record<string, unknown>,
    types: Record<string, string | string[]>,
    pageRows: number,
    onPage: (rows: TextRow[]) => void,
  ): Promise<{ pages: number }> {
    const bq = await this.bigquery();
    type Page = [RawRow[] | null, { job?: Job; pageToken?: string } | null | undefined, RawPage?];
    let [rows, next, response] = (await this.retry('query', () =>
      bq.query(
        {
          query: this.bind(sql),
          params,
          types,
          location: this.options.location,
          maxResults: pageRows,
        },
        { autoPaginate: false, skipParsing: true },
      ),
    )) as unknown as Page;
    let pages = 1;
    onPage(textRows(rows, response));
    // Later pages come from the query's job, which only the first answer names.
    const job = next?.job;
    while (job && next?.pageToken) {
      const { pageToken } = next;
      [rows, next, response] = (await this.retry('query results', () =>
        job.getQueryResults({
          pageToken,
          maxResults: pageRows,
          autoPaginate: false,
          skipParsing: true,
        }),
      )) as unknown as Page;
      pages++;
      onPage(textRows(rows, response));
    }
    return { pages };
  }

  bind(sql: string): string {
    return bindSql(sql, { project: this.options.project, dataset: this.options.dataset });
  }

  /**
   * Appends rows with one load job: free (where streaming inserts are billed), all rows or none,
   * and open to DML at once (no streaming buffer). The job id is derived from the table and the
   * rows, so a retried upload whose answer was lost finds its job (409) instead of loading twice;
   * only a job that failed is followed by a new one. The client waits for the job (jobs.get).
   */
  async load(table: string, rows: LoadRows): Promise<{ loaded: number; uploads: number }> {
    if (rows.count === 0) return { loaded: 0, uploads: 0 };
    const bq = await this.bigquery();
    const target = bq.dataset(this.options.dataset).table(table);
    const data = rows.bytes();
    const hash = createHash('sha256').update(table).update('\n');
    for (const piece of data) hash.update(piece);
    const digest = hash.digest('hex');
    let generation = 0;
    let uploads = 0;
    await this.retry(`load into ${table}`, async () => {
      const jobId = `costguard_${table}_${digest.slice(0, 32)}_${generation}`;
      uploads++;
      let failure: JobFailure | undefined;
      try {
        await new Promise<void>((resolve, reject) => {
          const upload = target.createWriteStream({
            sourceFormat: 'NEWLINE_DELIMITED_JSON',
            writeDisposition: 'WRITE_APPEND',
            // The migration creates every table; a load only appends (and needs no create right).
            createDisposition: 'CREATE_NEVER',
            ignoreUnknownValues: false,
            maxBadRecords: 0,
            jobId,
          });
          upload.once('complete', () => resolve());
          upload.once('error', reject);
          for (const piece of data) upload.write(piece);
          upload.end();
        });
      } catch (error) {
        if (isNotFound(error)) throw this.missingTable(table);
        failure = jobFailureOf(error);
        if (!failure) {
          if (httpStatusOf(error) !== 409) throw error;
          // Our own earlier upload: its answer was lost, not its rows.
          failure = await this.outcomeOf(bq, jobId);
        }
      }
      if (!failure) return;
      generation++;
      if (failure.reasons.includes('notFound')) throw this.missingTable(table);
      if (failure.reasons.some((r) => TRANSIENT_JOB_REASONS.has(r))) {
        throw new TransientError(`Load into ${table} failed: ${failure.detail}`);
      }
      throw new PermanentError(`Rows rejected by ${table}: ${failure.detail}`);
    });
    return { loaded: rows.count, uploads };
  }

  /** Waits for an existing job (the client polls it) and reports how it failed, if it did. */
  private async outcomeOf(bq: BigQuery, jobId: string): Promise<JobFailure | undefined> {
    try {
      await bq.job(jobId, { location: this.options.location }).promise();
      return undefined;
    } catch (error) {
      const failure = jobFailureOf(error);
      if (failure) return failure;
      throw error;
    }
  }

  private missingTable(table: string): PermanentError {
    return new PermanentError(
      `Table ${this.options.dataset}.${table} does not exist; run the migration`,
    );
  }

  /**
   * Inserts rows in requests of at most 500 with the row key as insertId, so a retried request
   * is de-duplicated by BigQuery; tables are still read through views that de-duplicate by key.
   */
  async insert(
    table: string,
    rows: readonly KeyedRow[],
  ): Promise<{ inserted: number; requests: number }> {
    if (rows.length === 0) return { inserted: 0, requests: 0 };
    const bq = await this.bigquery();
    const target = bq.dataset(this.options.dataset).table(table);
    let requests = 0;
    const starts: number[] = [];
    for (let i = 0; i < rows.length; i += MAX_ROWS_PER_INSERT) starts.push(i);
    // A few requests at once (each keyed, so a retried one is de-duplicated); one failure does
    // not stop the others, and the first is what the caller gets.
    const sent = await settleAll(starts, INSERTS_IN_FLIGHT, async (i) => {
      // The request body serialised once: the client's insert() deep-copies the row objects
      // several times on the way out (a fifth of a stop storm's CPU); a string is not copied.
      const body = JSON.stringify({
        skipInvalidRows: false,
        ignoreUnknownValues: false,
        rows: rows.slice(i, i + MAX_ROWS_PER_INSERT).map((r) => ({ insertId: r.key, json: r.row })),
      });
      await this.retry(`insert into ${table}`, async () => {
        requests++;
        let reply: InsertAllReply;
        try {
          [reply] = (await target.request({
            method: 'POST',
            uri: '/insertAll',
            body,
            headers: { 'Content-Type': 'application/json' },
          })) as unknown as [InsertAllReply];
        } catch (error) {
          if (isNotFound(error)) throw this.missingTable(table);
          throw error;
        }
        const reasons = (reply.insertErrors ?? [])
          .flatMap((e) => e.errors ?? [])
          .filter((e) => e.reason !== 'stopped');
        if (reasons.length > 0 || (reply.insertErrors ?? []).length > 0) {
          throw new PermanentError(
            `Rows rejected by ${table}: ${reasons
              .slice(0, 3)
              .map((e) => e.message)
              .join('; ')}`,
          );
        }
      });
    });
    const failed = sent.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return { inserted: rows.length, requests };
  }
}
