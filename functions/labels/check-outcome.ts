import type { HourlyRate } from '../core/pricing.js';
import type { Vm } from '../core/vm.js';
import type { LabelEvaluation, Violation } from './evaluate-labels.js';

/**
 * What one check of one VM came to, the value the ledger rows, the log lines and the Slack
 * digest are all made from.
 */
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
