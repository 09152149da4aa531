/**
 * Where a run of a pipeline with several candidate VMs goes, decided without I/O: the idle
 * candidate with the lowest recent preemption rate of its zone and machine family (preemptions
 * per 100 Spot VM-hours, from the ledger's `preemption_rate_daily` view over the last days).
 * A candidate whose zone and family have no Spot hours recorded in that window ranks after
 * every candidate with a rate (a measured rate beats none), those by fewest preemptions; equal
 * ranks keep the order the pipeline lists its candidates in. The placement says why, candidate
 * by candidate, and is kept with the run.
 */
import type { RecentPreemptions } from '../preemptions/preemption-rates.js';
import type { VmCandidate } from './config.js';

/** Days of preemptions and Spot hours the rate is taken over. */
export const RATE_WINDOW_DAYS = 7;

/** The recent preemption record of one zone and machine family. */
export type ZoneRate = RecentPreemptions;

/** What a start found of one candidate. */
export interface CandidateLook extends VmCandidate {
  /** `n2`, `c2`, ... from the VM's machine type; undefined when the VM is missing. */
  readonly machineFamily: string | undefined;
  /** Undefined: the VM can be claimed now; else why not. */
  readonly unavailable?: {
    readonly kind: 'missing' | 'not-terminated' | 'busy';
    readonly reason: string;
  };
}

export type CandidateVerdict = 'chosen' | 'eligible' | 'missing' | 'not-terminated' | 'busy';

/** One candidate in a run's placement, as the API and the ledger show it. */
export interface PlacedCandidate extends VmCandidate {
  readonly verdict: CandidateVerdict;
  readonly machineFamily: string | null;
  /** Preemptions per 100 Spot VM-hours in the window; null without recorded hours. */
  readonly preemptionsPer100Hours: number | null;
  readonly preemptions: number;
  readonly spotVmHours: number;
  readonly reason: string;
}

/** Which candidate a run took and why. */
export interface Placement {
  /** `ZONE/INSTANCE` of the VM taken; null when none could be. */
  readonly chosen: string | null;
  readonly windowDays: number;
  readonly rule: string;
  readonly candidates: readonly PlacedCandidate[];
}

export const PLACEMENT_RULE =
  'idle (TERMINATED and unclaimed) candidates, lowest preemptions per 100 Spot VM-hours first; ' +
  'without recorded hours after those, fewest preemptions first; ties in listed order';

export function machineFamilyOf(machineType: string): string {
  const dash = machineType.indexOf('-');
  return dash > 0 ? machineType.slice(0, dash) : machineType;
}

function round(value: number, places: number): number {
  const scale = 10 ** places;
  return Math.round(value * scale) / scale;
}

/** The rate of a candidate's zone and family, where recorded (Spot hours > 0). */
function rateOf(rate: ZoneRate | undefined): number | null {
  return rate && rate.spotVmHours > 0
    ? round((100 * rate.preemptions) / rate.spotVmHours, 4)
    : null;
}

function describeRate(per100: number | null, rate: ZoneRate | undefined, days: number): string {
  const preemptions = rate?.preemptions ?? 0;
  if (per100 === null) {
    return `no Spot VM-hours recorded in ${days} days (${preemptions} preemptions)`;
  }
  return `${per100} preemptions per 100 Spot VM-hours (${preemptions} in ${round(rate?.spotVmHours ?? 0, 2)} h over ${days} days)`;
}

/**
 * Ranks the candidates and picks the first idle one. `rates` holds the recent record of each
 * zone and machine family that has one.
 */
export function pickCandidate(
  looks: readonly CandidateLook[],
  rates: readonly ZoneRate[],
  windowDays = RATE_WINDOW_DAYS,
): { readonly chosen: number | undefined; readonly placement: Placement } {
  const ranked = looks.map((look, index) => {
    const rate = rates.find((r) => r.zone === look.zone && r.machineFamily === look.machineFamily);
    return { look, index, rate, per100: look.machineFamily ? rateOf(rate) : null };
  });
  const order = ranked
    .filter((c) => c.look.unavailable === undefined)
    .sort(
      (a, b) =>
        Number(a.per100 === null) - Number(b.per100 === null) ||
        (a.per100 ?? 0) - (b.per100 ?? 0) ||
        (a.per100 === null ? (a.rate?.preemptions ?? 0) - (b.rate?.preemptions ?? 0) : 0) ||
        a.index - b.index,
    );
  const chosen = order[0]?.index;
  const candidates = ranked.map(({ look, index, rate, per100 }): PlacedCandidate => {
    const measured = describeRate(per100, rate, windowDays);
    const verdict: CandidateVerdict =
      look.unavailable?.kind ?? (index === chosen ? 'chosen' : 'eligible');
    const reason =
      verdict === 'chosen'
        ? `chosen: ${measured}`
        : verdict === 'eligible'
          ? `idle, ranked ${order.findIndex((c) => c.index === index) + 1} of ${order.length}: ${measured}`
          : `${verdict}: ${look.unavailable?.reason ?? ''}`;
    return {
      zone: look.zone,
      instance: look.instance,
      verdict,
      machineFamily: look.machineFamily ?? null,
      preemptionsPer100Hours: per100,
      preemptions: rate?.preemptions ?? 0,
      spotVmHours: round(rate?.spotVmHours ?? 0, 4),
      reason,
    };
  });
  const pick = chosen === undefined ? undefined : looks[chosen];
  return {
    chosen,
    placement: {
      chosen: pick ? `${pick.zone}/${pick.instance}` : null,
      windowDays,
      rule: PLACEMENT_RULE,
      candidates,
    },
  };
}
