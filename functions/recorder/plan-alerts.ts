/**
 * Spot-spend alerts for the hours of a run: per hour, overall and per team (label `team`), an
 * alert when the spend passes the configured hourly limit, or is more than `spikeMultiple` times
 * the trailing 24-hour average (hours without spend count as zero). An alert already raised for
 * the same hour and scope (a later run re-reads the hour) is not raised again.
 */

import { HOUR_MS } from '../core/clock.js';
import { LABEL } from '../core/labels.js';
import { isSpotLike } from '../core/vm.js';
import type { CostRow } from './plan-cost-rows.js';
import type { SpotAlertRules } from './settings.js';

export interface HourSpend {
  /** ISO start of the hour. */
  readonly hour: string;
  /** Undefined for VMs without a team label. */
  readonly team: string | undefined;
  readonly spend: number;
}

export interface TopVm {
  readonly project: string;
  readonly zone: string;
  readonly name: string;
  readonly machineType: string;
  readonly team: string | undefined;
  readonly cost: number;
}

export type AlertReason = 'limit' | 'spike';

export interface SpotAlert {
  /** hour/scope: one alert per hour and scope, ever. */
  readonly key: string;
  readonly hour: Date;
  readonly scope: string;
  readonly team: string | undefined;
  readonly reasons: readonly AlertReason[];
  readonly spend: number;
  readonly limit: number | undefined;
  readonly trailingAverage: number | undefined;
  readonly spikeMultiple: number | undefined;
  readonly currency: string;
  readonly topVms: readonly TopVm[];
}

// With less history than this, an average says too little to call anything a spike.
const MIN_HISTORY_HOURS = 12;
const TRAILING_HOURS = 24;
const TOP_VMS = 5;
const OVERALL = 'overall';

interface HourTotals {
  overall: number;
  teams: Map<string, number>;
}

/** The rows Spot-spend alerts look at: priced Spot or preemptible hours. */
export function isAlertable(row: CostRow): boolean {
  return (
    row.cost !== undefined &&
    row.provisioningModel !== 'UNKNOWN' &&
    isSpotLike(row.provisioningModel)
  );
}

function teamOf(row: CostRow): string | undefined {
  return row.attributes.labels[LABEL.team] || undefined;
}

function addSpend(
  totals: Map<string, HourTotals>,
  hour: string,
  team: string | undefined,
  spend: number,
): void {
  let t = totals.get(hour);
  if (!t) {
    t = { overall: 0, teams: new Map() };
    totals.set(hour, t);
  }
  t.overall += spend;
  if (team) t.teams.set(team, (t.teams.get(team) ?? 0) + spend);
}

export function planAlerts(input: {
  hours: readonly Date[];
  rows: readonly CostRow[];
  history: readonly HourSpend[];
  rules: SpotAlertRules;
  sent: ReadonlySet<string>;
  currency: string;
}): SpotAlert[] {
  const { rules } = input;
  const fresh = input.rows.filter(isAlertable);
  // This run's rows replace the ledger's for the hours they cover: they are newer.
  const freshHours = new Set(fresh.map((r) => r.hour.toISOString()));
  const totals = new Map<string, HourTotals>();
  for (const h of input.history) {
    if (!freshHours.has(h.hour)) addSpend(totals, h.hour, h.team, h.spend);
  }
  for (const r of fresh) addSpend(totals, r.hour.toISOString(), teamOf(r), r.cost ?? 0);

  const alerts: SpotAlert[] = [];
  for (const hour of input.hours) {
    const iso = hour.toISOString();
    const current = totals.get(iso);
    if (!current || !freshHours.has(iso)) continue;
    const trailing = Array.from({ length: TRAILING_HOURS }, (_, i) =>
      totals.get(new Date(hour.getTime() - (i + 1) * HOUR_MS).toISOString()),
    );
    const historyHours = trailing.filter((t) => t !== undefined).length;
    const inHour = fresh.filter((r) => r.hour.getTime() === hour.getTime());

    const evaluate = (team: string | undefined, spend: number, limit: number | undefined): void => {
      const scope = team ? `team:${team}` : OVERALL;
      const key = `${iso}/${scope}`;
      if (input.sent.has(key)) return;
      const average =
        trailing.reduce((sum, t) => sum + ((team ? t?.teams.get(team) : t?.overall) ?? 0), 0) /
        TRAILING_HOURS;
      const reasons: AlertReason[] = [];
      if (limit !== undefined && spend > limit) reasons.push('limit');
      const multiple = rules.spikeMultiple;
      if (
        multiple !== undefined &&
        historyHours >= MIN_HISTORY_HOURS &&
        average > 0 &&
        spend >= rules.spikeMinimum &&
        spend > multiple * average
      ) {
        reasons.push('spike');
      }
      if (reasons.length === 0) return;
      const topVms = inHour
        .filter((r) => !team || teamOf(r) === team)
        .sort((a, b) => (b.cost ?? 0) - (a.cost ?? 0))
        .slice(0, TOP_VMS)
        .map((r) => ({
          project: r.attributes.project,
          zone: r.attributes.zone,
          name: r.attributes.instanceName,
          machineType: r.attributes.machineType ?? '',
          team: teamOf(r),
          cost: r.cost ?? 0,
        }));
      alerts.push({
        key,
        hour,
        scope,
        team,
        reasons,
        spend,
        limit,
        trailingAverage: historyHours >= MIN_HISTORY_HOURS ? average : undefined,
        spikeMultiple: multiple,
        currency: input.currency,
        topVms,
      });
    };

    evaluate(undefined, current.overall, rules.overallPerHour);
    for (const [team, spend] of [...current.teams].sort(([a], [b]) => a.localeCompare(b))) {
      evaluate(team, spend, rules.teamPerHour[team] ?? rules.teamPerHour['*']);
    }
  }
  return alerts;
}
