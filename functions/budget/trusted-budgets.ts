/**
 * Which budgets may drive enforcement. A notification's figures are whatever its publisher
 * wrote, so only the billing account and budgets costguard deployed are believed; anything else
 * on the topic is logged and acknowledged without a ledger row, so it can neither stop VMs nor
 * raise the period's highest cost and hide the genuine alerts that follow.
 */
import { setting } from '../core/config.js';
import type { BudgetNotification } from './notification.js';

export interface TrustedBudgets {
  readonly billingAccount: string;
  readonly budgetIds: readonly string[];
}

export const BILLING_ACCOUNT_ID = /^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$/;
export const BUDGET_ID = /^[A-Za-z0-9-]{1,64}$/;

export const trustedBudgetSettings = {
  billingAccount: setting.text(
    'COSTGUARD_BILLING_ACCOUNT',
    'the billing account id whose budgets costguard acts on, such as 01D4EE-079462-DFD6EC',
    { pattern: BILLING_ACCOUNT_ID },
  ),
  budgetIds: setting.list(
    'COSTGUARD_BUDGET_IDS',
    'a comma-separated list of the budget ids costguard acts on (deploy sets it)',
    { item: BUDGET_ID },
  ),
};

/** Why a notification is not believed, or undefined when it comes from a trusted budget. */
export function untrustedReason(
  notification: Pick<BudgetNotification, 'billingAccountId' | 'budgetId'>,
  trusted: TrustedBudgets,
): string | undefined {
  if (notification.billingAccountId !== trusted.billingAccount) {
    return `billing account ${notification.billingAccountId} is not the deployed ${trusted.billingAccount}`;
  }
  if (!trusted.budgetIds.includes(notification.budgetId)) {
    return `budget ${notification.budgetId} is not one costguard deployed`;
  }
  return undefined;
}
