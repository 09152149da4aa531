/**
 * What label checks come to: one VM's outcome (the value the ledger rows, the log lines and the
 * Slack digest are all made from), and what a sweep or the check of a created VM reports.
 */
import type { HourlyRate } from '../core/pricing.js';
import type { Vm } from '../core/vm.js';
import type { LabelEvaluation, Violation } from './evaluate-labels.js';
import type { DigestCounts } from './label-digest.js';

export type CheckKind = 'sweep' | 'create';

export interface CheckRun {
  /** `sweep-<time>` for a sweep, `create-<operation id>` for an insert: a re-run has the same id. */
  readonly id: string;
  readonly kind: CheckKind;
  readonly checkedAt: Date;
  readonly dryRun: boolean;
}

/**
 * done: carried out, or nothing to carry out; planned: dry-run, not carried out;
 * failed: an API call failed; gone: the VM disappeared before it could be changed.
 */
export type ActionStatus = 'done' | 'planned' | 'failed' | 'gone';

export interface CheckOutcome {
  readonly vm: Vm;
  readonly evaluation: LabelEvaluation;
  readonly status: ActionStatus;
  /** Labels the VM carries after the check (as found when nothing was written). */
  readonly labels: Readonly<Record<string, string>>;
  /** Compliance of those labels: a dry run or a failed write leaves the VM as found. */
  readonly compliant: boolean;
  readonly violations: readonly Violation[];
  readonly rate: HourlyRate | undefined;
  readonly error: string | undefined;
  /** Whether a retry of the same run could succeed where this one failed. */
  readonly transient: boolean;
}

/** Whether the outcome changed (or, in a dry run, would change) something on the VM. */
export function acted(outcome: CheckOutcome): boolean {
  return (
    (outcome.status === 'done' || outcome.status === 'planned') &&
    !['none', 'report'].includes(outcome.evaluation.action)
  );
}

export interface SweepRequest {
  readonly id: string;
  /** Can only make a run safer: a configured dry run stays one. */
  readonly dryRun?: boolean;
  /** A subset of the configured projects. */
  readonly projects?: readonly string[];
}

export interface VmActionSummary {
  readonly vm: string;
  readonly action: string;
  readonly status: string;
  readonly stopAfter?: string;
}

export interface SweepReport {
  readonly runId: string;
  readonly dryRun: boolean;
  readonly projects: readonly string[];
  readonly failedProjects: readonly string[];
  /** Zones Compute could not reach (`project/zone`): their VMs were not checked this run. */
  readonly unreachableZones: readonly string[];
  readonly counts: DigestCounts;
  /** The VMs acted on (or failed), first 100; every VM is in the ledger. */
  readonly actions: readonly VmActionSummary[];
  readonly rowsRecorded: number;
  readonly digestPosted: boolean;
}

export type CreateCheckResult =
  | { readonly checked: true; readonly outcome: CheckOutcome }
  | { readonly checked: false; readonly reason: string };
