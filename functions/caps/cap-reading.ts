/**
 * One cap's reading in a run, a pure function of the run's fleet and the ledger's figures: the
 * VMs in its scope, its spend so far (recorded + estimated), forecast and headroom, the tiers
 * they reach, what the run could not see (notes), and the shedding trigger it makes.
 */
import type { SpendReading } from '../budget/decide-notification.js';
import { describeGaps, type ListingFailure, type ZoneGap } from '../adapters/list-vms.js';
import { tierReached } from '../budget/policy.js';
import type { ShedTrigger } from '../budget/shed-trigger.js';
import type { HourlyRate } from '../core/pricing.js';
import { vmKey, type Vm } from '../core/vm.js';
import { describeScope, type SpotCap } from './cap-policy.js';
import { computeCapSpend, type CapPeriod, type CapSpend, type RecordedHour } from './cap-spend.js';

/** What one run saw of the fleet, shared by every cap of the run. */
export interface RunFleet {
  readonly runId: string;
  readonly now: Date;
  /** The running VMs some cap governs. */
  readonly vms: readonly Vm[];
  /**
   * The VMs some cap governs that are not running but stopped after the ledger's last recorded
   * hour: the time they ran since that hour is spent and not recorded yet.
   */
  readonly stopped: readonly Vm[];
  readonly rates: ReadonlyMap<string, HourlyRate>;
  readonly failures: readonly ListingFailure[];
  readonly gaps: readonly ZoneGap[];
  /** The end of the last hour the recorder has written, if any. */
  readonly through: Date | undefined;
}

export interface CapReading {
  readonly period: CapPeriod;
  readonly projects: readonly string[];
  /** The running VMs in the cap's scope. */
  readonly scoped: readonly Vm[];
  readonly failures: readonly ListingFailure[];
  readonly gaps: readonly ZoneGap[];
  readonly spend: CapSpend;
  readonly tierReached: number | undefined;
  readonly forecastTier: number | undefined;
  /** The cap's scope in words. */
  readonly scope: string;
  /** What the estimate leaves out, one note each. */
  readonly notes: readonly string[];
  readonly trigger: ShedTrigger;
  /** What the decision reads, as it reads a budget notification. */
  readonly spendReading: SpendReading;
}

/** Whether the VM is in the cap's scope (projects, provisioning models, label). */
export function inCapScope(vm: Vm, cap: SpotCap, projects: ReadonlySet<string>): boolean {
  return (
    projects.has(vm.project) &&
    (cap.provisioningModels as readonly string[]).includes(vm.provisioningModel) &&
    (!cap.scope.label || vm.labels[cap.scope.label.key] === cap.scope.label.value)
  );
}

/** The projects a cap covers: those it names, or every governed project. */
export function capProjects(cap: SpotCap, governed: readonly string[]): readonly string[] {
  return cap.scope.projects ?? governed;
}

export function readCap(input: {
  readonly cap: SpotCap;
  /** The cap's period that holds the run's time (see periodOfCap). */
  readonly period: CapPeriod;
  readonly governed: readonly string[];
  readonly run: RunFleet;
  readonly recorded: readonly RecordedHour[];
  readonly recentHours: number;
}): CapReading {
  const { cap, run, period } = input;
  const { now } = run;
  const projects = capProjects(cap, input.governed);
  const projectSet = new Set(projects);
  const scoped = run.vms.filter((vm) => inCapScope(vm, cap, projectSet));
  // A rate in another currency than the cap's cannot be added to it; it is left out and said.
  const isPriced = (vm: Vm) => run.rates.get(vmKey(vm))?.currency === cap.currency;
  const hourly = (vm: Vm) => run.rates.get(vmKey(vm))?.hourly ?? 0;
  const since = (at: string | undefined) => (at ? new Date(at) : undefined);
  const priced = scoped.filter(isPriced);
  const stopped = run.stopped.filter((vm) => inCapScope(vm, cap, projectSet));
  const pricedStopped = stopped.filter(isPriced);
  const spend = computeCapSpend({
    amount: cap.amount,
    period,
    now,
    recorded: input.recorded,
    recordedThrough: run.through,
    running: priced.map((vm) => ({ hourly: hourly(vm), startedAt: since(vm.startedAt) })),
    stopped: pricedStopped.flatMap((vm) => {
      const stoppedAt = since(vm.stoppedAt);
      return stoppedAt ? [{ hourly: hourly(vm), startedAt: since(vm.startedAt), stoppedAt }] : [];
    }),
    recentHours: input.recentHours,
  });
  const failures = run.failures.filter((f) => projectSet.has(f.project));
  const gaps = run.gaps.filter((g) => projectSet.has(g.project));
  const scope = describeScope(cap.scope, projects);
  const notes = [
    scoped.length > priced.length
      ? `${scoped.length - priced.length} running VM(s) without a ${cap.currency} price are left out of the estimate`
      : undefined,
    stopped.length > pricedStopped.length
      ? `${stopped.length - pricedStopped.length} VM(s) stopped since the last recorded hour without a ${cap.currency} price are left out of the estimate`
      : undefined,
    spend.stoppedVms > 0
      ? `${spend.stoppedVms} VM(s) stopped since the last recorded hour are estimated up to their stop`
      : undefined,
    ...failures.map((f) => `${f.project} could not be listed; its running VMs are not estimated`),
    ...(gaps.length > 0
      ? [`zones unreachable, their running VMs not estimated: ${describeGaps(gaps)}`]
      : []),
  ].filter((s): s is string => s !== undefined);
  const forecastTier = tierReached(cap, spend.forecastRatio)?.at;
  const elapsed =
    (now.getTime() - period.start.getTime()) / (period.end.getTime() - period.start.getTime());
  const trigger: ShedTrigger = {
    kind: 'cap',
    id: cap.name,
    displayName: cap.name,
    runId: run.runId,
    billingAccountId: '',
    periodStart: period.start.toISOString(),
    spend: spend.spend,
    amount: cap.amount,
    currency: cap.currency,
    spendRatio: spend.spendRatio,
    outlook: {
      recorded: spend.recorded,
      estimated: spend.estimated,
      forecast: spend.forecast,
      forecastMethod: spend.forecastMethod,
      periodEnd: period.end.toISOString(),
      elapsed,
      scope,
    },
  };
  return {
    period,
    projects,
    scoped,
    failures,
    gaps,
    spend,
    tierReached: tierReached(cap, spend.spendRatio)?.at,
    forecastTier,
    scope,
    notes,
    trigger,
    spendReading: {
      messageId: run.runId,
      costAmount: spend.spend,
      spendRatio: spend.spendRatio,
      forecastThresholdExceeded: forecastTier,
    },
  };
}
