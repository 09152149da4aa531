/**
 * Budget notifications as Cloud Billing sends them, built from figures: for the local run
 * (simulated spend crossing the tiers), the Pub/Sub emulator test and the benchmark. The data is
 * what FACTS.md documents; `alertThresholdExceeded` is the highest budget threshold crossed
 * and absent when none is.
 */

import type { CloudEvent } from '@google-cloud/functions-framework';
import { nameBasedUuid } from '../../core/request-id.js';

export interface BudgetFigures {
  readonly billingAccountId: string;
  readonly budgetId: string;
  readonly budgetDisplayName?: string;
  readonly budgetAmount: number;
  readonly costAmount: number;
  readonly currencyCode?: string;
  /** Start of the budget period, ISO (default: the first day of the current UTC month). */
  readonly costIntervalStart?: string;
  /** The budget's alert thresholds, as ratios (default 0.5, 0.9, 1.0). */
  readonly thresholds?: readonly number[];
  readonly forecastThresholdExceeded?: number;
  readonly messageId?: string;
  readonly publishTime?: string;
  /** `projects/P/topics/T` */
  readonly topic?: string;
}

export interface PubsubMessage {
  readonly data: string;
  readonly attributes: Record<string, string>;
  readonly messageId: string;
  readonly publishTime: string;
}

export interface MessagePublishedData {
  readonly message: PubsubMessage;
  readonly subscription: string;
}

const DEFAULT_TOPIC = 'projects/costguard-ops/topics/budget-alerts';

function monthStart(at: Date): string {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1)).toISOString();
}

function budgetNotificationData(figures: BudgetFigures): Record<string, unknown> {
  const ratio = figures.costAmount / figures.budgetAmount;
  const crossed = (figures.thresholds ?? [0.5, 0.9, 1.0]).filter((t) => ratio >= t);
  return {
    budgetDisplayName: figures.budgetDisplayName ?? 'Spot training budget',
    ...(crossed.length > 0 ? { alertThresholdExceeded: Math.max(...crossed) } : {}),
    ...(figures.forecastThresholdExceeded !== undefined
      ? { forecastThresholdExceeded: figures.forecastThresholdExceeded }
      : {}),
    costAmount: figures.costAmount,
    costIntervalStart:
      figures.costIntervalStart ?? monthStart(new Date(figures.publishTime ?? Date.now())),
    budgetAmount: figures.budgetAmount,
    budgetAmountType: 'SPECIFIED_AMOUNT',
    currencyCode: figures.currencyCode ?? 'USD',
  };
}

export function budgetPubsubMessage(figures: BudgetFigures): PubsubMessage {
  const data = budgetNotificationData(figures);
  return {
    data: Buffer.from(JSON.stringify(data), 'utf8').toString('base64'),
    attributes: {
      billingAccountId: figures.billingAccountId,
      budgetId: figures.budgetId,
      schemaVersion: '1.0',
    },
    // Pub/Sub message ids are decimal numbers; derive one from the figures unless given.
    messageId:
      figures.messageId ??
      String(
        BigInt(
          `0x${nameBasedUuid(JSON.stringify({ ...figures, data }))
            .replace(/-/g, '')
            .slice(0, 13)}`,
        ),
      ),
    publishTime: figures.publishTime ?? new Date().toISOString(),
  };
}

/** The gen2 CloudEvent (`messagePublished`) carrying the notification. */
export function budgetNotificationEvent(figures: BudgetFigures): CloudEvent<MessagePublishedData> {
  const topic = figures.topic ?? DEFAULT_TOPIC;
  const message = budgetPubsubMessage(figures);
  return {
    specversion: '1.0',
    id: message.messageId,
    source: `//pubsub.googleapis.com/${topic}`,
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    time: message.publishTime,
    datacontenttype: 'application/json',
    data: {
      message,
      subscription: `${topic.replace('/topics/', '/subscriptions/')}-enforce-budget`,
    },
  };
}

/** A Budget resource in its REST form, for the sandbox's Budgets API. */
export function demoBudget(input: {
  billingAccountId: string;
  budgetId: string;
  displayName?: string;
  amount: number;
  currencyCode?: string;
  /** Project numbers; none means the whole billing account. */
  projectNumbers?: readonly string[];
  topic?: string;
}): Record<string, unknown> {
  return {
    name: `billingAccounts/${input.billingAccountId}/budgets/${input.budgetId}`,
    displayName: input.displayName ?? 'Spot training budget',
    budgetFilter: {
      ...(input.projectNumbers && input.projectNumbers.length > 0
        ? { projects: input.projectNumbers.map((n) => `projects/${n}`) }
        : {}),
      creditTypesTreatment: 'INCLUDE_ALL_CREDITS',
      calendarPeriod: 'MONTH',
    },
    amount: {
      specifiedAmount: { currencyCode: input.currencyCode ?? 'USD', units: String(input.amount) },
    },
    thresholdRules: [
      { thresholdPercent: 0.5, spendBasis: 'CURRENT_SPEND' },
      { thresholdPercent: 0.9, spendBasis: 'CURRENT_SPEND' },
      { thresholdPercent: 1, spendBasis: 'CURRENT_SPEND' },
      { thresholdPercent: 1, spendBasis: 'FORECASTED_SPEND' },
    ],
    notificationsRule: { pubsubTopic: input.topic ?? DEFAULT_TOPIC, schemaVersion: '1.0' },
    etag: `"${nameBasedUuid(input.budgetId).slice(0, 8)}"`,
  };
}
