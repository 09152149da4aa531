import type { CloudEvent } from '@google-cloud/functions-framework';
import { BudgetDirectory } from '../adapters/budgets.js';
import { ProjectDirectory } from '../adapters/projects.js';
import { commonAdapters, type Runtime } from '../adapters/runtime.js';
import { commonSettings, policyProjects, readConfig } from '../core/config.js';
import { eventHandler } from '../core/handlers.js';
import type { PriceLookup } from '../core/pricing.js';
import { makeBudgetEnforcer, makeBudgetEventLogic, type BudgetEnforcer } from './enforce-budget.js';
import { BigQueryEnforcementLedger } from './enforcement-ledger.js';
import { budgetSettings } from './policy.js';
import { trustedBudgetSettings } from './trusted-budgets.js';

/**
 * `enforceBudget`: a CloudEvent function on the Pub/Sub topic a Cloud Billing budget publishes
 * to (the raw push body of the Pub/Sub emulator is converted by functions-framework). Deploy it
 * with `--max-instances=1` and `--retry`: deliveries are then handled one at a time, and only
 * transient failures are rethrown for Pub/Sub to redeliver.
 */
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
  const { fleet, ledger, notifier } = commonAdapters(runtime, config);
  const { clients, logger, clock } = runtime;
  // The pricing engine is loaded only when no lookup is given (tests and the demo give one).
  const prices =
    overrides.prices ??
    (await import('../pricing/index.js')).createPriceLookupFor(runtime, {
      project: projects[0] as string,
    });
  return makeBudgetEnforcer(
    {
      fleet,
      budgets: new BudgetDirectory(() => clients.budgets(), { logger }),
      projects: new ProjectDirectory(() => clients.projects(), { logger }),
      prices,
      ledger: new BigQueryEnforcementLedger(ledger),
      notifier,
      logger,
      clock,
    },
    {
      policy: config.policy,
      projects,
      enforce: config.enforce,
      stopConcurrency: config.stopConcurrency,
      dashboardUrl: config.dashboardUrl,
      trusted: { billingAccount: config.billingAccount, budgetIds: config.budgetIds },
    },
  );
}

export async function buildEnforceBudget(
  runtime: Runtime,
  overrides: BudgetEntryOverrides = {},
): Promise<(event: CloudEvent<unknown>) => Promise<void>> {
  const enforcer = await buildBudgetEnforcer(runtime, overrides);
  return eventHandler<unknown>(runtime.logger, makeBudgetEventLogic(enforcer, runtime.logger));
}
