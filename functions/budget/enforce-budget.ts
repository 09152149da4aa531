/**
 * The budget enforcer: for each parsed notification (the CloudEvent edge is entry.ts), believe
 * it only from the deployed budgets, read the period's history from the ledger, decide (a pure
 * function, decide-notification.ts) and hand every decision but a duplicate to the one shedding
 * path (shed-tier.ts), which acts and reports. The notification's outcome is a row of
 * budget_notifications, the enforcer's durable state; a tier left to retry is a TransientError,
 * so Pub/Sub redelivers the message.
 */
import type { BudgetDirectory } from '../adapters/budgets.js';
import type { ComputeFleet } from '../adapters/compute.js';
import type { VmTagReader } from '../adapters/vm-tags.js';
import type { ProjectDirectory } from '../adapters/projects.js';
import type { Notifier } from '../adapters/slack.js';
import type { Clock } from '../core/clock.js';
import { settleAll } from '../core/concurrency.js';
import { TransientError } from '../core/errors.js';
import { KeyLock } from '../core/key-lock.js';
import type { Logger } from '../core/logger.js';
import type { PriceLookup } from '../core/pricing.js';
import {
  decideOnNotification,
  type Decision,
  type NotificationOutcome,
} from './decide-notification.js';
import type { EnforcementLedger, ShedHolds, VmOutcome } from './enforcement-ledger.js';
import { listVmsIn } from '../adapters/list-vms.js';
import type { BudgetNotification } from './notification.js';
import type { SheddingPolicy } from './policy.js';
import { resolveScope } from './scope.js';
import { createTierShedder, type FleetInScope } from './shed-tier.js';
import { budgetTrigger } from './shed-trigger.js';
import { untrustedReason, type TrustedBudgets } from './trusted-budgets.js';

/** Resource Manager lookups in flight at once while resolving a budget's projects. */
const PROJECT_LOOKUPS = 10;

export interface BudgetEnforcerDeps {
  readonly fleet: Pick<ComputeFleet, 'listing' | 'stopAll' | 'get'>;
  readonly budgets: Pick<BudgetDirectory, 'scope'>;
  readonly projects: Pick<ProjectDirectory, 'idOf'>;
  readonly prices: PriceLookup;
  readonly ledger: EnforcementLedger;
  /** Holds put from Slack (snoozes, restarts) that the tiers honour. */
  readonly holds?: ShedHolds;
  /** VMs' Resource Manager tags, for a policy that takes priorities from them. */
  readonly tags?: VmTagReader;
  readonly notifier: Notifier;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly config: BudgetEnforcerConfig;
}

export interface BudgetEnforcerConfig {
  readonly policy: SheddingPolicy;
  /** The governed projects the policy applies to: nothing outside these is ever touched. */
  readonly projects: readonly string[];
  /** Stop VMs for real; otherwise a dry run that records WOULD_STOP. */
  readonly enforce: boolean;
  readonly stopConcurrency: number;
  readonly dashboardUrl: string | undefined;
  /** The deployed billing account and budgets: a notification from any other is not believed. */
  readonly trusted: TrustedBudgets;
}

export interface EnforcementReport {
  readonly messageId: string;
  readonly decision: Decision['kind'] | 'untrusted';
  readonly outcome: NotificationOutcome | 'DUPLICATE' | 'UNTRUSTED';
  readonly tier: number | undefined;
  readonly outcomes: readonly VmOutcome[];
  readonly savingPerHour: number;
}

export interface BudgetEnforcer {
  /** Handles one notification; throws a TransientError when a redelivery should finish it. */
  handle(notification: BudgetNotification): Promise<EnforcementReport>;
}

export function createBudgetEnforcer(deps: BudgetEnforcerDeps): BudgetEnforcer {
  const { logger, config } = deps;
  const dryRun = !config.enforce;
  // Deliveries for one budget run one at a time, so a duplicate sees the first one's record.
  const lock = new KeyLock();
  const shedder = createTierShedder(deps);
  const nothingDone = (n: BudgetNotification, decision: 'untrusted' | 'duplicate') => ({
    messageId: n.messageId,
    decision,
    outcome: decision === 'untrusted' ? ('UNTRUSTED' as const) : ('DUPLICATE' as const),
    tier: undefined,
    outcomes: [],
    savingPerHour: 0,
  });

  /** The running VMs of the budget's projects that are governed, as far as they could be listed. */
  async function inScope(n: BudgetNotification): Promise<FleetInScope> {
    const budget = await deps.budgets.scope(n.billingAccountId, n.budgetId);
    // Looked up a few at a time: one after another, a budget of many projects waits on each.
    const looked = await settleAll(budget.projects, PROJECT_LOOKUPS, (entry) =>
      deps.projects.idOf(entry),
    );
    const ids = new Map<string, string | undefined>();
    looked.forEach((result, i) => {
      if (result.status === 'rejected') throw result.reason;
      ids.set(budget.projects[i] as string, result.value);
    });
    const scope = resolveScope(budget, ids, config.projects);
    const { vms, failures, gaps } = await listVmsIn(scope.projects, (project) =>
      deps.fleet.listing(project, { status: 'RUNNING' }),
    );
    return { projects: scope.projects, vms, failures, gaps, note: scope.note };
  }

  async function handleTrusted(n: BudgetNotification): Promise<EnforcementReport> {
    // Decide.
    const decision = decideOnNotification(n, await deps.ledger.history(n), config.policy, dryRun);
    const context = {
      messageId: n.messageId,
      budgetId: n.budgetId,
      billingAccountId: n.billingAccountId,
      period: n.costIntervalStart,
      costAmount: n.costAmount,
      budgetAmount: n.budgetAmount,
      spendRatio: n.spendRatio,
      dryRun,
    };
    logger.info('Budget notification decision', {
      ...context,
      decision: decision.kind,
      reason: decision.reason,
    });
    if (decision.kind === 'duplicate') return nothingDone(n, 'duplicate');
    // Act and report, through the one shedding path.
    const report = await shedder.carryOut({
      trigger: budgetTrigger(n),
      policy: config.policy,
      decision,
      context,
      inScope: () => inScope(n),
      record: (summary) => deps.ledger.recordNotification(n, summary, deps.clock.now()),
    });
    if (report.retry !== undefined) {
      throw new TransientError(`${report.retry}; the message will be redelivered`);
    }
    const { outcome, tier, outcomes, savingPerHour } = report;
    return {
      messageId: n.messageId,
      decision: report.decision,
      outcome,
      tier,
      outcomes,
      savingPerHour,
    };
  }

  async function handle(n: BudgetNotification): Promise<EnforcementReport> {
    const untrusted = untrustedReason(n, config.trusted);
    if (untrusted !== undefined) {
      logger.error('Budget notification from an unknown source; acknowledged without action', {
        messageId: n.messageId,
        budgetId: n.budgetId,
        billingAccountId: n.billingAccountId,
        reason: untrusted,
      });
      return nothingDone(n, 'untrusted');
    }
    return lock.run(n.budgetId, () => handleTrusted(n));
  }

  return { handle };
}
