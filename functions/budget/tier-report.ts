/**
 * The shedding path's report step: every decision about a VM that changed is a log line and a
 * ledger row; the tier gets one Slack message (a resumed tier posts into its thread); the
 * trigger's own record of the attempt (a budget_notifications or cap_runs row) comes last,
 * because it is what marks the attempt done; then one summary log line.
 */
import { postBestEffort, type Notifier } from '../adapters/slack.js';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Decision } from './decide-notification.js';
import {
  actedVms,
  type EnforcementLedger,
  type NotificationSummary,
  type VmOutcome,
} from './enforcement-ledger.js';
import { describeGaps } from '../adapters/list-vms.js';
import type { SheddingPlan } from './plan-shedding.js';
import type { RecheckResult } from './recheck-unconfirmed.js';
import { triggerNoun } from './shed-trigger.js';
import type { FleetInScope, Occasion } from './shed-tier.js';
import { followUpMessage, tierMessage } from './slack-report.js';
import type { TierShortfall, TierVerdict } from './tier-verdicts.js';

export interface TierReportDeps {
  readonly ledger: Pick<EnforcementLedger, 'recordDecisions'>;
  readonly notifier: Notifier;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly dryRun: boolean;
  readonly dashboardUrl: string | undefined;
}

/** One attempt at a tier, as carried out: what the report step reports. */
export interface TierAttempt {
  readonly occasion: Occasion;
  readonly decision: Extract<Decision, { kind: 'shed' }>;
  readonly scope: FleetInScope;
  readonly plan: SheddingPlan;
  /** Every VM's outcome: earlier attempts' (recovered) and this attempt's. */
  readonly outcomes: readonly VmOutcome[];
  /** The outcomes not on record yet. */
  readonly toRecord: readonly VmOutcome[];
  readonly recovered: number;
  readonly rechecked: RecheckResult;
  readonly shortfall: TierShortfall;
  readonly verdict: TierVerdict;
}

/** What the attempt could not reach, as one note: the scope's own, failed listings, lost zones. */
export function scopeNote(scope: FleetInScope): string {
  return [
    scope.note,
    ...scope.failures.map((f) => `listing ${f.project} failed (${errorMessage(f.error)})`),
    ...(scope.gaps.length > 0 ? [`zones unreachable: ${describeGaps(scope.gaps)}`] : []),
  ].join('; ');
}

/** The projects and zones an attempt could not list, one error line each kind. */
export function logScopeProblems(
  logger: Logger,
  context: Record<string, unknown>,
  tier: number,
  scope: FleetInScope,
): void {
  for (const { project, error } of scope.failures) {
    logger.error('Listing VMs failed; the project is left out of this attempt', {
      ...context,
      project,
      error,
    });
  }
  if (scope.gaps.length > 0) {
    // Their VMs are not in this plan: the tier stays INCOMPLETE so a later attempt lists
    // those zones again.
    logger.error('Zones could not be listed; their VMs are left out of this attempt', {
      ...context,
      tier,
      zones: scope.gaps.map((g) => `${g.project}/${g.zone}`),
      codes: scope.gaps.map((g) => g.code),
    });
  }
}

/** Reports the attempt; the summary it recorded is the trigger's record of the tier. */
export function createTierReport(
  deps: TierReportDeps,
): (a: TierAttempt) => Promise<NotificationSummary> {
  const { logger, dryRun } = deps;

  function logDecisions(a: TierAttempt): void {
    const noun = triggerNoun(a.occasion.trigger);
    for (const outcome of a.toRecord) {
      const { vm, priority, rate } = outcome.planned;
      const line = {
        ...a.occasion.context,
        tier: a.plan.tier.at,
        project: vm.project,
        zone: vm.zone,
        instance: vm.name,
        priority,
        action: outcome.action,
        reason: outcome.reason,
        hourlyCost: rate.source === 'unknown' ? undefined : rate.hourly,
        requestId: outcome.requestId,
      };
      if (outcome.action === 'FAILED') logger.error(`${noun} enforcement: VM not stopped`, line);
      else logger.info(`${noun} enforcement decision`, line);
    }
  }

  return async (a) => {
    const { occasion: o, decision, plan, outcomes, scope, rechecked, verdict } = a;
    const t = o.trigger;
    const tier = plan.tier.at;
    logDecisions(a);
    // Decisions already on record as final are not written again; resolved intents are.
    await deps.ledger.recordDecisions(t, tier, a.toRecord, { dryRun, at: deps.clock.now() });

    const planned = actedVms(outcomes);
    const confirmedLater = rechecked.confirmed.length;
    // Stops confirmed by this attempt for an earlier one count with this attempt's.
    const acted = {
      vms: planned.vms,
      savingPerHour:
        planned.savingPerHour + rechecked.confirmed.reduce((sum, c) => sum + c.hourly, 0),
    };
    const unreached = scope.gaps.length > 0 ? describeGaps(scope.gaps) : undefined;
    const note = scopeNote(scope);
    const shared = { trigger: t, plan, outcomes, acted, unreached, confirmedLater };
    const message = decision.thread
      ? followUpMessage({ ...shared, threadTs: decision.thread.ts })
      : tierMessage({ ...shared, dryRun, scopeNote: note, dashboardUrl: deps.dashboardUrl });
    const { posted } = await postBestEffort(deps.notifier, logger, message, {
      // The stops are done and recorded; a Slack outage must not make the trigger retry them.
      message: 'Slack message not sent',
      context: o.context,
    });

    const failed = outcomes.filter((x) => x.action === 'FAILED').length;
    const spared = outcomes.filter((x) => x.action.startsWith('SKIPPED_')).length;
    const summary: NotificationSummary = {
      outcome: verdict.outcome,
      tier,
      reason: `${decision.reason}; ${note}`,
      dryRun,
      stopped: acted.vms.length + confirmedLater,
      failed,
      spared,
      savingPerHour: acted.savingPerHour,
      priceCurrency: plan.currency,
      // The thread root stays the tier's message, so every follow-up lands under it.
      slack: decision.thread ?? posted,
    };
    await o.record(summary);
    const noun = triggerNoun(t);
    logger.notice(dryRun ? `${noun} tier planned (dry run)` : `${noun} tier enforced`, {
      ...o.context,
      tier,
      outcome: verdict.outcome,
      stopped: summary.stopped,
      failed,
      unconfirmed: a.shortfall.unconfirmedStops,
      spared,
      recovered: a.recovered,
      savingPerHour: acted.savingPerHour,
      ...(scope.gaps.length > 0
        ? { unreachableZones: scope.gaps.map((g) => `${g.project}/${g.zone}`) }
        : {}),
    });
    return summary;
  };
}
