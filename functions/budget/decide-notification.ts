/**
 * What to do about one notification (or one Spot cap run, which reads the same way) given what
 * the ledger says about its period: a pure function. A budget acts at most once per (budget, period, tier); a message seen before, or one
 * whose cost is lower than the highest already seen in the period (out of order), changes
 * nothing; a new period has no history and starts fresh.
 */
import type { PostedMessage } from '../adapters/slack.js';
import type { BudgetNotification } from './notification.js';
import { tierReached, type SheddingPolicy, type Tier } from './policy.js';

export type NotificationOutcome =
  | 'ACTED'
  | 'NOTIFIED'
  | 'INCOMPLETE'
  | 'ALREADY_ACTED'
  | 'BELOW_TIERS'
  | 'FORECAST_WARNING'
  | 'OUT_OF_ORDER'
  // The tier was held from Slack (snoozed, or restarted): recorded, nothing stopped, and the
  // tier stays open, so the first notification after the hold carries it out.
  | 'SNOOZED'
  // The tier asks for approval (its policy says `approve`): what it would stop is listed in
  // Slack and nothing is stopped until someone decides or the timeout applies the default.
  | 'AWAITING_APPROVAL';

/** A tier's earlier handling in this period, from the ledger. */
export interface TierRecord {
  readonly tier: number;
  readonly outcome: 'ACTED' | 'NOTIFIED' | 'INCOMPLETE' | 'AWAITING_APPROVAL';
  readonly dryRun: boolean;
  /** The tier's Slack message, where one was posted. */
  readonly slack: PostedMessage | undefined;
}

export interface PeriodHistory {
  /** Highest costAmount recorded for the budget in this period. */
  readonly highestCost: number | undefined;
  /** Whether this very message was already handled to a final outcome. */
  readonly messageHandled: boolean;
  /** Oldest first. */
  readonly tiers: readonly TierRecord[];
  /** Forecast thresholds already warned about in this period. */
  readonly forecastWarnings: readonly number[];
}

/** What a decision reads from a notification; a cap run gives the same from its own figures. */
export type SpendReading = Pick<
  BudgetNotification,
  'messageId' | 'costAmount' | 'spendRatio' | 'forecastThresholdExceeded'
>;

export type Decision =
  | { readonly kind: 'duplicate'; readonly reason: string }
  | {
      readonly kind: 'record';
      readonly outcome: NotificationOutcome;
      readonly tier: Tier | undefined;
      readonly reason: string;
    }
  | { readonly kind: 'forecast-warning'; readonly threshold: number; readonly reason: string }
  | { readonly kind: 'notify'; readonly tier: Tier; readonly reason: string }
  | {
      readonly kind: 'shed';
      readonly tier: Tier;
      /** The Slack message of an earlier, incomplete attempt: follow-ups go to its thread. */
      readonly thread: PostedMessage | undefined;
      /** The Slack message asking for approval, while the tier awaits a decision. */
      readonly proposal?: PostedMessage | undefined;
      readonly reason: string;
    };

/**
 * A tier counts as done when carried out for real, or in the same mode (dry run) as now; one
 * awaiting approval is still open.
 */
function settled(record: TierRecord, dryRun: boolean): boolean {
  return (
    record.outcome !== 'INCOMPLETE' &&
    record.outcome !== 'AWAITING_APPROVAL' &&
    (!record.dryRun || dryRun)
  );
}

function sameTier(record: TierRecord, tier: Tier): boolean {
  return Math.abs(record.tier - tier.at) < 1e-9;
}

export function decideOnNotification(
  notification: SpendReading,
  history: PeriodHistory,
  policy: SheddingPolicy,
  dryRun: boolean,
): Decision {
  if (history.messageHandled) {
    return { kind: 'duplicate', reason: `message ${notification.messageId} was already handled` };
  }
  if (history.highestCost !== undefined && notification.costAmount < history.highestCost) {
    return {
      kind: 'record',
      outcome: 'OUT_OF_ORDER',
      tier: undefined,
      reason: `cost ${notification.costAmount} is below ${history.highestCost} already seen this period`,
    };
  }
  const tier = tierReached(policy, notification.spendRatio);
  const forecast = notification.forecastThresholdExceeded;
  const forecastNews =
    forecast !== undefined && !history.forecastWarnings.some((w) => Math.abs(w - forecast) < 1e-9);
  const quiet = (outcome: NotificationOutcome, reason: string): Decision =>
    forecastNews
      ? {
          kind: 'forecast-warning',
          threshold: forecast,
          reason: `forecast to cross ${forecast * 100}% of the budget; ${reason}`,
        }
      : { kind: 'record', outcome, tier, reason };

  if (!tier) return quiet('BELOW_TIERS', 'spend is below every tier');
  const records = history.tiers.filter((r) => sameTier(r, tier));
  if (records.some((r) => settled(r, dryRun))) {
    return quiet('ALREADY_ACTED', `tier ${tier.at} was already carried out this period`);
  }
  if (tier.stop.length === 0) {
    return { kind: 'notify', tier, reason: `spend reached tier ${tier.at}` };
  }
  const incomplete = records.filter((r) => r.outcome === 'INCOMPLETE' && r.dryRun === dryRun);
  const awaiting = records.filter((r) => r.outcome === 'AWAITING_APPROVAL' && r.dryRun === dryRun);
  return {
    kind: 'shed',
    tier,
    thread: incomplete.find((r) => r.slack)?.slack,
    proposal: awaiting.find((r) => r.slack)?.slack,
    reason:
      awaiting.length > 0
        ? `tier ${tier.at} awaits approval`
        : incomplete.length > 0
          ? `tier ${tier.at} resumed after an incomplete attempt`
          : `spend reached tier ${tier.at}`,
  };
}
