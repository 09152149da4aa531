/**
 * The Spot caps' tables in the ledger and what the cap run reads back: the recorder's hours in a
 * cap's scope, how far the recorder has got, the cap's runs of the period (its durable state, as
 * budget_notifications is the budget enforcer's), and the keyed inserts of cap_runs and cap_hours. The port takes a run's
 * figures and summary; the rows are built here.
 */
import { z } from 'zod';
import type { KeyedRow, Ledger } from '../adapters/bigquery.js';
import type { PeriodHistory } from '../budget/decide-notification.js';
import {
  numeric,
  summaryColumns,
  tierRecordsOf,
  tierText,
  type NotificationSummary,
} from '../budget/enforcement-ledger.js';
import { HOUR_MS } from '../core/clock.js';
import { projectFilter, TABLES } from '../recorder/spot-cost-ledger.js';
import type { SpotCap } from './cap-policy.js';
import type { CapPeriod, CapSpend, RecordedHour } from './cap-spend.js';

export const CAP_TABLES = { runs: 'cap_runs', hours: 'cap_hours' } as const;

const hourRow = z.object({ hour_text: z.string(), spend: z.coerce.number() });
const lastHourRow = z.object({ last_hour: z.string().nullable() });
const runRow = z.object({
  outcome: z.string(),
  tier: z.coerce.number().nullable(),
  forecast_tier: z.coerce.number().nullable(),
  dry_run: z.boolean(),
  slack_channel: z.string().nullable(),
  slack_ts: z.string().nullable(),
  through_text: z.string(),
});

export interface CapHistory extends PeriodHistory {
  /** How far the ledger had recorded at the period's last run, if any. */
  readonly lastRecordedThrough: Date | undefined;
}

/** A cap's run as one row of cap_runs. */
export interface CapRunRecord {
  readonly cap: SpotCap;
  readonly scope: string;
  readonly runId: string;
  readonly runAt: Date;
  readonly period: CapPeriod;
  readonly spend: CapSpend;
  readonly tierReached: number | undefined;
  readonly forecastTier: number | undefined;
  readonly summary: NotificationSummary;
}

const iso = (date: Date): string => date.toISOString();

export function capRunRow(r: CapRunRecord): KeyedRow {
  const { spend, summary } = r;
  const tier = summary.tier === undefined ? '-' : tierText(summary.tier);
  const key = `${r.cap.name}/${iso(r.period.start)}/${r.runId}`;
  return {
    key: `${key}/${summary.outcome}/${tier}/${summary.dryRun ? 'dry-run' : 'enforce'}`,
    row: {
      row_key: key,
      run_id: r.runId,
      run_at: iso(r.runAt),
      cap_name: r.cap.name,
      scope: r.scope,
      period: r.cap.period,
      period_start: iso(r.period.start),
      period_end: iso(r.period.end),
      cap_amount: numeric(r.cap.amount),
      currency: r.cap.currency,
      recorded_spend: numeric(spend.recorded),
      estimated_spend: numeric(spend.estimated),
      spend: numeric(spend.spend),
      recorded_through: iso(spend.recordedThrough),
      running_vms: spend.runningVms,
      fleet_rate: numeric(spend.fleetRate),
      recent_rate: spend.recentRate === undefined ? null : numeric(spend.recentRate),
      forecast: numeric(spend.forecast),
      forecast_method: spend.forecastMethod,
      headroom: numeric(spend.headroom),
      spend_ratio: spend.spendRatio,
      forecast_ratio: spend.forecastRatio,
      tier_reached: r.tierReached === undefined ? null : tierText(r.tierReached),
      forecast_tier: r.forecastTier === undefined ? null : tierText(r.forecastTier),
      ...summaryColumns(summary),
    },
  };
}

// The recorded figures written on a period's first run reach back at most this far.
const RECORDED_LOOKBACK_MS = 24 * HOUR_MS;

/**
 * The run's estimate of each open hour, and the recorded figure of each hour closed since the
 * period's previous run (one hour earlier too, for the recorder's late corrections); an hour the
 * ledger holds nothing for in the scope is recorded as zero, so its estimate can be compared.
 */
export interface CapHours {
  readonly cap: SpotCap;
  readonly runId: string;
  readonly runAt: Date;
  readonly period: CapPeriod;
  readonly spend: CapSpend;
  readonly recorded: readonly RecordedHour[];
  readonly previousThrough: Date | undefined;
}

export function capHourRows(input: CapHours): KeyedRow[] {
  const { cap, runId, runAt, spend } = input;
  const through = spend.recordedThrough.getTime();
  const since = Math.max(
    input.period.start.getTime(),
    input.previousThrough
      ? input.previousThrough.getTime() - HOUR_MS
      : through - RECORDED_LOOKBACK_MS,
  );
  const row = (hour: Date, kind: string, cost: number, seconds: number): KeyedRow => {
    const key = `${cap.name}/${iso(hour)}/${kind}/${runId}`;
    return {
      key,
      row: {
        row_key: key,
        run_id: runId,
        run_at: iso(runAt),
        cap_name: cap.name,
        usage_hour: iso(hour),
        kind,
        cost: numeric(cost),
        covered_seconds: seconds,
        currency: cap.currency,
      },
    };
  };
  const byHour = new Map(input.recorded.map((h) => [h.hour.getTime(), h.spend]));
  const closed: KeyedRow[] = [];
  for (let hour = Math.ceil(since / HOUR_MS) * HOUR_MS; hour < through; hour += HOUR_MS) {
    closed.push(row(new Date(hour), 'recorded', byHour.get(hour) ?? 0, 3600));
  }
  return [...spend.openHours.map((h) => row(h.hour, 'estimated', h.spend, h.seconds)), ...closed];
}

export class CapLedger {
  constructor(private readonly ledger: Pick<Ledger, 'query' | 'insert'>) {}

  /** The end of the last hour the recorder has written for any of the projects since `since`. */
  async recordedThrough(projects: readonly string[], since: Date): Promise<Date | undefined> {
    const filter = projectFilter(projects);
    const rows = await this.ledger.query(
      `SELECT FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%SZ', MAX(usage_hour)) AS last_hour
       FROM \`\${dataset}.${TABLES.costs}\`
       WHERE usage_hour >= @since AND ${filter.sql}`,
      { since, ...filter.params },
      { since: 'TIMESTAMP' },
    );
    const last = rows[0] ? lastHourRow.parse(rows[0]).last_hour : null;
    return last === null ? undefined : new Date(new Date(last).getTime() + HOUR_MS);
  }

  /** Recorded spend per hour of [start, end) in the cap's scope, models and currency. */
  async recordedHours(
    cap: SpotCap,
    projects: readonly string[],
    start: Date,
    end: Date,
  ): Promise<RecordedHour[]> {
    const filter = projectFilter(projects);
    const models = Object.fromEntries(cap.provisioningModels.map((m, i) => [`m${i}`, m]));
    // The label key is a validated label key (lowercase letters, digits, `_`, `-`), so it is
    // safe inside the JSON path literal; the value goes as a parameter.
    const label = cap.scope.label
      ? `AND JSON_VALUE(labels, '$."${cap.scope.label.key}"') = @labelValue`
      : '';
    const rows = await this.ledger.query(
      `SELECT FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%SZ', usage_hour) AS hour_text,
         CAST(SUM(cost) AS STRING) AS spend
       FROM \`\${dataset}.${TABLES.costView}\`
       WHERE usage_hour >= @start AND usage_hour < @end AND ${filter.sql}
         AND provisioning_model IN (${Object.keys(models)
           .map((k) => `@${k}`)
           .join(', ')})
         AND currency = @currency AND cost IS NOT NULL ${label}
       GROUP BY hour_text`,
      {
        start,
        end,
        currency: cap.currency,
        ...filter.params,
        ...models,
        ...(cap.scope.label ? { labelValue: cap.scope.label.value } : {}),
      },
      { start: 'TIMESTAMP', end: 'TIMESTAMP' },
    );
    return rows
      .map((raw) => hourRow.parse(raw))
      .map((r) => ({ hour: new Date(r.hour_text), spend: r.spend }))
      .sort((a, b) => a.hour.getTime() - b.hour.getTime());
  }

  /** The cap's runs in the period: the tiers carried out, forecasts warned about, the last watermark. */
  async history(cap: string, periodStart: Date): Promise<CapHistory> {
    const rows = (
      await this.ledger.query(
        `SELECT outcome, CAST(tier AS FLOAT64) AS tier, CAST(forecast_tier AS FLOAT64) AS forecast_tier,
           dry_run, slack_channel, slack_ts,
           FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%SZ', recorded_through) AS through_text
         FROM \`\${dataset}.${CAP_TABLES.runs}\`
         WHERE run_at >= @periodStart AND cap_name = @cap AND period_start = @periodStart
         ORDER BY run_at`,
        { cap, periodStart },
        { periodStart: 'TIMESTAMP' },
      )
    ).map((raw) => runRow.parse(raw));
    const last = rows.at(-1);
    return {
      // A cap's spend can fall between runs (an estimate replaced by the recorded hour), so
      // no reading is out of order: each run decides on its own figures.
      highestCost: undefined,
      messageHandled: false,
      tiers: tierRecordsOf(rows),
      forecastWarnings: rows
        .filter((r) => r.outcome === 'FORECAST_WARNING' && r.forecast_tier !== null)
        .map((r) => Number(r.forecast_tier)),
      lastRecordedThrough: last ? new Date(last.through_text) : undefined,
    };
  }

  /** One run of one cap: its figures and what it did (the cap's durable state). */
  async recordRun(run: CapRunRecord): Promise<void> {
    await this.ledger.insert(CAP_TABLES.runs, [capRunRow(run)]);
  }

  /** The run's estimate of each open hour and the recorded figure of each hour closed since. */
  async recordHours(hours: CapHours): Promise<void> {
    await this.ledger.insert(CAP_TABLES.hours, capHourRows(hours));
  }
}
