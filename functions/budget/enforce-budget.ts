import type { CloudEvent } from '@google-cloud/functions-framework';
import type { BudgetDirectory } from '../adapters/budgets.js';
import type { ComputeFleet } from '../adapters/compute.js';
import type { ProjectDirectory } from '../adapters/projects.js';
import type { Notifier } from '../adapters/slack.js';
import type { Clock } from '../core/clock.js';
import { TransientError, ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { PriceLookup } from '../core/pricing.js';
import {
  decideOnNotification,
  type Decision,
  type NotificationOutcome,
} from './decide-notification.js';
import {
  notificationRow,
  type EnforcementLedger,
  type NotificationSummary,
  type VmOutcome,
} from './enforcement-ledger.js';
import { KeyLock } from '../core/key-lock.js';
import { listVmsIn } from './list-vms.js';
import { messageIdOf, parseBudgetNotification, type BudgetNotification } from './notification.js';
import type { SheddingPolicy } from './policy.js';
import { resolveScope } from './scope.js';
import { makeShedPath, type FleetInScope } from './shed-tier.js';
import { budgetTrigger } from './shed-trigger.js';
import { untrustedReason, type TrustedBudgets } from './trusted-budgets.js';

/**
 * The budget enforcer: for each notification, read the period's history from the ledger,
 * decide (a pure function), and hand the decision to the shedding path (shed-tier.ts), which
 * stops VMs or only says what would stop in dry run, notifies, or records why nothing was done.
 * The notification's outcome is a row of budget_notifications, the enforcer's durable state.
 */
export const MESSAGE_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';

export interface BudgetEnforcerDeps {
  readonly fleet: Pick<ComputeFleet, 'listing' | 'stopAll' | 'get'>;
  readonly budgets: Pick<BudgetDirectory, 'scope'>;
  readonly projects: Pick<ProjectDirectory, 'idOf'>;
  readonly prices: PriceLookup;
  readonly ledger: EnforcementLedger;
  readonly notifier: Notifier;
  readonly logger: Logger;
  readonly clock: Clock;
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

export type BudgetEnforcer = (notification: BudgetNotification) => Promise<EnforcementReport>;

export function makeBudgetEnforcer(
  deps: BudgetEnforcerDeps,
  config: BudgetEnforcerConfig,
): BudgetEnforcer {
  const { logger } = deps;
  const { policy } = config;
  // Deliveries for one budget run one at a time, so a duplicate sees the first one's record.
  const lock = new KeyLock();
  const dryRun = !config.enforce;
  const act = makeShedPath(deps, config);

  /** The running VMs of the budget's projects that are governed, as far as they could be listed. */
  async function inScope(n: BudgetNotification): Promise<FleetInScope> {
    const budget = await deps.budgets.scope(n.billingAccountId, n.budgetId);
    const ids = new Map<string, string | undefined>();
    for (const entry of budget.projects) ids.set(entry, await deps.projects.idOf(entry));
    const scope = resolveScope(budget, ids, config.projects);
    const { vms, failures, gaps } = await listVmsIn(scope.projects, (project) =>
      deps.fleet.listing(project, { status: 'RUNNING' }),
    );
    return { projects: scope.projects, vms, failures, gaps, note: scope.note };
  }

  async function handle(n: BudgetNotification): Promise<EnforcementReport> {
    const history = await deps.ledger.history(n);
    const decision = decideOnNotification(n, history, policy, dryRun);
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
    if (decision.kind === 'duplicate') {
      return {
        messageId: n.messageId,
        decision: decision.kind,
        outcome: 'DUPLICATE',
        tier: undefined,
        outcomes: [],
        savingPerHour: 0,
      };
    }
    const report = await act({
      trigger: budgetTrigger(n),
      policy,
      decision,
      context,
      inScope: () => inScope(n),
      record: (summary: NotificationSummary) =>
        deps.ledger.recordNotification(notificationRow(n, summary, deps.clock.now())),
    });
    if (report.retry !== undefined) {
      throw new TransientError(`${report.retry}; the message will be redelivered`);
    }
    return {
      messageId: n.messageId,
      decision: report.decision,
      outcome: report.outcome,
      tier: report.tier,
      outcomes: report.outcomes,
      savingPerHour: report.savingPerHour,
    };
  }

  return async (n) => {
    const untrusted = untrustedReason(n, config.trusted);
    if (untrusted !== undefined) {
      logger.error('Budget notification from an unknown source; acknowledged without action', {
        messageId: n.messageId,
        budgetId: n.budgetId,
        billingAccountId: n.billingAccountId,
        reason: untrusted,
      });
      return {
        messageId: n.messageId,
        decision: 'untrusted',
        outcome: 'UNTRUSTED',
        tier: undefined,
        outcomes: [],
        savingPerHour: 0,
      };
    }
    return lock.run(n.budgetId, () => handle(n));
  };
}

/**
 * The CloudEvent edge: validates the delivery and hands the notification to the enforcer. A
 * message that does not validate is one error line with its messageId and is acknowledged.
 */
export function makeBudgetEventLogic(
  enforce: BudgetEnforcer,
  logger: Logger,
): (event: CloudEvent<unknown>) => Promise<void> {
  return async (event) => {
    const messageId = messageIdOf(event.data, event.id);
    let notification: BudgetNotification;
    try {
      if (event.type !== MESSAGE_PUBLISHED) {
        throw new ValidationError(`Unexpected event type ${String(event.type)}`, [
          `type: expected ${MESSAGE_PUBLISHED}`,
        ]);
      }
      notification = parseBudgetNotification(event.data, event.id);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      logger.error('Budget notification rejected; acknowledged without action', {
        messageId,
        eventId: event.id,
        error: error.message,
        issues: error.issues,
      });
      return;
    }
    await enforce(notification);
  };
}
