/**
 * The shedding path's pure verdicts: what became of each VM (a fresh stop's result, or an earlier
 * attempt's decision settled by the VM's state now), and whether the tier is done (ACTED) or
 * INCOMPLETE, and if so whether a retry of the trigger now could finish it. No I/O: the
 * orchestrator (shed-tier.ts) gathers the facts and acts on the verdicts.
 */
import { OperationNotConfirmedError } from '../adapters/compute.js';
import { errorMessage, isNotFound, isTransient } from '../core/errors.js';
import { asPriority } from '../core/labels.js';
import type { HourlyRate } from '../core/pricing.js';
import { regionOfZone, type Vm } from '../core/vm.js';
import type { NotificationOutcome } from './decide-notification.js';
import type { ActionName, RecordedDecision, VmOutcome } from './enforcement-ledger.js';
import { UNPRICED, type PlannedAction, type PlannedVm } from './plan-shedding.js';

/** A settled stop request or state read; `undefined` when none was made. */
export type Settled<T> = PromiseSettledResult<T> | undefined;

/** How a VM the plan spares is recorded. */
export const SPARED_ACTION: Record<Exclude<PlannedAction, 'STOP'>, ActionName> = {
  SKIP_EXEMPT: 'SKIPPED_EXEMPT',
  SKIP_MIG: 'SKIPPED_MIG',
  SKIP_CAP: 'SKIPPED_CAP',
};

const RECORDED_PLAN: Partial<Record<ActionName, PlannedAction>> = {
  SKIPPED_EXEMPT: 'SKIP_EXEMPT',
  SKIPPED_MIG: 'SKIP_MIG',
  SKIPPED_CAP: 'SKIP_CAP',
};

const INTENT_SUFFIX = /; stop requested$/;

/** The reason an intent row carries: the plan's reason and that the stop was asked for. */
export function intentReason(reason: string): string {
  return `${reason}; stop requested`;
}

/**
 * A stop request that failed: already gone is done; an operation not seen to finish is
 * UNCONFIRMED (the next attempt looks again); anything else FAILED, transient or not.
 */
function failedStop(
  base: Omit<VmOutcome, 'action' | 'reason'>,
  intent: string,
  error: unknown,
): VmOutcome {
  if (isNotFound(error)) return { ...base, action: 'STOPPED', reason: `${intent}; already gone` };
  if (error instanceof OperationNotConfirmedError) {
    return {
      ...base,
      action: 'UNCONFIRMED',
      reason: `${intent}; ${error.message}`,
      transient: true,
    };
  }
  return { ...base, action: 'FAILED', reason: errorMessage(error), transient: isTransient(error) };
}

/** What became of a VM the plan decided about, given its stop request's result. */
export function plannedOutcome(
  planned: PlannedVm,
  requestId: string | undefined,
  stop: Settled<unknown>,
  dryRun: boolean,
): VmOutcome {
  const base = { planned, requestId, transient: false };
  if (planned.action !== 'STOP') {
    return { ...base, action: SPARED_ACTION[planned.action], reason: planned.reason };
  }
  if (dryRun) return { ...base, action: 'WOULD_STOP', reason: `${planned.reason}; dry run` };
  if (stop?.status === 'fulfilled') return { ...base, action: 'STOPPED', reason: planned.reason };
  return failedStop(base, planned.reason, stop?.reason);
}

/** An earlier decision as a planned VM, with the VM as it is now where it still exists. */
export function plannedFrom(d: RecordedDecision, now: Vm | undefined): PlannedVm {
  const vm: Vm = now ?? {
    project: d.project,
    zone: d.zone,
    region: regionOfZone(d.zone),
    name: d.instance,
    id: d.instanceId ?? '',
    status: 'UNKNOWN',
    machineType: d.machineType ?? '',
    provisioningModel:
      d.provisioningModel === 'SPOT' || d.provisioningModel === 'PREEMPTIBLE'
        ? d.provisioningModel
        : 'STANDARD',
    terminationAction: undefined,
    labels: {},
    labelFingerprint: '',
    gpus: [],
    managedBy: undefined,
    createdAt: undefined,
  };
  const rate: HourlyRate =
    d.hourlyCost === undefined
      ? UNPRICED
      : {
          hourly: d.hourlyCost,
          spot: undefined,
          onDemand: 0,
          currency: d.priceCurrency ?? UNPRICED.currency,
          source: d.priceSource as HourlyRate['source'],
        };
  return {
    vm,
    priority: asPriority(d.priority) ?? 'low',
    rate,
    action: RECORDED_PLAN[d.action] ?? 'STOP',
    reason: d.reason.replace(INTENT_SUFFIX, ''),
  };
}

/** An earlier attempt's decision as it stands now, and whether it changed (to be recorded). */
export interface RecoveredOutcome {
  readonly outcome: VmOutcome;
  readonly changed: boolean;
}

/**
 * What became of an earlier attempt's decision: a decision it recorded stands; a stop it asked
 * for (a STOPPING intent) is settled by the VM's state now (`read`) and, for a VM still running,
 * by the stop requested again with the intent's requestId (`restop`).
 */
export function recoveredOutcome(
  d: RecordedDecision,
  read: Settled<Vm | undefined>,
  restop: Settled<unknown>,
): RecoveredOutcome {
  const vm = read?.status === 'fulfilled' ? read.value : undefined;
  const base = { planned: plannedFrom(d, vm), requestId: d.requestId, transient: false };
  if (d.action !== 'STOPPING') {
    return { outcome: { ...base, action: d.action, reason: d.reason }, changed: false };
  }
  const intent = d.reason.replace(INTENT_SUFFIX, '');
  const settled = (outcome: VmOutcome): RecoveredOutcome => ({ outcome, changed: true });
  if (read?.status === 'rejected') {
    const error: unknown = read.reason;
    return settled({
      ...base,
      action: 'FAILED',
      reason: `${intent}; state unknown: ${errorMessage(error)}`,
      transient: isTransient(error),
    });
  }
  if (!vm) return settled({ ...base, action: 'STOPPED', reason: `${intent}; already gone` });
  if (!restop) {
    return settled({
      ...base,
      action: 'STOPPED',
      reason: `${intent}; stop requested by an earlier delivery, found ${vm.status}`,
    });
  }
  if (restop.status === 'fulfilled' || isNotFound(restop.reason)) {
    return settled({ ...base, action: 'STOPPED', reason: `${intent}; stopped on redelivery` });
  }
  return settled(failedStop(base, intent, restop.reason));
}

/** What an attempt at a tier left undone, counted. */
export interface TierShortfall {
  /** Stops that failed for a reason a retry can fix. */
  readonly transientStops: number;
  /** Stops requested whose operation was not seen to finish (this attempt's and earlier ones'). */
  readonly unconfirmedStops: number;
  /** Projects whose listing failed, and how many of them transiently. */
  readonly failedListings: number;
  readonly transientListings: number;
  /** Zones Compute could not reach: their VMs were never planned. */
  readonly unreachableZones: number;
}

export interface TierVerdict {
  readonly outcome: Extract<NotificationOutcome, 'ACTED' | 'INCOMPLETE'>;
  /** Whether a retry of the trigger now could finish the tier. */
  readonly retry: boolean;
}

/**
 * ACTED, or INCOMPLETE when anything is left undone: a project that could not be listed (even
 * for good) or a zone that could not be reached leaves the tier open for a later attempt of the
 * period; only transient stops, unconfirmed stops and transient listings ask for a retry now.
 */
export function tierVerdict(s: TierShortfall): TierVerdict {
  const retry = s.transientStops > 0 || s.unconfirmedStops > 0 || s.transientListings > 0;
  const incomplete = retry || s.failedListings > 0 || s.unreachableZones > 0;
  return { outcome: incomplete ? 'INCOMPLETE' : 'ACTED', retry };
}
