/**
 * A run's cost so far. The `run_costs` view attributes the hourly recorder's closed hours of
 * the run's own VM to it within the run's window (never through the copyable `costguard-run`
 * label); whatever ran after the last recorded hour is estimated as uptime × hourly price.
 */
import type { Ledger } from '../adapters/bigquery.js';
import { HOUR_MS } from '../core/clock.js';
import { httpStatusOf } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { HourlyRate } from '../core/pricing.js';
import { numericOf, timestampOf } from './run-ledger.js';
import { attemptOf, type RunCost, type RunRecord } from './run-record.js';

export interface RecordedCost {
  readonly amount: number;
  readonly currency: string;
  /** End of the last hour the recorder has a row for. */
  readonly coveredUntil: Date;
}

/** A stretch of time the run's VM was running. */
export interface RunSpan {
  readonly from: Date;
  readonly until: Date;
}

export interface CostInput {
  readonly recorded: RecordedCost | undefined;
  readonly rate: HourlyRate | undefined;
  /** When the run's VM ran: one span per attempt (the last one until now, for a running VM). */
  readonly spans: readonly RunSpan[];
}

/**
 * The spans a run's VM ran: each earlier attempt from its start to its preemption, and the one
 * under way from its start (`from` for the first attempt) to `until`. The preemption notice and
 * the backoff between attempts are not run time. A run resumed before attempts were kept counts
 * from its first start, as it did then.
 */
export function runSpans(
  record: Pick<RunRecord, 'attempt' | 'resumeAt' | 'earlierAttempts'>,
  from: Date,
  until: Date,
): RunSpan[] {
  const earlier = record.earlierAttempts ?? [];
  if (attemptOf(record) <= 1 || earlier.length === 0 || !record.resumeAt) {
    return [{ from, until }];
  }
  return [
    ...earlier.map((a) => ({ from: a.startedAt, until: a.endedAt })),
    { from: record.resumeAt, until },
  ];
}

function round(amount: number): number {
  return Math.round(amount * 1e6) / 1e6;
}

/** Recorder rows plus an estimate for the time they do not cover yet. */
export function planCost(input: CostInput): RunCost | undefined {
  const { recorded, rate, spans } = input;
  const priced = rate !== undefined && rate.source !== 'unknown';
  // Only the running time after the last recorded hour is estimated.
  const covered = recorded?.coveredUntil.getTime() ?? 0;
  const tailSeconds = spans.reduce(
    (sum, span) =>
      sum + Math.max(0, (span.until.getTime() - Math.max(span.from.getTime(), covered)) / 1000),
    0,
  );
  const tail = priced ? (rate.hourly * tailSeconds) / 3600 : 0;
  if (recorded) {
    return {
      amount: round(recorded.amount + tail),
      currency: recorded.currency,
      source: tail > 0 ? 'recorder+estimate' : 'recorder',
    };
  }
  if (!priced || spans.length === 0) return undefined;
  return { amount: round(tail), currency: rate.currency, source: 'estimate' };
}

type Row = { cost?: unknown; currency?: unknown; last_hour?: unknown };

function missingRelation(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return httpStatusOf(error) === 404 || /not found|does not exist/i.test(message);
}

export class RecordedCostReader {
  constructor(
    private readonly ledger: Pick<Ledger, 'query'>,
    private readonly logger: Logger,
  ) {}

  /** The recorder's hours attributed to the run, or undefined while there are none (or no view). */
  async forRun(runId: string): Promise<RecordedCost | undefined> {
    let rows: Row[];
    try {
      rows = await this.ledger.query<Row>(
        `SELECT recorded_cost AS cost, currency, last_recorded_hour AS last_hour
         FROM \`\${dataset}.run_costs\` WHERE run_id = @runId`,
        { runId },
      );
    } catch (error) {
      if (!missingRelation(error)) throw error;
      this.logger.debug('No run_costs view yet; the run cost is an estimate', { runId });
      return undefined;
    }
    const row = rows[0];
    const lastHour = timestampOf(row?.last_hour);
    if (!row || !lastHour) return undefined;
    return {
      amount: numericOf(row.cost) ?? 0,
      currency: typeof row.currency === 'string' ? row.currency : 'USD',
      coveredUntil: new Date(lastHour.getTime() + HOUR_MS),
    };
  }
}
