import { describe, expect, it } from 'vitest';
import { readConfig } from '../../functions/core/config.js';
import {
  decideOnNotification,
  type PeriodHistory,
  type TierRecord,
} from '../../functions/budget/decide-notification.js';
import type { BudgetNotification } from '../../functions/budget/notification.js';
import { budgetSettings } from '../../functions/budget/policy.js';

/** A period the ledger knows nothing of yet. */
const EMPTY_HISTORY: PeriodHistory = {
  highestCost: undefined,
  messageHandled: false,
  tiers: [],
  forecastWarnings: [],
};

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
  proposal?: string;
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
        ...(d.proposal ? { proposal: d.proposal.ts } : {}),
      };
  }
}

describe('decideOnNotification', () => {
  // The cost, or the cost and budget amount, of the notification.
  it.each<{
    case: string;
    figures: number | { costAmount: number; budgetAmount: number };
    past: PeriodHistory;
    dryRun: boolean;
    expected: Expected;
  }>([
    {
      case: 'a new period under every tier',
      figures: 500,
      past: EMPTY_HISTORY,
      dryRun: false,
      expected: { kind: 'record', outcome: 'BELOW_TIERS' },
    },
    {
      case: 'a new period at the notify tier',
      figures: 800,
      past: EMPTY_HISTORY,
      dryRun: false,
      expected: { kind: 'notify', tier: 0.8 },
    },
    {
      case: 'a new period at the budget',
      figures: 1000,
      past: EMPTY_HISTORY,
      dryRun: false,
      expected: { kind: 'shed', tier: 1, reason: 'spend reached tier 1' },
    },
    {
      case: 'a new period well over',
      figures: 1500,
      past: EMPTY_HISTORY,
      dryRun: false,
      expected: { kind: 'shed', tier: 1.1, reason: 'spend reached tier 1.1' },
    },
    {
      case: 'the same message again',
      figures: 1000,
      past: history({ messageHandled: true, highestCost: 1000, tiers: [record(1, 'ACTED')] }),
      dryRun: false,
      expected: { kind: 'duplicate' },
    },
    {
      case: 'a lower cost than already seen (out of order)',
      figures: 990,
      past: history({ highestCost: 1010, tiers: [record(1, 'ACTED')] }),
      dryRun: false,
      expected: { kind: 'record', outcome: 'OUT_OF_ORDER' },
    },
    {
      case: 'an out-of-order message even below every tier',
      figures: 100,
      past: history({ highestCost: 1010 }),
      dryRun: false,
      expected: { kind: 'record', outcome: 'OUT_OF_ORDER' },
    },
    {
      case: 'the same cost from a new message after the tier acted',
      figures: 1000,
      past: history({ highestCost: 1000, tiers: [record(1, 'ACTED')] }),
      dryRun: false,
      expected: { kind: 'record', outcome: 'ALREADY_ACTED', tier: 1 },
    },
    {
      case: 'a notify tier already notified',
      figures: 850,
      past: history({ highestCost: 820, tiers: [record(0.8, 'NOTIFIED')] }),
      dryRun: false,
      expected: { kind: 'record', outcome: 'ALREADY_ACTED', tier: 0.8 },
    },
    {
      case: 'the next tier after the first acted',
      figures: 1100,
      past: history({ highestCost: 1000, tiers: [record(1, 'ACTED')] }),
      dryRun: false,
      expected: { kind: 'shed', tier: 1.1, reason: 'spend reached tier 1.1' },
    },
    {
      case: 'a tier whose earlier attempt was incomplete',
      figures: 1005,
      past: history({ highestCost: 1000, tiers: [record(1, 'INCOMPLETE')] }),
      dryRun: false,
      expected: {
        kind: 'shed',
        tier: 1,
        reason: 'tier 1 resumed after an incomplete attempt',
        thread: '1.000001',
      },
    },
    {
      case: 'a tier awaiting approval: still open, with the message that asks',
      figures: 1005,
      past: history({ highestCost: 1000, tiers: [record(1, 'AWAITING_APPROVAL')] }),
      dryRun: false,
      expected: {
        kind: 'shed',
        tier: 1,
        reason: 'tier 1 awaits approval',
        proposal: '1.000001',
      },
    },
    {
      case: 'a tier whose approval was resolved',
      figures: 1005,
      past: history({
        highestCost: 1000,
        tiers: [record(1, 'AWAITING_APPROVAL'), { ...record(1, 'ACTED'), slack: undefined }],
      }),
      dryRun: false,
      expected: { kind: 'record', outcome: 'ALREADY_ACTED', tier: 1 },
    },
    {
      case: 'a tier whose incomplete attempt posted no Slack message',
      figures: 1005,
      past: history({
        highestCost: 1000,
        tiers: [{ ...record(1, 'INCOMPLETE'), slack: undefined }],
      }),
      dryRun: false,
      expected: { kind: 'shed', tier: 1, reason: 'tier 1 resumed after an incomplete attempt' },
    },
    {
      case: 'a tier incomplete in dry run, now enforced',
      figures: 1005,
      past: history({ highestCost: 1000, tiers: [record(1, 'INCOMPLETE', true)] }),
      dryRun: false,
      expected: { kind: 'shed', tier: 1, reason: 'spend reached tier 1' },
    },
    {
      case: 'a tier planned in dry run, now enforced',
      figures: 1005,
      past: history({ highestCost: 1000, tiers: [record(1, 'ACTED', true)] }),
      dryRun: false,
      expected: { kind: 'shed', tier: 1, reason: 'spend reached tier 1' },
    },
    {
      case: 'a tier enforced, now in dry run',
      figures: 1005,
      past: history({ highestCost: 1000, tiers: [record(1, 'ACTED', false)] }),
      dryRun: true,
      expected: { kind: 'record', outcome: 'ALREADY_ACTED', tier: 1 },
    },
    {
      case: 'a dry-run tier in dry run again',
      figures: 1005,
      past: history({ highestCost: 1000, tiers: [record(1, 'ACTED', true)] }),
      dryRun: true,
      expected: { kind: 'record', outcome: 'ALREADY_ACTED', tier: 1 },
    },
    {
      case: 'a budget raised mid-period, taking spend back under the tier',
      figures: { costAmount: 1200, budgetAmount: 1150 },
      past: history({ highestCost: 1100, tiers: [record(1.1, 'ACTED')] }),
      dryRun: false,
      expected: { kind: 'shed', tier: 1, reason: 'spend reached tier 1' },
    },
  ])('decides about $case', ({ figures, past, dryRun, expected }) => {
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
