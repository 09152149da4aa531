/**
 * The one shedding path, for every trigger (a budget notification, a Spot cap run): given the
 * trigger's decision about a tier, carry it out. `carryOut` reads as the path does: one branch
 * per verdict of the decision (record, forecast warning, notify, shed); a shed gathers the fleet
 * in scope and the tier's earlier attempts, plans with the pure planner, acts (tier-stops.ts),
 * judges the attempt (tier-verdicts.ts) and reports it (tier-report.ts). Every decision is a
 * ledger row and a log line; each tier gets one Slack message per period.
 */
import type { ComputeFleet } from '../adapters/compute.js';
import type { VmTagReader } from '../adapters/vm-tags.js';
import {
  postBestEffort,
  type Notifier,
  type PostedMessage,
  type SlackMessage,
} from '../adapters/slack.js';
import { isoDay, MINUTE_MS, utcMinute, type Clock } from '../core/clock.js';
import { isTransient } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { priceVms, type HourlyRate, type PriceLookup } from '../core/pricing.js';
import { vmKey, type Vm } from '../core/vm.js';
import type { Decision, NotificationOutcome } from './decide-notification.js';
import {
  actedVms,
  type EnforcementLedger,
  type NotificationSummary,
  type RecordedDecision,
  type ShedHold,
  type ShedHolds,
  type VmOutcome,
} from './enforcement-ledger.js';
import type { ListingFailure, ZoneGap } from '../adapters/list-vms.js';
import { concernsTier, mayConcernTiers, planShedding, type SheddingPlan } from './plan-shedding.js';
import { describeResolution, resolveProposal } from './approval.js';
import { nextTier, type Approval, type SheddingPolicy, type Tier } from './policy.js';
import { recheckUnconfirmed } from './recheck-unconfirmed.js';
import { triggerNoun, type ShedTrigger } from './shed-trigger.js';
import { approvalMessage, forecastMessage, notifyMessage } from './slack-report.js';
import { createTierReport, logScopeProblems } from './tier-report.js';
import { createTierStops } from './tier-stops.js';
import { plannedFrom, SPARED_ACTION, tierVerdict, type TierShortfall } from './tier-verdicts.js';

/** The enforcement_actions reads and writes a tier makes, for budgets and caps alike. */
export type TierLedger = Pick<
  EnforcementLedger,
  | 'stoppedSoFar'
  | 'recordDecisions'
  | 'unconfirmedStops'
  | 'confirmStops'
  | 'unreported'
  | 'proposal'
>;

export interface TierShedderDeps {
  readonly fleet: Pick<ComputeFleet, 'stopAll' | 'get'>;
  readonly prices: PriceLookup;
  readonly ledger: TierLedger;
  readonly notifier: Notifier;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly config: TierShedderConfig;
  /** Holds put from Slack (snoozes, restarts); none: no tier is ever held. */
  readonly holds?: ShedHolds;
  /**
   * VMs' Resource Manager tags, read when the policy takes priorities from tags; none: every
   * VM's tags count as unread, and so every VM is spared.
   */
  readonly tags?: VmTagReader;
}

export interface TierShedderConfig {
  /** Stop VMs for real; otherwise a dry run that records WOULD_STOP. */
  readonly enforce: boolean;
  readonly stopConcurrency: number;
  readonly dashboardUrl: string | undefined;
}

/** The running VMs a trigger may act on, and the projects that could not be listed. */
export interface FleetInScope {
  readonly projects: readonly string[];
  readonly vms: readonly Vm[];
  readonly failures: readonly ListingFailure[];
  /** Zones Compute could not reach: their VMs are missing, so the tier stays open. */
  readonly gaps: readonly ZoneGap[];
  readonly note: string;
  /** Rates already known by `vmKey`; the others are priced here. */
  readonly rates?: ReadonlyMap<string, HourlyRate>;
}

/** One trigger's decision, with what carrying it out needs. */
export interface Occasion {
  readonly trigger: ShedTrigger;
  readonly policy: SheddingPolicy;
  readonly decision: Exclude<Decision, { kind: 'duplicate' }>;
  /** Keys every log line of the occasion carries. */
  readonly context: Record<string, unknown>;
  inScope(): Promise<FleetInScope>;
  /** Writes the trigger's own record of the outcome (its durable state). */
  record(summary: NotificationSummary): Promise<void>;
}

export interface ShedReport {
  readonly decision: Decision['kind'];
  readonly outcome: NotificationOutcome;
  readonly tier: number | undefined;
  readonly outcomes: readonly VmOutcome[];
  readonly savingPerHour: number;
  /** Why a retry of the trigger should finish the tier (stops or listings failed transiently). */
  readonly retry: string | undefined;
}

export interface TierShedder {
  carryOut(occasion: Occasion): Promise<ShedReport>;
}

const actedSaving = (outcomes: readonly VmOutcome[]): number => actedVms(outcomes).savingPerHour;

const decisionKey = (d: RecordedDecision): string =>
  vmKey({ project: d.project, zone: d.zone, name: d.instance });

function quietSummary(
  outcome: NotificationOutcome,
  tier: number | undefined,
  reason: string,
  dryRun: boolean,
  slack: NotificationSummary['slack'] = undefined,
): NotificationSummary {
  const none = { stopped: 0, failed: 0, spared: 0, savingPerHour: undefined };
  return { outcome, tier, reason, dryRun, ...none, priceCurrency: undefined, slack };
}

export function createTierShedder(deps: TierShedderDeps): TierShedder {
  const { logger, config } = deps;
  const dryRun = !config.enforce;
  const stops = createTierStops({ ...deps, dryRun, stopConcurrency: config.stopConcurrency });
  const report = createTierReport({ ...deps, dryRun, dashboardUrl: config.dashboardUrl });
  const post = async (message: SlackMessage, o: Occasion) =>
    (
      await postBestEffort(deps.notifier, logger, message, {
        message: 'Slack message not sent',
        context: o.context,
      })
    ).posted;

  /** The plan for the tier's VMs not settled by an earlier attempt. */
  async function planTier(
    o: Occasion,
    tier: Extract<Decision, { kind: 'shed' }>['tier'],
    scope: FleetInScope,
    settled: ReadonlySet<string>,
  ): Promise<SheddingPlan> {
    const inScope = { policy: o.policy, scope: new Set(scope.projects) };
    const candidates = scope.vms.filter((vm) => !settled.has(vmKey(vm)));
    // Tags decide priority and exemption only under a tags policy, and only for VMs a tier
    // could concern: one call per VM, so no other VM is asked about.
    const tags =
      o.policy.prioritySource === 'tags'
        ? await (deps.tags?.tagsOf(candidates.filter((vm) => mayConcernTiers(vm, inScope))) ??
            new Map())
        : undefined;
    const shedding = { ...inScope, tier, tags };
    const known = scope.rates ?? new Map<string, HourlyRate>();
    const unpriced = candidates.filter((vm) => concernsTier(vm, shedding) && !known.has(vmKey(vm)));
    const rates = new Map([...known, ...(await priceVms(deps.prices, logger, unpriced))]);
    const alreadyStopped =
      tier.maxStops !== undefined && !dryRun
        ? await deps.ledger.stoppedSoFar(o.trigger, tier.at)
        : 0;
    return planShedding({
      ...shedding,
      vms: candidates,
      rates,
      alreadyStopped,
      today: isoDay(deps.clock.now()),
    });
  }

  /**
   * A tier held from Slack: what it would stop is recorded as SNOOZED, nothing is stopped and
   * nothing is posted (the hold is there to quieten it), and the tier stays open. A tier
   * awaiting approval is not resolved by its default while held; a click still decides it.
   */
  async function held(
    o: Occasion,
    decision: Extract<Decision, { kind: 'shed' }>,
    hold: ShedHold,
  ): Promise<ShedReport> {
    const { tier } = decision;
    const scope = await o.inScope();
    const plan = await planTier(o, tier, scope, new Set());
    const until = hold.until.toISOString();
    const reason = `held from Slack by ${hold.slackUserId} (${hold.action}) until ${until}`;
    // A tier awaiting approval keeps its listing: the approval (or its timeout, once the hold
    // has passed) decides about those VMs, so they are not recorded as SNOOZED over it.
    const awaiting =
      tier.approve !== undefined && !dryRun
        ? ((await deps.ledger.proposal(o.trigger, tier.at))?.pending.length ?? 0) > 0
        : false;
    const outcomes: VmOutcome[] = plan.decisions
      .filter((d) => d.action === 'STOP' && !awaiting)
      .map((d) => ({
        planned: d,
        action: 'SNOOZED',
        reason: `${d.reason}; ${reason}`,
        requestId: undefined,
        transient: false,
      }));
    const at = deps.clock.now();
    await deps.ledger.recordDecisions(o.trigger, tier.at, outcomes, { dryRun, at });
    logger.notice('Tier held from Slack; nothing stopped', {
      ...o.context,
      tier: tier.at,
      heldUntil: until,
      wouldStop: outcomes.length,
    });
    await o.record(quietSummary('SNOOZED', tier.at, reason, dryRun));
    // SNOOZED outcomes stop nothing, so they save nothing.
    return shedReport('SNOOZED', tier.at, outcomes);
  }

  const shedReport = (
    outcome: NotificationOutcome,
    tier: number,
    outcomes: readonly VmOutcome[],
    retry?: string,
  ): ShedReport => ({
    decision: 'shed',
    outcome,
    tier,
    outcomes,
    savingPerHour: actedSaving(outcomes),
    retry,
  });

  /**
   * A tier whose policy says `approve` (enforcing only; a dry run only reports): the first
   * attempt of the period lists what it would stop (PROPOSED rows) and asks in Slack; later
   * attempts record that it awaits a decision, until a click resolved it (then the tier is
   * done) or the timeout passed (then the default is carried out here, once, and the message
   * updated in place). Nothing to stop: nothing to ask, the tier sheds as any other.
   */
  async function approval(
    o: Occasion,
    decision: Extract<Decision, { kind: 'shed' }>,
    approve: Approval,
  ): Promise<ShedReport | undefined> {
    const t = o.trigger;
    const tier = decision.tier as Tier & { approve: Approval };
    const now = deps.clock.now();
    const proposal = await deps.ledger.proposal(t, tier.at);
    if (!proposal) {
      const scope = await o.inScope();
      logScopeProblems(logger, o.context, tier.at, scope);
      const plan = await planTier(o, tier, scope, new Set());
      const listed = plan.decisions.filter((d) => d.action === 'STOP');
      if (listed.length === 0) return undefined;
      const outcomes: VmOutcome[] = plan.decisions.map((d) => ({
        planned: d,
        action: d.action === 'STOP' ? 'PROPOSED' : SPARED_ACTION[d.action],
        reason: d.action === 'STOP' ? `${d.reason}; awaiting approval` : d.reason,
        requestId: undefined,
        transient: false,
      }));
      await deps.ledger.recordDecisions(t, tier.at, outcomes, { dryRun, at: now });
      const deadline = new Date(now.getTime() + approve.timeoutMinutes * MINUTE_MS);
      const posted = await post(
        approvalMessage({
          trigger: t,
          tier,
          listed: outcomes.filter((x) => x.action === 'PROPOSED'),
          spared: outcomes.filter((x) => x.action !== 'PROPOSED'),
          currency: plan.currency,
          deadline,
          dashboardUrl: config.dashboardUrl,
        }),
        o,
      );
      const reason = `${decision.reason}; ${listed.length} VM(s) listed for approval until ${utcMinute(deadline)}, then ${approve.default}`;
      logger.notice('Tier asks for approval; nothing stopped yet', {
        ...o.context,
        tier: tier.at,
        listed: listed.length,
        deadline: deadline.toISOString(),
      });
      await o.record(quietSummary('AWAITING_APPROVAL', tier.at, reason, dryRun, posted));
      return shedReport('AWAITING_APPROVAL', tier.at, outcomes);
    }
    if (proposal.pending.length === 0) {
      // Resolved (a click, or an earlier run's timeout): the tier is done once its stops are.
      const rechecked = await recheckUnconfirmed(deps, t, tier.at);
      const open = rechecked.pending.length > 0;
      await o.record({
        ...quietSummary(
          open ? 'INCOMPLETE' : 'ACTED',
          tier.at,
          `approval for tier ${tier.at} resolved`,
          dryRun,
          decision.proposal,
        ),
        stopped: rechecked.confirmed.length,
      });
      return shedReport(
        open ? 'INCOMPLETE' : 'ACTED',
        tier.at,
        [],
        open ? `${rechecked.pending.length} approved stop(s) not yet confirmed` : undefined,
      );
    }
    const deadline = new Date(proposal.proposedAt.getTime() + approve.timeoutMinutes * MINUTE_MS);
    if (now < deadline) {
      await o.record(
        quietSummary(
          'AWAITING_APPROVAL',
          tier.at,
          `tier ${tier.at} awaits approval until ${utcMinute(deadline)}`,
          dryRun,
          decision.proposal,
        ),
      );
      return shedReport('AWAITING_APPROVAL', tier.at, []);
    }
    const decidedBy = `approval timed out at ${utcMinute(deadline)}; default ${approve.default}`;
    const scope = await o.inScope();
    const outcomes = await resolveProposal(
      { ...deps, stopConcurrency: config.stopConcurrency },
      {
        trigger: t,
        policy: o.policy,
        tier,
        projects: scope.projects,
        proposal,
        choice: approve.default,
        decidedBy,
      },
    );
    const summary = `Nobody decided by ${utcMinute(deadline)}, so the default applied: ${describeResolution(approve.default, outcomes)}.`;
    logger.notice('Approval timed out; the default was carried out', {
      ...o.context,
      tier: tier.at,
      default: approve.default,
      stopped: outcomes.filter((x) => x.action === 'STOPPED').length,
    });
    if (decision.proposal) {
      const listed = proposal.pending.map((d) => plannedFrom(d, undefined));
      await updateBestEffort(
        decision.proposal,
        approvalMessage({
          trigger: proposal.trigger,
          tier,
          listed: listed.map((planned) => ({
            planned,
            action: 'PROPOSED',
            reason: planned.reason,
            requestId: undefined,
            transient: false,
          })),
          spared: [],
          currency: listed[0]?.rate.currency ?? 'USD',
          deadline,
          dashboardUrl: config.dashboardUrl,
          resolution: summary,
        }),
        o,
      );
    }
    const verdict = tierVerdict({
      transientStops: outcomes.filter((x) => x.action === 'FAILED' && x.transient).length,
      unconfirmedStops: outcomes.filter((x) => x.action === 'UNCONFIRMED').length,
      failedListings: 0,
      transientListings: 0,
      unreachableZones: 0,
    });
    await o.record({
      ...quietSummary(verdict.outcome, tier.at, `${decision.reason}; ${decidedBy}`, dryRun),
      stopped: outcomes.filter((x) => x.action === 'STOPPED').length,
      failed: outcomes.filter((x) => x.action === 'FAILED').length,
      savingPerHour: actedSaving(outcomes),
      slack: decision.proposal,
    });
    return shedReport(
      verdict.outcome,
      tier.at,
      outcomes,
      verdict.retry
        ? `tier ${tier.at}: approved stops failed transiently or are unconfirmed`
        : undefined,
    );
  }

  async function updateBestEffort(at: PostedMessage, message: SlackMessage, o: Occasion) {
    try {
      await deps.notifier.update(at, message);
    } catch (error) {
      logger.error('Slack message not updated', { ...o.context, ...at, error });
    }
  }

  async function shed(
    o: Occasion,
    decision: Extract<Decision, { kind: 'shed' }>,
  ): Promise<ShedReport> {
    const { trigger: t, context } = o;
    const { tier } = decision;
    const hold = await deps.holds?.activeHold(t, tier.at, deps.clock.now());
    if (hold) return held(o, decision, hold);
    if (tier.approve && !dryRun) {
      const asked = await approval(o, decision, tier.approve);
      if (asked) return asked;
    }
    // Gather: the fleet in scope, and what earlier attempts at the tier left on record.
    const scope = await o.inScope();
    logScopeProblems(logger, context, tier.at, scope);
    // Read on every attempt, not only on a resumed one: an attempt whose own record was never
    // written is retried looking like the first. Read before the recheck, whose confirmations
    // it would otherwise count again; UNCONFIRMED stops are the recheck's.
    const earlier = dryRun
      ? []
      : (await deps.ledger.unreported(t, tier.at)).filter((d) => d.action !== 'UNCONFIRMED');
    const rechecked = dryRun
      ? { confirmed: [], pending: [] }
      : await recheckUnconfirmed(deps, t, tier.at);
    // Decide: VMs an earlier attempt stopped or asked to stop are settled, never planned again.
    const settled = new Set(
      earlier.filter((d) => d.action === 'STOPPED' || d.action === 'STOPPING').map(decisionKey),
    );
    const plan = await planTier(o, tier, scope, settled);
    const replanned = new Set(plan.decisions.map((d) => vmKey(d.vm)));
    // Act: settle the earlier attempts' decisions, then carry out this plan.
    const recovered = await stops.recover(
      earlier.filter((d) => settled.has(decisionKey(d)) || !replanned.has(decisionKey(d))),
    );
    const fresh = await stops.execute(t, plan);
    const outcomes = [...recovered.map((r) => r.outcome), ...fresh];
    // Judge the attempt.
    const shortfall: TierShortfall = {
      transientStops: outcomes.filter((x) => x.action === 'FAILED' && x.transient).length,
      unconfirmedStops:
        outcomes.filter((x) => x.action === 'UNCONFIRMED').length + rechecked.pending.length,
      failedListings: scope.failures.length,
      transientListings: scope.failures.filter((f) => isTransient(f.error)).length,
      unreachableZones: scope.gaps.length,
    };
    const verdict = tierVerdict(shortfall);
    // Report: ledger rows, log lines, Slack, and the trigger's own record last.
    const toRecord = [...recovered.filter((r) => r.changed).map((r) => r.outcome), ...fresh];
    const summary = await report({
      occasion: o,
      decision,
      scope,
      plan,
      outcomes,
      toRecord,
      recovered: recovered.length,
      rechecked,
      shortfall,
      verdict,
    });
    return {
      decision: 'shed',
      outcome: verdict.outcome,
      tier: tier.at,
      outcomes,
      savingPerHour: summary.savingPerHour ?? 0,
      retry: verdict.retry
        ? `${triggerNoun(t)} ${t.id} tier ${tier.at}: ${shortfall.transientStops} stop(s) and ${shortfall.transientListings} listing(s) failed transiently, ${shortfall.unconfirmedStops} stop(s) unconfirmed`
        : undefined,
    };
  }

  async function carryOut(o: Occasion): Promise<ShedReport> {
    const { decision, policy, trigger: t } = o;
    const quiet = (outcome: NotificationOutcome, tier?: number): ShedReport => ({
      decision: decision.kind,
      outcome,
      tier,
      outcomes: [],
      savingPerHour: 0,
      retry: undefined,
    });
    switch (decision.kind) {
      case 'record':
        await o.record(quietSummary(decision.outcome, decision.tier?.at, decision.reason, dryRun));
        return quiet(decision.outcome, decision.tier?.at);
      case 'forecast-warning': {
        const dashboardUrl = t.kind === 'budget' ? undefined : config.dashboardUrl;
        const next = nextTier(policy, undefined);
        const posted = await post(
          forecastMessage({ trigger: t, threshold: decision.threshold, next, dashboardUrl }),
          o,
        );
        await o.record(
          quietSummary('FORECAST_WARNING', undefined, decision.reason, dryRun, posted),
        );
        return quiet('FORECAST_WARNING');
      }
      case 'notify': {
        const next = nextTier(policy, decision.tier);
        const posted = await post(
          notifyMessage({
            trigger: t,
            tier: decision.tier,
            next,
            dashboardUrl: config.dashboardUrl,
          }),
          o,
        );
        await o.record(quietSummary('NOTIFIED', decision.tier.at, decision.reason, dryRun, posted));
        return quiet('NOTIFIED', decision.tier.at);
      }
      case 'shed':
        return shed(o, decision);
    }
  }

  return { carryOut };
}
