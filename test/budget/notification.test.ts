import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../functions/core/errors.js';
import {
  messageIdOf,
  parseBudgetNotification,
  type BudgetNotification,
} from '../../functions/budget/notification.js';
import { loadFixture } from '../support/fixtures.js';

interface Message {
  data?: string;
  attributes?: Record<string, string>;
  messageId?: string;
  publishTime?: string;
}

const envelope = (message: unknown): unknown => ({
  message,
  subscription: 'projects/costguard-ops/subscriptions/enforce-budget',
});

function message(name: string): Message {
  return loadFixture<Message>(`budget/${name}`);
}

/** A real-format message whose decoded data is changed by `edit` and encoded again. */
function withData(edit: (data: Record<string, unknown>) => unknown): unknown {
  const m = message('message-over-budget.json');
  const data = JSON.parse(Buffer.from(m.data ?? '', 'base64').toString('utf8')) as Record<
    string,
    unknown
  >;
  const edited = edit(data);
  return envelope({ ...m, data: Buffer.from(JSON.stringify(edited)).toString('base64') });
}

function issuesOf(data: unknown): string[] {
  try {
    parseBudgetNotification(data, 'event-1');
  } catch (error) {
    if (error instanceof ValidationError) return [error.message];
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('parseBudgetNotification', () => {
  it.each<{ name: string; expected: Partial<BudgetNotification> }>([
    {
      name: 'message-under-budget.json',
      expected: {
        costAmount: 3100.25,
        alertThresholdExceeded: 0.5,
        forecastThresholdExceeded: undefined,
      },
    },
    {
      name: 'message-at-budget.json',
      expected: { costAmount: 5000, alertThresholdExceeded: 1, spendRatio: 1 },
    },
    {
      name: 'message-over-budget.json',
      expected: { costAmount: 5612.4, alertThresholdExceeded: 1 },
    },
    {
      name: 'message-forecast-only.json',
      expected: {
        costAmount: 2100.1,
        alertThresholdExceeded: undefined,
        forecastThresholdExceeded: 1,
      },
    },
    {
      name: 'message-no-threshold.json',
      expected: {
        costAmount: 900,
        alertThresholdExceeded: undefined,
        forecastThresholdExceeded: undefined,
      },
    },
  ])('reads $name and computes the spend ratio itself', ({ name, expected }) => {
    // Prepare
    const m = message(name);
    // Act
    const n = parseBudgetNotification(envelope(m));
    // Assess
    expect(n).toMatchObject({
      ...expected,
      messageId: m.messageId,
      publishTime: m.publishTime,
      billingAccountId: '01D4EE-079462-DFD6EC',
      budgetId: 'de72f49d-779b-4945-a127-4d6ce8def0bb',
      budgetDisplayName: 'Spot ML training',
      budgetAmount: 5000,
      budgetAmountType: 'SPECIFIED_AMOUNT',
      currencyCode: 'USD',
      costIntervalStart: '2026-11-01T07:00:00.000Z',
    });
    expect(n.spendRatio).toBeCloseTo(n.costAmount / 5000, 12);
  });

  it('reads the test message Google documents', () => {
    const n = parseBudgetNotification(envelope(message('message-documented-test.json')));
    expect(n).toMatchObject({
      budgetDisplayName: 'name-of-budget',
      costAmount: 100.01,
      budgetAmount: 100,
      costIntervalStart: '2019-01-01T00:00:00.000Z',
    });
    expect(n.spendRatio).toBeCloseTo(1.0001, 10);
  });

  it('reads the gen2 CloudEvent envelope and the raw push body alike', () => {
    const event = loadFixture<{ id: string; data: unknown }>(
      'budget/cloud-event-message-published.json',
    );
    const push = loadFixture<unknown>('budget/pubsub-push-body.json');
    const fromEvent = parseBudgetNotification(event.data, event.id);
    const fromPush = parseBudgetNotification(push);
    expect(fromPush).toEqual(fromEvent);
    expect(fromEvent.messageId).toBe('4309416012479986');
  });

  it('reads the message as functions-framework converts a raw push (no messageId inside)', () => {
    const push = loadFixture<{ message: Message }>('budget/pubsub-push-body.json');
    const converted = {
      message: {
        '@type': 'type.googleapis.com/google.pubsub.v1.PubsubMessage',
        data: push.message.data,
        attributes: push.message.attributes,
      },
    };
    expect(parseBudgetNotification(converted, '4309416012479986').messageId).toBe(
      '4309416012479986',
    );
  });

  it.each<{ case: string; data: unknown; expected: RegExp }>([
    {
      case: 'no message at all',
      data: { subscription: 's' },
      expected: /Not a Pub\/Sub message: data.message/,
    },
    {
      case: 'a message that is not an object',
      data: envelope('text'),
      expected: /Not a Pub\/Sub message/,
    },
    {
      case: 'no attributes',
      data: envelope({ ...message('message-at-budget.json'), attributes: undefined }),
      expected: /Not a budget notification: message.attributes.billingAccountId/,
    },
    {
      case: 'an unknown schemaVersion',
      data: envelope({
        ...message('message-at-budget.json'),
        attributes: { ...message('message-at-budget.json').attributes, schemaVersion: '2.0' },
      }),
      expected: /schemaVersion: unsupported schema version/,
    },
    {
      case: 'a malformed billing account id',
      data: envelope({
        ...message('message-at-budget.json'),
        attributes: { ...message('message-at-budget.json').attributes, billingAccountId: 'acct' },
      }),
      expected: /billingAccountId/,
    },
    {
      case: 'malformed base64',
      data: envelope({ ...message('message-at-budget.json'), data: 'eyJjb3N0!!!' }),
      expected: /data is not base64/,
    },
    {
      case: 'empty data',
      data: envelope({ ...message('message-at-budget.json'), data: '' }),
      expected: /not base64/,
    },
    {
      case: 'base64 of text that is not JSON',
      data: envelope({
        ...message('message-at-budget.json'),
        data: Buffer.from('budget exceeded!').toString('base64'),
      }),
      expected: /not UTF-8 JSON/,
    },
    {
      case: 'base64 of bytes that are not UTF-8',
      data: envelope({
        ...message('message-at-budget.json'),
        data: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64'),
      }),
      expected: /not UTF-8 JSON/,
    },
    {
      case: 'JSON that is not an object',
      data: withData(() => [1, 2]),
      expected: /Invalid budget notification: data/,
    },
    {
      case: 'a missing costAmount',
      data: withData(({ costAmount: _dropped, ...rest }) => rest),
      expected: /data.costAmount/,
    },
    {
      case: 'a costAmount given as text',
      data: withData((d) => ({ ...d, costAmount: '100.01' })),
      expected: /costAmount/,
    },
    {
      case: 'a negative costAmount',
      data: withData((d) => ({ ...d, costAmount: -5 })),
      expected: /costAmount/,
    },
    {
      case: 'a zero budget',
      data: withData((d) => ({ ...d, budgetAmount: 0 })),
      expected: /budgetAmount: must be greater than zero/,
    },
    {
      case: 'a negative budget',
      data: withData((d) => ({ ...d, budgetAmount: -100 })),
      expected: /budgetAmount: must be greater than zero/,
    },
    {
      case: 'a costIntervalStart that is not a time',
      data: withData((d) => ({ ...d, costIntervalStart: 'last month' })),
      expected: /costIntervalStart/,
    },
    {
      case: 'a lower-case currency',
      data: withData((d) => ({ ...d, currencyCode: 'usd' })),
      expected: /currencyCode/,
    },
    {
      case: 'a cost with more integer digits than NUMERIC holds',
      data: withData((d) => ({ ...d, costAmount: 1e30 })),
      expected: /costAmount: outside what the ledger can record/,
    },
    {
      case: 'a cost the ledger would write in exponent notation',
      data: withData((d) => ({ ...d, costAmount: 1e21 })),
      expected: /costAmount: outside what the ledger can record/,
    },
    {
      case: 'a budget too large for NUMERIC',
      data: withData((d) => ({ ...d, budgetAmount: 1.7976931348623157e308 })),
      expected: /budgetAmount: outside what the ledger can record/,
    },
    {
      case: 'a budget that rounds to zero in the ledger',
      data: withData((d) => ({ ...d, budgetAmount: 1e-9 })),
      expected: /budgetAmount: outside what the ledger can record/,
    },
    {
      case: 'a threshold given as text',
      data: withData((d) => ({ ...d, alertThresholdExceeded: '1.0' })),
      expected: /alertThresholdExceeded/,
    },
  ])('rejects $case with a ValidationError', ({ data, expected }) => {
    const [text] = issuesOf(data);
    expect(text).toMatch(expected);
  });

  it.each([
    {
      case: 'the largest cost the ledger writes as digits',
      costAmount: 999_999_999_999_999_900_000,
    },
    { case: 'a cost of a millionth', costAmount: 0.000001 },
    { case: 'a zero cost', costAmount: 0 },
  ])('accepts $case', ({ costAmount }) => {
    const parsed = parseBudgetNotification(
      withData((d) => ({ ...d, costAmount })),
      'event-1',
    );
    expect(parsed.costAmount).toBe(costAmount);
  });

  it('accepts an unknown budgetAmountType', () => {
    const n = parseBudgetNotification(withData((d) => ({ ...d, budgetAmountType: 'NEW_KIND' })));
    expect(n.budgetAmountType).toBe('NEW_KIND');
  });

  it('finds the messageId of a rejected message for its log line', () => {
    expect(messageIdOf(envelope({ messageId: '42' }), 'e')).toBe('42');
    expect(messageIdOf(envelope({ message_id: '43' }), 'e')).toBe('43');
    expect(messageIdOf({ nothing: true }, 'event-9')).toBe('event-9');
    expect(messageIdOf(null, undefined)).toBeUndefined();
  });
});
