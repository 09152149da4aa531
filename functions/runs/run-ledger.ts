/**
 * The `runs` table as the run trigger uses it: append a snapshot per event (keyed
 * `run_id/event/status`, so a retried or repeated write lands once), and read the latest
 * snapshot per run with de-duplication on read.
 */
import { z } from 'zod';
import { parsePhaseTimings } from './plan-status.js';
import type { KeyedRow, Ledger } from '../adapters/bigquery.js';
import type { Clock } from '../core/clock.js';
import { PermanentError } from '../core/errors.js';
import {
  attemptOf,
  RUN_EVENTS,
  type Executor,
  type RunCost,
  type RunEvent,
  type RunRecord,
  type RunStatus,
} from './run-record.js';

const RUNS_TABLE = 'runs';

const LATEST = `QUALIFY ROW_NUMBER() OVER (
    PARTITION BY run_id
    ORDER BY IFNULL(attempt, 1) DESC,
      CASE status WHEN 'STARTING' THEN 1 WHEN 'RUNNING' THEN 2 ELSE 3 END DESC,
      event_seq DESC, recorded_at DESC) = 1`;

type Row = Record<string, unknown>;

/** A time as the API and the ledger's TIMESTAMP columns take it; null when unset. */
export function iso(date: Date | undefined): string | null {
  return date ? date.toISOString() : null;
}

/** A time as the BigQuery client (BigQueryTimestamp, Date or text) or Compute (RFC 3339 text) gives it. */
export function timestampOf(value: unknown): Date | undefined {
  if (value instanceof Date) return value;
  const inner =
    typeof value === 'object' && value !== null && 'value' in value ? value.value : value;
  if (typeof inner !== 'string') return undefined;
  const ms = Date.parse(inner);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/** A NUMERIC as the BigQuery client returns it (a Big, a number or text). */
export function numericOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return value === '' ? undefined : Number(value);
  if (typeof value === 'object' && value !== null) {
    return Number((value as { toString(): string }).toString());
  }
  return undefined;
}

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function paramsOf(value: unknown): Record<string, string> {
  if (typeof value !== 'string' || value === '') return {};
  const parsed = JSON.parse(value) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  return Object.fromEntries(
    Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}

function costOf(row: Row): RunCost | undefined {
  const amount = numericOf(row.cost);
  const source = row.cost_source;
  if (amount === undefined || !Number.isFinite(amount)) return undefined;
  return {
    amount,
    currency: textOf(row.currency) ?? 'USD',
    source: source === 'recorder' || source === 'recorder+estimate' ? source : 'estimate',
  };
}

function toRow(record: RunRecord, event: RunEvent, recordedAt: Date): Row {
  return {
    run_id: record.runId,
    event,
    event_seq: RUN_EVENTS[event],
    status: record.status,
    pipeline: record.pipeline,
    executor: record.executor,
    target: record.target,
    params: JSON.stringify(record.params),
    caller: record.caller,
    idempotency_key_sha256: record.idempotencyKey ?? null,
    request_sha256: record.requestHash,
    resource: record.resource,
    requested_at: iso(record.requestedAt),
    started_at: iso(record.startedAt),
    finished_at: iso(record.finishedAt),
    deadline: iso(record.deadline),
    execution: record.execution ?? null,
    results_prefix: record.resultsPrefix ?? null,
    logs_uri: record.logsUri ?? null,
    exit_marker: record.exitMarker ?? null,
    detail: record.detail ?? null,
    // NUMERIC holds 9 decimal places; more would be refused by BigQuery.
    cost: record.cost ? record.cost.amount.toFixed(9) : null,
    currency: record.cost?.currency ?? null,
    cost_source: record.cost?.source ?? null,
    slack_channel: record.slackChannel ?? null,
    slack_ts: record.slackTs ?? null,
    source: record.source ?? null,
    phases: record.phases ? JSON.stringify(record.phases) : null,
    attempt: attemptOf(record),
    resume_at: iso(record.resumeAt),
    earlier_attempts: record.earlierAttempts?.length
      ? JSON.stringify(
          record.earlierAttempts.map((a) => ({
            attempt: a.attempt,
            startedAt: a.startedAt.toISOString(),
            endedAt: a.endedAt.toISOString(),
          })),
        )
      : null,
    placement: record.placement ? JSON.stringify(record.placement) : null,
    recorded_at: recordedAt.toISOString(),
  };
}

function fromRow(row: Row): RunRecord {
  const requestedAt = timestampOf(row.requested_at);
  const deadline = timestampOf(row.deadline);
  const runId = textOf(row.run_id);
  if (!runId || !requestedAt || !deadline) {
    throw new PermanentError('A runs row lacks run_id, requested_at or deadline');
  }
  return {
    runId,
    pipeline: String(row.pipeline),
    executor: row.executor === 'cloud-run-job' ? 'cloud-run-job' : ('vm' satisfies Executor),
    target: String(row.target),
    params: paramsOf(row.params),
    status: String(row.status) as RunStatus,
    caller: textOf(row.caller) ?? 'anonymous',
    idempotencyKey: textOf(row.idempotency_key_sha256),
    requestHash: String(row.request_sha256),
    resource: String(row.resource),
    requestedAt,
    startedAt: timestampOf(row.started_at),
    finishedAt: timestampOf(row.finished_at),
    deadline,
    execution: textOf(row.execution),
    resultsPrefix: textOf(row.results_prefix),
    logsUri: textOf(row.logs_uri),
    exitMarker: textOf(row.exit_marker),
    detail: textOf(row.detail),
    cost: costOf(row),
    slackChannel: textOf(row.slack_channel),
    slackTs: textOf(row.slack_ts),
    source: textOf(row.source),
    phases: parsePhaseTimings(textOf(row.phases)),
    attempt: numericOf(row.attempt) ?? 1,
    resumeAt: timestampOf(row.resume_at),
    earlierAttempts: jsonOf(row.earlier_attempts, z.array(attemptSpan)),
    placement: jsonOf(row.placement, placement),
  };
}

const attemptSpan = z.object({
  attempt: z.number().int().min(1),
  startedAt: z.iso.datetime().transform((t) => new Date(t)),
  endedAt: z.iso.datetime().transform((t) => new Date(t)),
});

const placedCandidate = z.object({
  zone: z.string(),
  instance: z.string(),
  verdict: z.enum(['chosen', 'eligible', 'missing', 'not-terminated', 'busy']),
  machineFamily: z.string().nullable(),
  preemptionsPer100Hours: z.number().nullable(),
  preemptions: z.number(),
  spotVmHours: z.number(),
  reason: z.string(),
});

const placement = z.object({
  chosen: z.string().nullable(),
  windowDays: z.number(),
  rule: z.string(),
  candidates: z.array(placedCandidate),
});

/** A JSON column as its schema reads it; anything else (an older or damaged row) is none. */
function jsonOf<T>(value: unknown, schema: z.ZodType<T, unknown>): T | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

interface PendingRow {
  readonly row: KeyedRow;
  readonly settle: { resolve: () => void; reject: (error: unknown) => void };
}

export class RunLedger {
  /** Snapshots appended in the same turn of the event loop, written in one insert. */
  private pending: PendingRow[] = [];

  constructor(
    private readonly ledger: Pick<Ledger, 'insert' | 'query'>,
    private readonly clock: Clock,
  ) {}

  /**
   * Appends a snapshot. A burst of requests (many refusals of a busy VM at once) shares one
   * streaming insert; each caller still waits for its own row to land or fail.
   */
  append(record: RunRecord, event: RunEvent): Promise<void> {
    // A later attempt repeats events and statuses of the first: its rows carry their attempt.
    const attempt = attemptOf(record);
    const row = {
      key: `${record.runId}/${event}/${record.status}${attempt > 1 ? `/${attempt}` : ''}`,
      row: toRow(record, event, this.clock.now()),
    };
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ row, settle: { resolve, reject } });
      if (this.pending.length === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    try {
      await this.ledger.insert(
        RUNS_TABLE,
        batch.map((p) => p.row),
      );
      for (const p of batch) p.settle.resolve();
    } catch (error) {
      for (const p of batch) p.settle.reject(error);
    }
  }

  async latest(runId: string): Promise<RunRecord | undefined> {
    const rows = await this.ledger.query<Row>(
      `SELECT * FROM \`\${dataset}.${RUNS_TABLE}\` WHERE run_id = @runId ${LATEST}`,
      { runId },
    );
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  /**
   * The latest snapshot of the most recent runs of the given pipelines, newest first; with
   * `statuses`, only runs whose latest snapshot has one of them (filtered after de-duplication).
   */
  async recent(options: {
    pipelines: readonly string[];
    limit: number;
    since: Date;
    statuses?: readonly RunStatus[];
  }): Promise<RunRecord[]> {
    if (options.pipelines.length === 0) return [];
    const { statuses } = options;
    const rows = await this.ledger.query<Row>(
      `SELECT * FROM (
         SELECT * FROM \`\${dataset}.${RUNS_TABLE}\`
         WHERE requested_at >= @since
           AND pipeline IN (SELECT p FROM UNNEST(@pipelines) AS p)
         ${LATEST})
       ${statuses ? 'WHERE status IN (SELECT s FROM UNNEST(@statuses) AS s)' : ''}
       ORDER BY requested_at DESC, run_id
       LIMIT @limit`,
      {
        since: options.since,
        limit: options.limit,
        pipelines: [...options.pipelines],
        ...(statuses ? { statuses: [...statuses] } : {}),
      },
      {
        since: 'TIMESTAMP',
        limit: 'INT64',
        pipelines: ['STRING'],
        ...(statuses ? { statuses: ['STRING'] } : {}),
      },
    );
    return rows.map(fromRow);
  }
}
