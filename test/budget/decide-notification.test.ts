import { describe, expect, it } from 'vitest';
import { readConfig } from '../../functions/core/config.js';
import {
  decideOnNotification,
  EMPTY_HISTORY,
  type PeriodHistory,
  type TierRecord,
} from '../../functions/budget/decide-notification.js';
import type { BudgetNotification } from '../../functions/budget/notification.js';
import { budgetSettings } from '../../functions/budget/policy.js';

const POLICY = readConfig(budgetSettings, {}).policy;

function notification(
  costAmount: number,
  extra: Partial<BudgetNotification> = {},
): BudgetNotification {
  return {
    messageId: 'm-new',
    publishTime: '2026-11-20T10:00:00Z',
    billingAccountId: '01D4EE-079462-DFD6EC',
    budgetId: 'b-1',
    budgetDisplayName: 'Spot',
    costAmount,
    budgetAmount: 1000,
    budgetAmountType: 'SPECIFIED_AMOUNT',
    currencyCode: 'USD',
    costIntervalStart: '2026-11-01T07:00:00.000Z',
    alertThresholdExceeded: undefined,
    forecastThresholdExceeded: undefined,
    spendRatio: costAmount / 1000,
    ...extra,
  };
}

const record = (tier: number, outcome: TierRecord['outcome'], dryRun = false): TierRecord => ({
  tier,
  outcome,
  dryRun,
  slack: { channel: 'C1', ts: `${tier}.000001` },
});

const history = (h: Partial<PeriodHistory>): PeriodHistory => ({ ...EMPTY_HISTORY, ...h });

type Expected = {
  kind: string;
  outcome?: string;
  tier?: number;
  reason?: string;
  thread?: string;
};

function summary(d: ReturnType<typeof decideOnNotification>): Expected {
  switch (d.kind) {
    case 'duplicate':
      return { kind: d.kind };
    case 'record':
      return { kind: d.kind, outcome: d.outcome, ...(d.tier ? { tier: d.tier.at } : {}) };
    case 'forecast-warning':
      return { kind: d.kind };
    case 'notify':
      return { kind: d.kind, tier: d.tier.at };
    case 'shed':
      return {
        kind: d.kind,
        tier: d.tier.at,
        reason: d.reason,
        ...(d.thread ? { thread: d.thread.ts } : {}),
      };
  }
}

describe('decideOnNotification', () => {
  // The cost, or the cost and budget amount, of the notification.
  it.each<
    [
      string,
      number | { costAmount: number; budgetAmount: number },
      PeriodHistory,
      boolean,
      Expected,
    ]
  >([
    [
      'a new period under every tier',
      500,
      EMPTY_HISTORY,
      false,
      { kind: 'record', outcome: 'BELOW_TIERS' },
    ],
    ['a new period at the notify tier', 800, EMPTY_HISTORY, false, { kind: 'notify', tier: 0.8 }],
    [
      'a new period at the budget',
      1000,
      EMPTY_HISTORY,
      false,
      { kind: 'shed', tier: 1, reason: 'spend reached tier 1' },
    ],
    [
      'a new period well over',
      1500,
      EMPTY_HISTORY,
      false,
      { kind: 'shed', tier: 1.1, reason: 'spend reached tier 1.1' },
    ],
    [
      'the same message again',
      1000,
      history({ messageHandled: true, highestCost: 1000, tiers: [record(1, 'ACTED')] }),
      false,
      { kind: 'duplicate' },
    ],
    [
      'a lower cost than already seen (out of order)',
      990,
      history({ highestCost: 1010, tiers: [record(1, 'ACTED')] }),
      false,
      { kind: 'record', outcome: 'OUT_OF_ORDER' },
    ],
    [
      'an out-of-order message even below every tier',
      100,
      history({ highestCost: 1010 }),
      false,
      { kind: 'record', outcome: 'OUT_OF_ORDER' },
    ],
    [
      'the same cost from a new message after the tier acted',
      1000,
      history({ highestCost: 1000, tiers: [record(1, 'ACTED')] }),
      false,
      { kind: 'record', outcome: 'ALREADY_ACTED', tier: 1 },
    ],
    [
      'a notify tier already notified',
      850,
      history({ highestCost: 820, tiers: [record(0.8, 'NOTIFIED')] }),
      false,
      { kind: 'record', outcome: 'ALREADY_ACTED', tier: 0.8 },
    ],
    [
      'the next tier after the first acted',
      1100,
      history({ highestCost: 1000, tiers: [record(1, 'ACTED')] }),
      false,
      { kind: 'shed', tier: 1.1, reason: 'spend reached tier 1.1' },
    ],
    [
      'a tier whose earlier attempt was incomplete',
      1005,
      history({ highestCost: 1000, tiers: [record(1, 'INCOMPLETE')] }),
      false,
      {
        kind: 'shed',
        tier: 1,
        reason: 'tier 1 resumed after an incomplete attempt',
        thread: '1.000001',
      },
    ],
    [
      'a tier whose incomplete attempt posted no Slack message',
      1005,
      history({ highestCost: 1000, tiers: [{ ...record(1, 'INCOMPLETE'), slack: undefined }] }),
      false,
      { kind: 'shed', tier: 1, reason: 'tier 1 resumed after an incomplete attempt' },
    ],
    [
      'a tier incomplete in dry run, now enforced',
      1005,
      history({ highestCost: 1000, tiers: [record(1, 'INCOMPLETE', true)] }),
      false,
      { kind: 'shed', tier: 1, reason: 'spend reached tier 1' },
    ],
    [
      'a tier planned in dry run, now enforced',
      1005,
      history({ highestCost: 1000, tiers: [record(1, 'ACTED', true)] }),
      false,
      { kind: 'shed', tier: 1, reason: 'spend reached tier 1' },
    ],
    [
      'a tier enforced, now in dry run',
      1005,
      history({ highestCost: 1000, tiers: [record(1, 'ACTED', false)] }),
      true,
      { kind: 'record', outcome: 'ALREADY_ACTED', tier: 1 },
    ],
    [
      'a dry-run tier in dry run again',
      1005,
      history({ highestCost: 1000, tiers: [record(1, 'ACTED', true)] }),
      true,
      { kind: 'record', outcome: 'ALREADY_ACTED', tier: 1 },
    ],
    [
      'a budget raised mid-period, taking spend back under the tier',
      { costAmount: 1200, budgetAmount: 1150 },
      history({ highestCost: 1100, tiers: [record(1.1, 'ACTED')] }),
      false,
      { kind: 'shed', tier: 1, reason: 'spend reached tier 1' },
    ],
  ])('decides about %s', (_case, figures, past, dryRun, expected) => {
    const n =
      typeof figures === 'number'
        ? notification(figures)
        : notification(figures.costAmount, {
            budgetAmount: figures.budgetAmount,
            spendRatio: figures.costAmount / figures.budgetAmount,
          });
    expect(summary(decideOnNotification(n, past, POLICY, dryRun))).toEqual(expected);
  });

  it('warns once per period about each forecast threshold, and never acts on a forecast', () => {
    const n = notification(400, { forecastThresholdExceeded: 1 });
    const first = decideOnNotification(n, EMPTY_HISTORY, POLICY, false);
    expect(first).toMatchObject({ kind: 'forecast-warning', threshold: 1 });
    const again = decideOnNotification(n, history({ forecastWarnings: [1] }), POLICY, false);
    expect(summary(again)).toEqual({ kind: 'record', outcome: 'BELOW_TIERS' });
    const higher = notification(400, { forecastThresholdExceeded: 1.2 });
    expect(
      decideOnNotification(higher, history({ forecastWarnings: [1] }), POLICY, false).kind,
    ).toBe('forecast-warning');
  });

  it('acts on the tier reached even when a forecast is also reported', () => {
    const n = notification(1000, { forecastThresholdExceeded: 1.5 });
    expect(summary(decideOnNotification(n, EMPTY_HISTORY, POLICY, false))).toEqual({
      kind: 'shed',
      tier: 1,
      reason: 'spend reached tier 1',
    });
  });
});
