/**
 * A cap's spend, a pure function of what the ledger has recorded and what runs now. Spend so
 * far = the recorded hours of the period + the hours not yet recorded: each running VM's rate ×
 * the time since the ledger's last recorded hour (or since the VM started, if later), and each
 * VM that ran in that time but has stopped since, for the time it ran. The
 * forecast carries the higher of two burn rates to the period's end: the last recorded hours'
 * average and the running fleet's rate, so neither a fleet that just grew nor one that churns
 * between runs is forecast low.
 */
import type { BudgetPeriod, CivilDate } from '../adapters/budgets.js';
import { HOUR_MS } from '../core/clock.js';
import type { CalendarPeriodKind } from './cap-policy.js';

export interface CapPeriod {
  readonly start: Date;
  readonly end: Date;
}

/** The calendar period (UTC) that holds `now`; weeks start on Monday. */
export function capPeriod(kind: CalendarPeriodKind, now: Date): CapPeriod {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  switch (kind) {
    case 'day':
      return { start: new Date(Date.UTC(y, m, d)), end: new Date(Date.UTC(y, m, d + 1)) };
    case 'week': {
      const sinceMonday = (now.getUTCDay() + 6) % 7;
      return {
        start: new Date(Date.UTC(y, m, d - sinceMonday)),
        end: new Date(Date.UTC(y, m, d - sinceMonday + 7)),
      };
    }
    case 'month':
      return { start: new Date(Date.UTC(y, m, 1)), end: new Date(Date.UTC(y, m + 1, 1)) };
    case 'quarter': {
      const first = m - (m % 3);
      return { start: new Date(Date.UTC(y, first, 1)), end: new Date(Date.UTC(y, first + 3, 1)) };
    }
    case 'year':
      return { start: new Date(Date.UTC(y, 0, 1)), end: new Date(Date.UTC(y + 1, 0, 1)) };
  }
}

/**
 * Cloud Billing's periods start at midnight US Pacific time (the API says UTC-8; notifications'
 * costIntervalStart follow daylight saving time, e.g. 07:00Z on 1 November), so a cap that
 * follows a budget counts from the same instant its notifications do.
 */
const PACIFIC = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/Los_Angeles',
  hourCycle: 'h23',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
});

/** Pacific time's civil date and hour at an instant. */
function pacificParts(at: number): {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
} {
  const part = (type: string) =>
    Number(PACIFIC.formatToParts(at).find((p) => p.type === type)?.value ?? 0);
  return {
    year: part('year'),
    month: part('month'),
    day: part('day'),
    hour: part('hour'),
    minute: part('minute'),
  };
}

/** The instant of midnight Pacific time on a civil date; month and day may overflow. */
function pacificMidnight(year: number, month: number, day: number): Date {
  const local = Date.UTC(year, month - 1, day);
  let at = local + 8 * HOUR_MS;
  // Twice: the offset is read at the guess, which may sit on the other side of a DST change.
  for (let i = 0; i < 2; i++) {
    const p = pacificParts(at);
    const offset = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - at;
    at = local - offset;
  }
  return new Date(at);
}

/** The budget period that holds `now`, or why there is none (ended, not begun, no end). */
export function budgetCapPeriod(
  budget: BudgetPeriod,
  now: Date,
): { period: CapPeriod } | { problem: string } {
  if (budget.kind === 'custom') {
    const start = pacificMidnight(budget.start.year, budget.start.month, budget.start.day);
    if (!budget.end) {
      return {
        problem: `the budget counts from ${civil(budget.start)} with no end date; a cap needs a period end`,
      };
    }
    const end = pacificMidnight(budget.end.year, budget.end.month, budget.end.day + 1);
    if (now < start || now >= end) {
      return {
        problem: `the budget's period ${civil(budget.start)} to ${civil(budget.end)} does not hold ${now.toISOString()}`,
      };
    }
    return { period: { start, end } };
  }
  const { year, month } = pacificParts(now.getTime());
  const months = { MONTH: 1, QUARTER: 3, YEAR: 12 }[budget.unit];
  const first = budget.unit === 'YEAR' ? 1 : month - ((month - 1) % months);
  return {
    period: {
      start: pacificMidnight(year, first, 1),
      end: pacificMidnight(year, first + months, 1),
    },
  };
}

function civil(date: CivilDate): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${date.year}-${two(date.month)}-${two(date.day)}`;
}

/**
 * The period of a cap that holds `now`: its calendar period, or that of the budget it follows
 * (`budget`, read by the caller), or why there is none.
 */
export function periodOfCap(
  cap: { readonly period: CalendarPeriodKind | 'budget' },
  now: Date,
  budget: BudgetPeriod | undefined,
): { period: CapPeriod } | { problem: string } {
  if (cap.period !== 'budget') return { period: capPeriod(cap.period, now) };
  return budget ? budgetCapPeriod(budget, now) : { problem: 'its budget could not be read' };
}

/** Recorded spend of one hour of the period, in the cap's scope and currency. */
export interface RecordedHour {
  /** The hour's start. */
  readonly hour: Date;
  readonly spend: number;
}

/** A VM in the cap's scope that is running now. */
export interface RunningVm {
  readonly hourly: number;
  /** When it last started, where Compute says. */
  readonly startedAt: Date | undefined;
}

/** A VM in the cap's scope that stopped after the ledger's last recorded hour. */
export interface StoppedVm {
  readonly hourly: number;
  readonly startedAt: Date | undefined;
  readonly stoppedAt: Date;
}

export interface CapSpendInput {
  readonly amount: number;
  readonly period: CapPeriod;
  readonly now: Date;
  readonly recorded: readonly RecordedHour[];
  /** The end of the last hour the ledger has recorded (for any VM), if any. */
  readonly recordedThrough: Date | undefined;
  readonly running: readonly RunningVm[];
  /** VMs that stopped since the last recorded hour: their time up to the stop is not recorded yet. */
  readonly stopped?: readonly StoppedVm[];
  /** How many recorded hours the recent burn rate averages over. */
  readonly recentHours: number;
}

/** The not-yet-recorded spend that falls into one hour. */
export interface OpenHour {
  readonly hour: Date;
  readonly spend: number;
  /** Seconds of the hour the estimate covers (3600 when it covers the whole hour). */
  readonly seconds: number;
}

export interface CapSpend {
  readonly recorded: number;
  /** Recorded hours count up to here; the estimate covers the time from here to now. */
  readonly recordedThrough: Date;
  readonly estimated: number;
  readonly openHours: readonly OpenHour[];
  readonly spend: number;
  readonly runningVms: number;
  /** VMs that ran after the last recorded hour and have stopped since, estimated up to their stop. */
  readonly stoppedVms: number;
  /** The running fleet's rate per hour. */
  readonly fleetRate: number;
  /** The last recorded hours' average per hour; undefined when the period has none yet. */
  readonly recentRate: number | undefined;
  readonly forecast: number;
  readonly forecastMethod: string;
  readonly headroom: number;
  readonly spendRatio: number;
  readonly forecastRatio: number;
}

function clamp(time: number, low: number, high: number): number {
  return Math.min(Math.max(time, low), high);
}

/** Money kept to a millionth, so sums of many small rates do not show binary noise. */
function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

function rate(value: number): string {
  return value.toFixed(4).replace(/\.?0+$/, '');
}

export function computeCapSpend(input: CapSpendInput): CapSpend {
  const { period, amount } = input;
  const now = clamp(input.now.getTime(), period.start.getTime(), period.end.getTime());
  const inPeriod = input.recorded.filter(
    (h) => h.hour.getTime() >= period.start.getTime() && h.hour.getTime() < now,
  );
  const through = clamp(input.recordedThrough?.getTime() ?? 0, period.start.getTime(), now);
  const recordedHours = inPeriod.filter((h) => h.hour.getTime() < through);
  const recorded = round(recordedHours.reduce((sum, h) => sum + h.spend, 0));

  const open = new Map<number, { spend: number; seconds: number }>();
  let estimated = 0;
  let fleetRate = 0;
  /** Adds the VM's time from the last recorded hour (or its start) to `until`; whether any. */
  const accrue = (hourly: number, startedAt: Date | undefined, until: number): boolean => {
    const from = Math.max(through, startedAt?.getTime() ?? through);
    for (let t = from; t < until;) {
      const hour = Math.floor(t / HOUR_MS) * HOUR_MS;
      const end = Math.min(hour + HOUR_MS, until);
      const spend = (hourly * (end - t)) / HOUR_MS;
      const slot = open.get(hour) ?? { spend: 0, seconds: 0 };
      slot.spend += spend;
      open.set(hour, slot);
      estimated += spend;
      t = end;
    }
    return from < until;
  };
  for (const vm of input.running) {
    fleetRate += vm.hourly;
    accrue(vm.hourly, vm.startedAt, now);
  }
  // A VM that stopped no longer burns, but its time since the last recorded hour was spent.
  let stoppedVms = 0;
  for (const vm of input.stopped ?? []) {
    if (accrue(vm.hourly, vm.startedAt, Math.min(vm.stoppedAt.getTime(), now))) stoppedVms += 1;
  }
  // Seconds covered are the window's, not the VMs': the estimate of an hour is whole once the
  // window from `through` to now spans it.
  const openHours = [...open.entries()]
    .sort(([a], [b]) => a - b)
    .map(([hour, slot]) => ({
      hour: new Date(hour),
      spend: round(slot.spend),
      seconds: Math.round((Math.min(hour + HOUR_MS, now) - Math.max(hour, through)) / 1000),
    }));

  const recent = recordedHours
    .filter((h) => h.hour.getTime() >= through - input.recentHours * HOUR_MS)
    .reduce((sum, h) => sum + h.spend, 0);
  const recentSpan = Math.min(input.recentHours, (through - period.start.getTime()) / HOUR_MS);
  const recentRate = recentSpan > 0 ? round(recent / recentSpan) : undefined;
  const spend = round(recorded + estimated);
  const burn = Math.max(recentRate ?? 0, fleetRate);
  const hoursLeft = (period.end.getTime() - now) / HOUR_MS;
  const forecast = round(spend + burn * hoursLeft);
  const recentText =
    recentRate === undefined
      ? `no recorded hour yet`
      : `last ${rate(recentSpan)} recorded h ${rate(recentRate)}/h`;
  return {
    recorded,
    recordedThrough: new Date(through),
    estimated: round(estimated),
    openHours,
    spend,
    runningVms: input.running.length,
    stoppedVms,
    fleetRate: round(fleetRate),
    recentRate,
    forecast,
    forecastMethod: `spend so far + max(${recentText}, running fleet ${rate(fleetRate)}/h) × ${rate(hoursLeft)} h to period end`,
    headroom: round(amount - spend),
    spendRatio: spend / amount,
    forecastRatio: forecast / amount,
  };
}
