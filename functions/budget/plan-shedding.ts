/**
 * The shedding plan for one tier, a pure function of the running VMs in scope: the VMs of the
 * priorities the tier stops, lowest priority first and, within a priority, most expensive
 * first; exempt and MIG-managed VMs are reported and spared, and a cap spares the rest.
 */
import { asPriority, isExempt, priorityRank, type Priority } from '../core/labels.js';
import type { HourlyRate } from '../core/pricing.js';
import { vmKey, type Vm, type VmTags } from '../core/vm.js';
import type { SheddingPolicy, Tier } from './policy.js';
import { matchVm } from './vm-pattern.js';

export type PlannedAction = 'STOP' | 'SKIP_EXEMPT' | 'SKIP_MIG' | 'SKIP_CAP';

export interface PlannedVm {
  readonly vm: Vm;
  readonly priority: Priority;
  readonly rate: HourlyRate;
  readonly action: PlannedAction;
  readonly reason: string;
}

export interface SheddingPlan {
  readonly tier: Tier;
  /** Every VM the tier concerns, in shedding order. */
  readonly decisions: readonly PlannedVm[];
  readonly spared: readonly PlannedVm[];
  readonly currency: string;
}

export interface SheddingInput {
  readonly tier: Tier;
  readonly policy: SheddingPolicy;
  /** Project ids the enforcer may act in. */
  readonly scope: ReadonlySet<string>;
  readonly vms: readonly Vm[];
  /** Hourly rates by `vmKey`; a VM without one counts as unpriced (zero). */
  readonly rates: ReadonlyMap<string, HourlyRate>;
  /** Stops this tier already made on an earlier attempt; they count against `maxStops`. */
  readonly alreadyStopped: number;
  /**
   * Today in UTC (`YYYY-MM-DD`): a dated exemption (`costguard-exempt=until-…`) protects a VM
   * through its day. Without it, a dated exemption always protects.
   */
  readonly today?: string;
  /**
   * With `prioritySource: "tags"`: each VM's tags by `vmKey`. A VM without an entry had its
   * tags unread (the read failed): it is spared, since it may be critical or exempt.
   */
  readonly tags?: ReadonlyMap<string, VmTags>;
}

export const UNPRICED: HourlyRate = Object.freeze({
  hourly: 0,
  spot: undefined,
  onDemand: 0,
  currency: 'USD',
  source: 'unknown',
});

/** The priority the policy lists for the VM: the most specific pattern, then the highest. */
function listedPriority(vm: Vm, policy: SheddingPolicy): Priority | undefined {
  let best: { exact: number; priority: Priority } | undefined;
  for (const [pattern, priority] of Object.entries(policy.priorities)) {
    const exact = matchVm(pattern, vm);
    if (exact === undefined) continue;
    if (
      !best ||
      exact > best.exact ||
      (exact === best.exact && priorityRank(priority) > priorityRank(best.priority))
    ) {
      best = { exact, priority };
    }
  }
  return best?.priority;
}

/** A VM's priority tag value, when it names a priority. */
function taggedPriority(policy: SheddingPolicy, tags: VmTags | undefined): Priority | undefined {
  return policy.priorityTag === undefined ? undefined : asPriority(tags?.[policy.priorityTag]);
}

/**
 * The VM's priority from its label, from the policy's list or from its tag, as the policy's
 * `prioritySource` says; a VM with none counts as `missingPriority`.
 */
export function priorityOf(
  vm: Vm,
  policy: SheddingPolicy,
  tags?: ReadonlyMap<string, VmTags>,
): { priority: Priority; labelled: boolean } {
  const found =
    policy.prioritySource === 'policy'
      ? listedPriority(vm, policy)
      : policy.prioritySource === 'tags'
        ? taggedPriority(policy, tags?.get(vmKey(vm)))
        : asPriority(vm.labels[policy.priorityLabel]);
  return found
    ? { priority: found, labelled: true }
    : { priority: policy.missingPriority, labelled: false };
}

/** Why the VM is exempt, or undefined: by label, by the policy's list or by its tag. */
function exemptionOf(
  vm: Vm,
  policy: SheddingPolicy,
  { today, tags }: Pick<SheddingInput, 'today' | 'tags'>,
): string | undefined {
  switch (policy.prioritySource) {
    case 'policy':
      return policy.exemptVms.some((pattern) => matchVm(pattern, vm) !== undefined)
        ? 'exempt by the policy'
        : undefined;
    case 'tags': {
      const found = tags?.get(vmKey(vm));
      if (found === undefined) return 'its tags could not be read; spared';
      return policy.exemptTag !== undefined && isExempt(found, policy.exemptTag, today)
        ? `exempt by tag ${policy.exemptTag}`
        : undefined;
    }
    case 'labels':
      return isExempt(vm.labels, policy.exemptLabel, today)
        ? `exempt by label ${policy.exemptLabel}`
        : undefined;
  }
}

/**
 * Whether some tier could concern the VM, whatever its priority: running, in scope and of a
 * provisioning model the policy governs. Only these VMs' tags need reading.
 */
export function mayConcernTiers(
  vm: Vm,
  { policy, scope }: Pick<SheddingInput, 'policy' | 'scope'>,
): boolean {
  return (
    vm.status === 'RUNNING' &&
    scope.has(vm.project) &&
    (policy.provisioningModels as readonly string[]).includes(vm.provisioningModel)
  );
}

/** Whether the tier concerns the VM: one that may concern tiers, of a priority the tier stops. */
export function concernsTier(
  vm: Vm,
  input: Pick<SheddingInput, 'tier' | 'policy' | 'scope' | 'tags'>,
): boolean {
  const { priority } = priorityOf(vm, input.policy, input.tags);
  return mayConcernTiers(vm, input) && input.tier.stop.some((stopped) => stopped === priority);
}

const SOURCE_NOTE: Record<SheddingPolicy['prioritySource'], string> = {
  labels: '',
  policy: ' from the policy',
  tags: ' from its tag',
};

const MISSING: Record<SheddingPolicy['prioritySource'], (policy: SheddingPolicy) => string> = {
  labels: (policy) => `no ${policy.priorityLabel} label`,
  policy: () => 'no priority in the policy',
  tags: (policy) => `no ${policy.priorityTag ?? 'priority'} tag`,
};

// The order of String#localeCompare, with the collator built once (a fleet's sort compares
// thousands of keys).
const byKey = new Intl.Collator().compare;

export function planShedding(input: SheddingInput): SheddingPlan {
  const { tier, policy } = input;
  const concerned = input.vms
    .filter((vm) => concernsTier(vm, input))
    .map((vm) => {
      const key = vmKey(vm);
      return {
        vm,
        key,
        ...priorityOf(vm, policy, input.tags),
        rate: input.rates.get(key) ?? UNPRICED,
      };
    })
    .sort(
      (a, b) =>
        priorityRank(a.priority) - priorityRank(b.priority) ||
        b.rate.hourly - a.rate.hourly ||
        byKey(a.key, b.key),
    );

  let room =
    tier.maxStops === undefined ? Number.POSITIVE_INFINITY : tier.maxStops - input.alreadyStopped;
  const decisions = concerned.map(({ vm, priority, labelled, rate }): PlannedVm => {
    const base = { vm, priority, rate };
    // `critical` cannot be listed in a tier; this guards the rule should that ever change.
    if (priority === 'critical') {
      return { ...base, action: 'SKIP_EXEMPT', reason: 'priority critical is never stopped' };
    }
    const exemption = exemptionOf(vm, policy, input);
    if (exemption) return { ...base, action: 'SKIP_EXEMPT', reason: exemption };
    if (vm.managedBy) {
      return {
        ...base,
        action: 'SKIP_MIG',
        reason: `managed by ${vm.managedBy.split('/').pop() ?? 'a group'}, which would recreate it; reported only`,
      };
    }
    if (room <= 0) {
      return {
        ...base,
        action: 'SKIP_CAP',
        reason: `tier cap of ${tier.maxStops ?? 0} stops reached`,
      };
    }
    room--;
    const why = labelled
      ? `priority ${priority}${SOURCE_NOTE[policy.prioritySource]}`
      : `${MISSING[policy.prioritySource](policy)}, counted as ${priority}`;
    return {
      ...base,
      action: 'STOP',
      reason: `${why}, tier ${tier.at} stops ${tier.stop.join('+')}`,
    };
  });
  const firstStop = decisions.find((d) => d.action === 'STOP');
  return {
    tier,
    decisions,
    spared: decisions.filter((d) => d.action !== 'STOP'),
    currency: firstStop?.rate.currency ?? decisions[0]?.rate.currency ?? 'USD',
  };
}
