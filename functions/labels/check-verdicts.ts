/**
 * The label enforcers' verdicts, pure: whether a sweep left work a retry can finish, why the VM
 * an insert created is not checked, and what a sweep reports to its caller.
 */
import type { ListingFailure, ZoneGap } from '../adapters/list-vms.js';
import { isTransient } from '../core/errors.js';
import { vmKey, type Vm } from '../core/vm.js';
import type { InstanceInsertEntry } from './audit-event.js';
import { acted, type CheckOutcome, type CheckRun, type SweepReport } from './check-outcome.js';
import type { DigestCounts } from './label-digest.js';
import type { LabelPolicy } from './label-policy.js';

export interface SweepListing {
  readonly failures: readonly ListingFailure[];
  readonly gaps: readonly ZoneGap[];
}

/** A zone Compute could not reach, or a listing or a check that failed transiently, is retried. */
export function sweepNeedsRetry(listing: SweepListing, outcomes: readonly CheckOutcome[]): boolean {
  return (
    listing.gaps.length > 0 ||
    listing.failures.some((f) => isTransient(f.error)) ||
    outcomes.some((o) => o.status === 'failed' && o.transient)
  );
}

/** Why the VM an insert created is not even looked up, or undefined when it is. */
export function skipBeforeLookup(
  entry: InstanceInsertEntry,
  projects: readonly string[],
): string | undefined {
  if (entry.failure) return `the insert failed (${entry.failure})`;
  if (!projects.includes(entry.ref.project)) return 'outside the governed projects';
  return undefined;
}

/** The VM Compute returned if it is the one the insert created, or why it is not checked. */
export function identifyCreated(
  entry: InstanceInsertEntry,
  vm: Vm | undefined,
): { readonly vm: Vm } | { readonly skip: string } {
  if (!vm) {
    return entry.phase === 'first'
      ? { skip: 'not visible yet; the last audit entry checks it' }
      : { skip: 'the VM no longer exists' };
  }
  if (entry.instanceId !== undefined && vm.id !== entry.instanceId) {
    return { skip: `the name now belongs to another instance (${vm.id})` };
  }
  return { vm };
}

export function inPolicyScope(vm: Vm, policy: LabelPolicy): boolean {
  return policy.provisioningModels.includes(vm.provisioningModel);
}

const MAX_REPORTED_ACTIONS = 100;

/** The sweep's reply: counts, and the VMs acted on (or failed), first 100. */
export function sweepReport(
  run: CheckRun,
  projects: readonly string[],
  listing: SweepListing,
  outcomes: readonly CheckOutcome[],
  reported: { readonly counts: DigestCounts; rowsRecorded: number; digestPosted: boolean },
): SweepReport {
  const actions = outcomes
    .filter((o) => acted(o) || o.status === 'failed')
    .slice(0, MAX_REPORTED_ACTIONS)
    .map((o) => ({
      vm: vmKey(o.vm),
      action: o.evaluation.action,
      status: o.status,
      ...(o.evaluation.stopAfter ? { stopAfter: o.evaluation.stopAfter } : {}),
    }));
  return {
    runId: run.id,
    dryRun: run.dryRun,
    projects,
    failedProjects: listing.failures.map((f) => f.project),
    unreachableZones: listing.gaps.map((g) => `${g.project}/${g.zone}`),
    counts: reported.counts,
    actions,
    rowsRecorded: reported.rowsRecorded,
    digestPosted: reported.digestPosted,
  };
}
