/**
 * A tier's request for approval, resolved: by a click (Approve or Skip, by a Slack user) or by
 * the timeout's default at the enforcer's first run past the deadline. Approve stops, through
 * the one stop path (tier-stops.ts, with the stop request ids every attempt at the tier uses),
 * exactly the listed VMs that are still running and that the tier would still stop, planned
 * again with the policy now (a VM since made exempt or critical, or gone, is not stopped);
 * Skip stops nothing. Every listed VM gets a decision row saying who decided and when.
 */
import type { ComputeFleet } from '../adapters/compute.js';
import type { VmTagReader } from '../adapters/vm-tags.js';
import type { Clock } from '../core/clock.js';
import { isoDay } from '../core/clock.js';
import { settleAll } from '../core/concurrency.js';
import type { HourlyRate } from '../core/pricing.js';
import { vmKey, type Vm, type VmRef } from '../core/vm.js';
import type {
  EnforcementLedger,
  Proposal,
  RecordedDecision,
  VmOutcome,
} from './enforcement-ledger.js';
import { mayConcernTiers, planShedding } from './plan-shedding.js';
import type { SheddingPolicy, Tier } from './policy.js';
import type { ShedTrigger } from './shed-trigger.js';
import { createTierStops } from './tier-stops.js';
import { plannedFrom } from './tier-verdicts.js';

export type ApprovalChoice = 'stop' | 'skip';

export interface ResolveDeps {
  readonly fleet: Pick<ComputeFleet, 'get' | 'stopAll'>;
  readonly ledger: Pick<EnforcementLedger, 'recordDecisions' | 'stoppedSoFar'>;
  readonly clock: Clock;
  readonly stopConcurrency: number;
  /** Longest wait for the stops' operations; those not done by then are UNCONFIRMED. */
  readonly waitMs?: number;
  /** VMs' Resource Manager tags, read again when the policy takes priorities from tags. */
  readonly tags?: VmTagReader;
}

export interface ProposalResolution {
  readonly trigger: ShedTrigger;
  readonly policy: SheddingPolicy;
  readonly tier: Tier;
  /** The governed projects: nothing outside them is stopped. */
  readonly projects: readonly string[];
  readonly proposal: Proposal;
  readonly choice: ApprovalChoice;
  /** `approved from Slack by Ana (U0…)`, `approval timed out at …; default stop`. */
  readonly decidedBy: string;
  readonly slackUserId?: string;
}

const refOf = (d: RecordedDecision): VmRef => ({
  project: d.project,
  zone: d.zone,
  name: d.instance,
});

/** A listed VM not stopped: skipped, or no longer the tier's to stop. */
function skipped(d: RecordedDecision, vm: Vm | undefined, reason: string): VmOutcome {
  return {
    planned: plannedFrom(d, vm),
    action: 'SKIPPED',
    reason,
    requestId: undefined,
    transient: false,
  };
}

/**
 * Carries the choice out and records what became of every listed VM still pending. A VM whose
 * state cannot be read fails the whole resolution before anything is stopped or recorded (the
 * proposal stays pending, so a retry or the next run resolves it).
 */
export async function resolveProposal(
  deps: ResolveDeps,
  r: ProposalResolution,
): Promise<VmOutcome[]> {
  const { pending } = r.proposal;
  const at = deps.clock.now();
  const stamp = {
    dryRun: false,
    at,
    ...(r.slackUserId === undefined ? {} : { slackUserId: r.slackUserId }),
  };
  if (r.choice === 'skip') {
    const outcomes = pending.map((d) => skipped(d, undefined, `${r.decidedBy}; not stopped`));
    await deps.ledger.recordDecisions(r.trigger, r.tier.at, outcomes, stamp);
    return outcomes;
  }
  const reads = await settleAll(pending, deps.stopConcurrency, (d) => deps.fleet.get(refOf(d)));
  const failed = reads.find((x) => x.status === 'rejected');
  if (failed) throw failed.reason;
  const now = new Map<string, Vm>();
  reads.forEach((x) => {
    if (x.status === 'fulfilled' && x.value) now.set(vmKey(x.value), x.value);
  });
  const rates = new Map<string, HourlyRate>(
    pending.map((d) => [vmKey(refOf(d)), plannedFrom(d, undefined).rate]),
  );
  const scope = new Set(r.projects);
  const running = [...now.values()];
  // Under a tags policy the tags decide priority and exemption now, as at any stop.
  const tags =
    r.policy.prioritySource === 'tags'
      ? await (deps.tags?.tagsOf(
          running.filter((vm) => mayConcernTiers(vm, { policy: r.policy, scope })),
        ) ?? new Map())
      : undefined;
  const plan = planShedding({
    tier: r.tier,
    policy: r.policy,
    scope,
    tags,
    vms: running,
    rates,
    alreadyStopped:
      r.tier.maxStops === undefined ? 0 : await deps.ledger.stoppedSoFar(r.trigger, r.tier.at),
    today: isoDay(at),
  });
  const stops = createTierStops({ ...deps, dryRun: false });
  const acted = (await stops.execute(r.trigger, plan)).map((o) => ({
    ...o,
    reason: `${o.reason}; ${r.decidedBy}`,
  }));
  const planned = new Set(plan.decisions.map((d) => vmKey(d.vm)));
  const gone = pending
    .filter((d) => !planned.has(vmKey(refOf(d))))
    .map((d) => {
      const vm = now.get(vmKey(refOf(d)));
      const why = !vm
        ? 'gone'
        : vm.status !== 'RUNNING'
          ? `no longer running (${vm.status})`
          : 'no longer of a priority this tier stops';
      return skipped(d, vm, `${r.decidedBy}; not stopped: ${why}`);
    });
  const outcomes = [...acted, ...gone];
  await deps.ledger.recordDecisions(r.trigger, r.tier.at, outcomes, stamp);
  return outcomes;
}

/** `stopped 3 VMs (a, b, c); 1 no longer running; 1 stop not yet confirmed` */
export function describeResolution(choice: ApprovalChoice, outcomes: readonly VmOutcome[]): string {
  const named = (list: readonly VmOutcome[]) =>
    list
      .slice(0, 10)
      .map((o) => `\`${o.planned.vm.name}\``)
      .join(', ') + (list.length > 10 ? ` and ${list.length - 10} more` : '');
  const count = (n: number) => `${n} VM${n === 1 ? '' : 's'}`;
  if (choice === 'skip') return `stopped nothing; ${count(outcomes.length)} keep running`;
  const by = (action: string) => outcomes.filter((o) => o.action === action);
  const stopped = by('STOPPED');
  const requested = by('UNCONFIRMED');
  const parts = [
    stopped.length > 0
      ? `stopped ${count(stopped.length)} (${named(stopped)})`
      : requested.length > 0
        ? ''
        : 'stopped nothing',
    requested.length > 0
      ? `asked Compute to stop ${count(requested.length)} (${named(requested)}), confirmed by the next run`
      : '',
    by('FAILED').length > 0 ? `${by('FAILED').length} stop(s) failed` : '',
    outcomes.some((o) => o.action === 'SKIPPED' || o.action.startsWith('SKIPPED_'))
      ? `${outcomes.filter((o) => o.action === 'SKIPPED' || o.action.startsWith('SKIPPED_')).length} not stopped (no longer running, exempt or not the tier's)`
      : '',
  ];
  return parts.filter((p) => p !== '').join('; ');
}
