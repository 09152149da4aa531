/**
 * What made a tier shed: a budget notification or a Spot cap run. The shedding path (plan,
 * stops, ledger rows, Slack) reads only this, so both triggers share it; `kind` keeps their
 * ledger rows, stop request ids and messages apart.
 */
import type { BudgetNotification } from './notification.js';

export type TriggerKind = 'budget' | 'cap';

/** A cap's figures beyond spend against amount, shown in its Slack messages. */
export interface CapOutlook {
  readonly recorded: number;
  readonly estimated: number;
  readonly forecast: number;
  readonly forecastMethod: string;
  readonly periodEnd: string;
  /** Share of the period gone by, 0 to 1. */
  readonly elapsed: number;
  readonly scope: string;
}

export interface ShedTrigger {
  readonly kind: TriggerKind;
  /** The budget id, or the cap's name. */
  readonly id: string;
  readonly displayName: string;
  /** The notification's message id, or the cap run's id. */
  readonly runId: string;
  /** Empty for a cap. */
  readonly billingAccountId: string;
  /** ISO time the budget's or cap's period starts. */
  readonly periodStart: string;
  readonly spend: number;
  readonly amount: number;
  readonly currency: string;
  readonly spendRatio: number;
  readonly outlook?: CapOutlook;
}

export function budgetTrigger(n: BudgetNotification): ShedTrigger {
  return {
    kind: 'budget',
    id: n.budgetId,
    displayName: n.budgetDisplayName,
    runId: n.messageId,
    billingAccountId: n.billingAccountId,
    periodStart: n.costIntervalStart,
    spend: n.costAmount,
    amount: n.budgetAmount,
    currency: n.currencyCode,
    spendRatio: n.spendRatio,
  };
}

/** `Budget` or `Spot cap`, for messages and log lines. */
export function triggerNoun(trigger: Pick<ShedTrigger, 'kind'>): string {
  return trigger.kind === 'budget' ? 'Budget' : 'Spot cap';
}

export function triggerLabel(trigger: Pick<ShedTrigger, 'id' | 'displayName'>): string {
  return trigger.displayName === '' ? trigger.id : trigger.displayName;
}
