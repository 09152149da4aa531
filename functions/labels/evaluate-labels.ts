/**
 * The pure label evaluator: one VM and the policy in, the violations, the complete label map to
 * write (if any), the stop-after deadline and the one action planned for the VM out. It never
 * proposes a label outside the label rules; where it cannot make a VM's labels writable safely
 * it reports instead of writing.
 */

import {
  asPriority,
  expiredExemptions,
  isExempt,
  isValidLabelValue,
  LABEL,
  MAX_LABELS,
} from '../core/labels.js';
import type { Vm, VmTags } from '../core/vm.js';
import {
  actionIncludes,
  isAllowedValue,
  type DerivationRule,
  type KeyRule,
  type LabelPolicy,
} from './label-policy.js';
import { isApiLabelValue, normaliseExistingLabels, normaliseValue } from './normalise-labels.js';

export interface LabelContext {
  /** Today in UTC, `YYYY-MM-DD`. */
  readonly today: string;
  /** Labels of the VM's project, for defaults derived from them. */
  readonly projectLabels: Readonly<Record<string, string>>;
  /**
   * With a policy `exemptTag`: the VM's tags as read, or undefined when they could not be read
   * (the VM then counts as exempt, since it may be).
   */
  readonly tags?: VmTags | undefined;
}

export type ViolationKind = 'missing' | 'invalid';

export interface Violation {
  readonly key: string;
  readonly kind: ViolationKind;
  readonly value?: string;
}

export type LabelChangeReason = 'derived' | 'normalised' | 'mark' | 'unmark';

export interface LabelChange {
  readonly key: string;
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly reason: LabelChangeReason;
  /** Where a derived value came from: `value`, `project-label:KEY` or `name`. */
  readonly source?: string;
}

/** The one action a check takes on a VM, strongest first: stop > mark > unmark > fix > report > none. */
export type VmAction = 'stop' | 'mark' | 'unmark' | 'fix' | 'report' | 'none';

export interface LabelEvaluation {
  readonly exempt: boolean;
  /** Compliance of the labels as found, and what is wrong with them. */
  readonly compliantBefore: boolean;
  readonly violationsBefore: readonly Violation[];
  /** Compliance once the planned label write is made (as found when nothing is written). */
  readonly compliant: boolean;
  /** Violations left after the planned write. */
  readonly violations: readonly Violation[];
  /** Policy keys the planned write fixes (derived or normalised). */
  readonly fixedKeys: readonly string[];
  /** Changes the write makes; with `write` undefined these are only suggestions. */
  readonly changes: readonly LabelChange[];
  /** The complete label map to write, or undefined when nothing is to be written. */
  readonly write: Readonly<Record<string, string>> | undefined;
  /** The stop-after deadline the VM carries after the write. */
  readonly stopAfter: string | undefined;
  readonly stop: boolean;
  readonly action: VmAction;
  /** Why the action is what it is, in a few words for people. */
  readonly reason: string;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A `YYYY-MM-DD` label value as a day, or undefined when it is not a real date. */
export function parseDay(value: string | undefined): string | undefined {
  const match = DAY.exec(value ?? '');
  if (!match) return undefined;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value as string)
    ? value
    : undefined;
}

export function addDays(day: string, days: number): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

function violationsOf(labels: Readonly<Record<string, string>>, policy: LabelPolicy): Violation[] {
  const out: Violation[] = [];
  for (const rule of policy.keys) {
    const value = labels[rule.key];
    if (value === undefined) {
      if (rule.required) out.push({ key: rule.key, kind: 'missing' });
    } else if (!isApiLabelValue(value) || !isAllowedValue(rule, value)) {
      out.push({ key: rule.key, kind: 'invalid', value });
    }
  }
  return out;
}

function derivedValue(
  rule: KeyRule,
  derivation: DerivationRule,
  vm: Vm,
  context: LabelContext,
): { value: string; source: string } | undefined {
  let raw: string | undefined;
  let source: string;
  if (derivation.value !== undefined) {
    raw = derivation.value;
    source = 'value';
  } else if (derivation.projectLabel !== undefined) {
    raw = context.projectLabels[derivation.projectLabel];
    source = `project-label:${derivation.projectLabel}`;
  } else {
    raw = derivation.namePattern?.exec(vm.name)?.groups?.[derivation.group ?? rule.key];
    source = 'name';
  }
  if (raw === undefined || raw === '') return undefined;
  const value = normaliseValue(raw);
  // costguard writes ASCII values only, and only values the policy allows.
  if (value === undefined || !isValidLabelValue(value) || !isAllowedValue(rule, value)) {
    return undefined;
  }
  return { value, source };
}

/** Why a VM may not be stopped (and so is not marked), or undefined when it may. */
function stopBlocker(
  vm: Vm,
  labels: Readonly<Record<string, string>>,
  policy: LabelPolicy,
): string | undefined {
  if (!policy.stopProvisioningModels.includes(vm.provisioningModel)) {
    return `${vm.provisioningModel.toLowerCase()} VMs are not stopped by the policy`;
  }
  if (asPriority(labels[LABEL.priority]) === 'critical') return 'critical VMs are never stopped';
  if (vm.managedBy) return 'managed by an instance group: fix the group template';
  return undefined;
}

function sameLabels(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}

interface ActionInputs {
  readonly stop: boolean;
  /** Reasons of the changes being written (empty when nothing is written). */
  readonly written: readonly LabelChangeReason[];
  readonly markReason: string | undefined;
  readonly exempt: boolean;
  readonly compliant: boolean;
  /** Set when a write is wanted but the labels cannot be written. */
  readonly blockedReason: string | undefined;
  readonly waiting: string;
  readonly deadline: string | undefined;
}

function chooseAction(i: ActionInputs): { action: VmAction; reason: string } {
  if (i.stop)
    return { action: 'stop', reason: `non-compliant past the deadline ${i.deadline ?? ''}` };
  if (i.written.includes('mark')) return { action: 'mark', reason: i.markReason ?? 'marked' };
  if (i.written.includes('unmark')) return { action: 'unmark', reason: i.markReason ?? 'unmarked' };
  if (i.written.length > 0)
    return { action: 'fix', reason: i.compliant ? 'fixed' : 'partly fixed' };
  if (i.exempt) return { action: 'none', reason: 'exempt' };
  if (i.blockedReason) return { action: 'report', reason: i.blockedReason };
  if (!i.compliant) return { action: 'report', reason: i.waiting };
  return { action: 'none', reason: 'compliant' };
}

export function evaluateLabels(
  vm: Vm,
  policy: LabelPolicy,
  context: LabelContext,
): LabelEvaluation {
  const found = vm.labels;
  const byTag = policy.exemptTag;
  const exempt =
    byTag === undefined
      ? isExempt(found, policy.exemptLabel, context.today)
      : context.tags === undefined || isExempt(context.tags, byTag, context.today);
  // Dated exempt labels are costguard's to take off only while labels are what exempts.
  const expired =
    byTag === undefined ? expiredExemptions(found, policy.exemptLabel, context.today) : [];
  const before = violationsOf(found, policy);
  const canWrite = actionIncludes(policy.action, 'fix');
  const canMark = actionIncludes(policy.action, 'mark');

  const normalised = normaliseExistingLabels(found);
  const next: Record<string, string> = { ...normalised.labels };
  const changes: LabelChange[] = [];
  for (const r of normalised.rewrites) {
    if (r.fromKey !== r.toKey) {
      changes.push({ key: r.fromKey, from: r.fromValue, to: undefined, reason: 'normalised' });
    }
    if (r.toKey !== undefined) {
      changes.push({ key: r.toKey, from: found[r.toKey], to: r.toValue, reason: 'normalised' });
    }
  }

  if (!exempt) {
    for (const rule of policy.keys) {
      if (next[rule.key] !== undefined || !rule.required) continue;
      for (const derivation of rule.derive) {
        const derived = derivedValue(rule, derivation, vm, context);
        if (!derived) continue;
        next[rule.key] = derived.value;
        changes.push({
          key: rule.key,
          from: undefined,
          to: derived.value,
          reason: 'derived',
          source: derived.source,
        });
        break;
      }
    }
  }

  // Marks are costguard's own label: they follow the labels as they will be after the fixes.
  const after = violationsOf(next, policy);
  const compliantAfter = after.length === 0;
  const mark = found[LABEL.stopAfter];
  const deadline = parseDay(mark);
  const blocker = stopBlocker(vm, next, policy);
  let stopAfter = deadline;
  let markReason: string | undefined;
  const unmark = (why: string): void => {
    if (mark === undefined) return;
    delete next[LABEL.stopAfter];
    changes.push({ key: LABEL.stopAfter, from: mark, to: undefined, reason: 'unmark' });
    stopAfter = undefined;
    markReason = why;
  };
  // An exemption given until a day that has passed is taken off, like a stale mark.
  for (const key of expired) {
    delete next[key];
    changes.push({ key, from: found[key], to: undefined, reason: 'unmark' });
    markReason = `exemption ended on ${found[key]?.slice('until-'.length) ?? ''}`;
  }
  if (exempt) unmark('exempt');
  else if (compliantAfter) unmark('compliant');
  else if (canMark && blocker) unmark(blocker);
  else if (canMark && deadline === undefined) {
    stopAfter = addDays(context.today, policy.graceDays);
    next[LABEL.stopAfter] = stopAfter;
    changes.push({ key: LABEL.stopAfter, from: mark, to: stopAfter, reason: 'mark' });
    markReason = `stops after ${stopAfter} unless fixed`;
  }

  const unwritable = normalised.unwritable;
  const tooMany = Object.keys(next).length > MAX_LABELS;
  const blockedWrite =
    unwritable.length > 0
      ? `labels ${unwritable.join(', ')} break the label rules and cannot be normalised safely`
      : tooMany
        ? `the labels would exceed ${MAX_LABELS}`
        : undefined;
  // An exempt VM is left alone, except that a stale mark of costguard's own is taken off.
  const wantsWrite =
    changes.length > 0 && !sameLabels(next, found) && (!exempt || mark !== undefined);
  const writes = wantsWrite && canWrite && blockedWrite === undefined;
  const written = writes ? next : found;
  const violations = writes ? after : before;
  const compliant = violations.length === 0;
  const carriedDeadline = writes ? stopAfter : deadline;

  const deadlinePassed =
    carriedDeadline !== undefined && context.today > carriedDeadline && !exempt && !compliant;
  const stop =
    deadlinePassed &&
    actionIncludes(policy.action, 'stop') &&
    stopBlocker(vm, written, policy) === undefined &&
    vm.status === 'RUNNING';

  const blockedReason =
    blockedWrite !== undefined && wantsWrite && canWrite ? blockedWrite : undefined;
  const { action, reason } = chooseAction({
    stop,
    written: writes ? changes.map((c) => c.reason) : [],
    markReason,
    exempt,
    compliant,
    blockedReason,
    // Why a non-compliant VM is only reported, most specific first.
    waiting: deadlinePassed
      ? vm.status === 'RUNNING'
        ? (stopBlocker(vm, written, policy) ?? `the policy action is ${policy.action}`)
        : `deadline passed; the VM is ${vm.status.toLowerCase()}`
      : carriedDeadline
        ? `stops after ${carriedDeadline} unless fixed`
        : canMark && blocker
          ? blocker
          : `the policy action is ${policy.action}`,
    deadline: carriedDeadline,
  });

  return {
    exempt,
    compliantBefore: before.length === 0,
    violationsBefore: before,
    compliant,
    violations,
    fixedKeys: writes
      ? before.filter((v) => !after.some((a) => a.key === v.key)).map((v) => v.key)
      : [],
    changes,
    write: writes ? next : undefined,
    stopAfter: carriedDeadline,
    stop,
    action,
    reason,
  };
}
