/**
 * `enforceBudget`: a CloudEvent function on the Pub/Sub topic a Cloud Billing budget publishes
 * to (the raw push body of the Pub/Sub emulator is converted by functions-framework). Deploy it
 * with `--max-instances=1` and `--retry`: deliveries are then handled one at a time, and only
 * transient failures are rethrown for Pub/Sub to redeliver. A delivery that does not validate is
 * one error line with its messageId, and is acknowledged.
 */
import { BudgetDirectory } from '../adapters/budgets.js';
import { ProjectDirectory } from '../adapters/projects.js';
import { commonAdapters, type Runtime } from '../adapters/runtime.js';
import { commonSettings, policyProjects, readConfig } from '../core/config.js';
import { ValidationError } from '../core/errors.js';
import { eventHandler, type EventFunction } from '../core/handlers.js';
import type { Logger } from '../core/logger.js';
import type { PriceLookup } from '../core/pricing.js';
import { createBudgetEnforcer, type BudgetEnforcer } from './enforce-budget.js';
import { BigQueryEnforcementLedger } from './enforcement-ledger.js';
import { messageIdOf, parseBudgetNotification, type BudgetNotification } from './notification.js';
import { budgetSettings } from './policy.js';
import { trustedBudgetSettings } from './trusted-budgets.js';

export interface BudgetEntryOverrides {
  /** Defaults to the pricing engine (Cloud Billing Catalog with the bundled price book). */
  readonly prices?: PriceLookup;
}

export const budgetEntrySettings = {
  ...commonSettings,
  ...budgetSettings,
  ...trustedBudgetSettings,
};

/** The enforcer an entry point runs, built from the runtime's settings and clients. */
async function buildBudgetEnforcer(
  runtime: Runtime,
  overrides: BudgetEntryOverrides = {},
): Promise<BudgetEnforcer> {
  const config = readConfig(budgetEntrySettings, runtime.env);
  const projects = policyProjects(
    'COSTGUARD_BUDGET_POLICY',
    'projects within COSTGUARD_PROJECTS',
    config.policy.projects,
    config.projects,
  );
  const { fleet, ledger, notifier, tags } = commonAdapters(runtime, config);
  const { clients, logger, clock } = runtime;
  // The pricing engine is loaded only when no lookup is given (tests and the demo give one).
  const prices =
    overrides.prices ??
    (await import('../pricing/index.js')).createPriceLookupFor(runtime, {
      project: projects[0] as string,
    });
  const enforcementLedger = new BigQueryEnforcementLedger(ledger);
  return createBudgetEnforcer({
    fleet,
    budgets: new BudgetDirectory(() => clients.budgets(), { logger }),
    projects: new ProjectDirectory(() => clients.projects(), { logger }),
    prices,
    ledger: enforcementLedger,
    // Snoozes and restarts from Slack (slackActions) hold a tier's shedding.
    holds: enforcementLedger,
    tags,
    notifier,
    logger,
    clock,
    config: {
      policy: config.policy,
      projects,
      enforce: config.enforce,
      stopConcurrency: config.stopConcurrency,
      dashboardUrl: config.dashboardUrl,
      trusted: { billingAccount: config.billingAccount, budgetIds: config.budgetIds },
    },
  });
}

export const MESSAGE_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';

/** The delivery's notification, or undefined when it does not validate (logged, acknowledged). */
function parseDelivery(
  event: Parameters<EventFunction>[0],
  logger: Logger,
): BudgetNotification | undefined {
  try {
    if (event.type !== MESSAGE_PUBLISHED) {
      throw new ValidationError(`Unexpected event type ${String(event.type)}`, [
        `type: expected ${MESSAGE_PUBLISHED}`,
      ]);
    }
    return parseBudgetNotification(event.data, event.id);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    logger.error('Budget notification rejected; acknowledged without action', {
      messageId: messageIdOf(event.data, event.id),
      eventId: event.id,
      error: error.message,
      issues: error.issues,
    });
    return undefined;
  }
}

export async function buildEnforceBudget(
  runtime: Runtime,
  overrides: BudgetEntryOverrides = {},
): Promise<EventFunction> {
  const enforcer = await buildBudgetEnforcer(runtime, overrides);
  return eventHandler(runtime.logger, async (event) => {
    const notification = parseDelivery(event, runtime.logger);
    if (notification !== undefined) await enforcer.handle(notification);
  });
}
