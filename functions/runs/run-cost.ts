/**
 * A run's cost so far. The hourly recorder attributes each closed instance-hour to the run
 * through the VM's `costguard-run` label (`spot_costs`, de-duplicated by the `spot_cost_hours`
 * view); whatever ran after the last recorded hour is estimated as uptime × hourly price.
 */
import type { Ledger } from '../adapters/bigquery.js';
import { HOUR_MS } from '../core/clock.js';
import { httpStatusOf } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { HourlyRate } from '../core/pricing.js';
import { numericOf, timestampOf } from './run-ledger.js';
import type { RunCost } from './run-record.js';

export interface RecordedCost {
  readonly amount: number;
  readonly currency: string;
  /** End of the last hour the recorder has a row for. */
  readonly coveredUntil: Date;
}

export interface CostInput {
  readonly recorded: RecordedCost | undefined;
  readonly rate: HourlyRate | undefined;
  /** When the run's VM started and until when it ran (now, for a running VM). */
  readonly from: Date | undefined;
  readonly until: Date | undefined;
}

function round(amount: number): number {
  return Math.round(amount * 1e6) / 1e6;
}

/** Recorder rows plus an estimate for the time they do not cover yet. */
export function planCost(input: CostInput): RunCost | undefined {
  const { recorded, rate, from, until } = input;
  const priced = rate !== undefined && rate.source !== 'unknown';
  let tailSeconds = 0;
  if (from && until) {
    const tailStart = Math.max(from.getTime(), recorded?.coveredUntil.getTime() ?? 0);
    tailSeconds = Math.max(0, (until.getTime() - tailStart) / 1000);
  }
  const tail = priced ? (rate.hourly * tailSeconds) / 3600 : 0;
  if (recorded) {
    return {
      amount: round(recorded.amount + tail),
      currency: recorded.currency,
      source: tail > 0 ? 'recorder+estimate' : 'recorder',
    };
  }
  if (!priced || !from || !until) return undefined;
  return { amount: round(tail), currency: rate.currency, source: 'estimate' };
}

type Row = { cost?: unknown; currency?: unknown; last_hour?: unknown; hours?: unknown };

function missingRelation(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return httpStatusOf(error) === 404 || /not found|does not exist/i.test(message);
}

export class RecordedCostReader {
  constructor(
    private readonly ledger: Pick<Ledger, 'query'>,
    private readonly logger: Logger,
  ) {}

  /** The recorder's rows for the run: the view where it exists, else the table de-duplicated. */
  async forRun(runId: string): Promise<RecordedCost | undefined> {
    const select =
      'SUM(cost) AS cost, MAX(currency) AS currency, MAX(usage_hour) AS last_hour, COUNT(*) AS hours';
    const sources = [
      `SELECT ${select} FROM \`\${dataset}.spot_cost_hours\` WHERE costguard_run = @runId`,
      `SELECT ${select} FROM (
         SELECT * FROM \`\${dataset}.spot_costs\` WHERE costguard_run = @runId
         QUALIFY ROW_NUMBER() OVER (
           PARTITION BY usage_hour, row_key ORDER BY recorded_at DESC, uptime_seconds DESC) = 1)`,
    ];
    for (const sql of sources) {
      let rows: Row[];
      try {
        rows = await this.ledger.query<Row>(sql, { runId });
      } catch (error) {
        if (!missingRelation(error)) throw error;
        continue;
      }
      const row = rows[0];
      const lastHour = timestampOf(row?.last_hour);
      if (!row || Number(row.hours ?? 0) === 0 || !lastHour) return undefined;
      return {
        amount: numericOf(row.cost) ?? 0,
        currency: typeof row.currency === 'string' ? row.currency : 'USD',
        coveredUntil: new Date(lastHour.getTime() + HOUR_MS),
      };
    }
    this.logger.debug('No recorder table yet; the run cost is an estimate', { runId });
    return undefined;
  }
}
