/**
 * The local run's budget story: a budget over the sandbox's projects, then notifications whose
 * simulated spend climbs through the tiers half an hour apart, each delivered to enforceBudget
 * as Pub/Sub would. Returns which VMs were stopped after each step.
 */

import type { CloudEvent } from '@google-cloud/functions-framework';
import type { Runtime } from '../../adapters/runtime.js';
import type { PriceLookup } from '../../core/pricing.js';
import { putBudget } from '../routes/billing-budgets.js';
import type { Sandbox } from '../sandbox.js';
import { budgetNotificationEvent, demoBudget } from './budget-notifications.js';
import { buildEnforceBudget } from '../../budget/entry.js';

export interface BudgetDemoOptions {
  readonly sandbox: Sandbox;
  /** A runtime pointed at the sandbox (COSTGUARD_PROJECTS etc. set). */
  readonly runtime: Runtime;
  readonly billingAccountId?: string;
  readonly budgetId?: string;
  /** Budget amount per month, in USD (default 5,000). */
  readonly amount?: number;
  /** Project numbers the budget covers (default: every project of the sandbox fleet). */
  readonly projectNumbers?: readonly string[];
  /** Spend as a fraction of the budget at each step (default 0.5, 0.85, 1.02, 1.15). */
  readonly spend?: readonly number[];
  /** Defaults to the pricing engine. */
  readonly prices?: PriceLookup;
  /** Delivers each event; defaults to an enforceBudget built from the runtime. */
  readonly deliver?: (event: CloudEvent<unknown>) => Promise<void>;
}

export interface BudgetDemoStep {
  readonly spend: number;
  readonly costAmount: number;
  /** Every VM stopped so far, as `project/zone/name`. */
  readonly stopped: readonly string[];
}

/**
 * The budget `npm start` puts in the sandbox, over every project of its fleet: the one the
 * budget fixtures (`fixtures/budget/`) and `npm run budget-alert` name.
 */
export interface SandboxBudget {
  readonly billingAccountId: string;
  readonly budgetId: string;
  readonly displayName: string;
  /** Per month, in USD. */
  readonly amount: number;
}

export const SANDBOX_BUDGET: SandboxBudget = {
  billingAccountId: '01D4EE-079462-DFD6EC',
  budgetId: 'de72f49d-779b-4945-a127-4d6ce8def0bb',
  displayName: 'Spot ML training',
  amount: 5000,
};

/** Puts a budget over the sandbox fleet's projects (the sandbox budget unless told otherwise). */
export function putSandboxBudget(
  sandbox: Sandbox,
  budget: Partial<SandboxBudget> & { projectNumbers?: readonly string[] } = {},
): void {
  const { billingAccountId, budgetId, displayName, amount } = { ...SANDBOX_BUDGET, ...budget };
  putBudget(
    sandbox,
    demoBudget({
      billingAccountId,
      budgetId,
      amount,
      displayName,
      projectNumbers:
        budget.projectNumbers ?? [...sandbox.fleet.projects.values()].map((p) => p.number),
    }),
  );
}

export async function runBudgetDemo(options: BudgetDemoOptions): Promise<BudgetDemoStep[]> {
  const { sandbox } = options;
  const billingAccountId = options.billingAccountId ?? SANDBOX_BUDGET.billingAccountId;
  const budgetId = options.budgetId ?? SANDBOX_BUDGET.budgetId;
  const amount = options.amount ?? SANDBOX_BUDGET.amount;
  putSandboxBudget(sandbox, {
    billingAccountId,
    budgetId,
    amount,
    ...(options.projectNumbers ? { projectNumbers: options.projectNumbers } : {}),
  });
  // The demo is there to show VMs stopping, so it enforces unless told otherwise, and it
  // trusts the budget it created.
  const told = options.runtime.env.COSTGUARD_BUDGET_ENFORCE?.trim();
  const runtime: Runtime = {
    ...options.runtime,
    env: {
      ...options.runtime.env,
      COSTGUARD_BUDGET_ENFORCE: told ? told : 'true',
      COSTGUARD_BILLING_ACCOUNT: billingAccountId,
      COSTGUARD_BUDGET_IDS: budgetId,
    },
  };
  const deliver =
    options.deliver ??
    (await buildEnforceBudget(runtime, options.prices ? { prices: options.prices } : {}));
  const periodStart = new Date(sandbox.clock.now());
  const costIntervalStart = new Date(
    Date.UTC(periodStart.getUTCFullYear(), periodStart.getUTCMonth(), 1),
  ).toISOString();
  const steps: BudgetDemoStep[] = [];
  for (const spend of options.spend ?? [0.5, 0.85, 1.02, 1.15]) {
    sandbox.clock.advance(30 * 60_000);
    const costAmount = Math.round(amount * spend * 100) / 100;
    await deliver(
      budgetNotificationEvent({
        billingAccountId,
        budgetId,
        budgetDisplayName: SANDBOX_BUDGET.displayName,
        budgetAmount: amount,
        costAmount,
        costIntervalStart,
        publishTime: sandbox.clock.now().toISOString(),
      }),
    );
    steps.push({
      spend,
      costAmount,
      stopped: sandbox.fleet
        .live()
        .filter(
          (vm) => vm.status === 'TERMINATED' && vm.history.some((h) => h.status === 'RUNNING'),
        )
        .map((vm) => `${vm.project}/${vm.zone}/${vm.name}`),
    });
  }
  return steps;
}
