import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseBudgetNotification } from '../../functions/budget/notification.js';
import { budgetAlertPushBody, parseBudgetAlertArgs } from '../../functions/sandbox/budget-alert.js';
import { SANDBOX_BUDGET } from '../../functions/sandbox/demos/budget.js';
import { FIXTURES, loadFixture } from '../support/fixtures.js';

describe('npm run budget-alert', () => {
  it('builds the Pub/Sub push of a Cloud Billing notification for the sandbox budget', () => {
    const body = budgetAlertPushBody(105, new Date('2026-11-20T00:00:00Z'), 120);

    const notification = parseBudgetNotification(body);

    expect(notification).toMatchObject({
      billingAccountId: SANDBOX_BUDGET.billingAccountId,
      budgetId: SANDBOX_BUDGET.budgetId,
      budgetDisplayName: 'Spot ML training',
      costAmount: 5250,
      budgetAmount: 5000,
      alertThresholdExceeded: 1,
      forecastThresholdExceeded: 1.2,
      currencyCode: 'USD',
    });
    expect(notification.costIntervalStart).toBe('2026-11-01T00:00:00.000Z');
  });

  it('makes each alert a new message, not a duplicate delivery', () => {
    const at = new Date('2026-11-20T00:00:00Z');
    const ids = new Set(
      Array.from(
        { length: 5 },
        () => parseBudgetNotification(budgetAlertPushBody(90, at)).messageId,
      ),
    );
    expect(ids.size).toBe(5);
  });

  it.each([
    { args: ['--percent', 'lots'], message: /--percent must be a number/ },
    { args: [], message: /--percent is required/ },
    { args: ['--percent', '90', '--colour', 'red'], message: /Unknown option '--colour'/ },
  ])('refuses $args, naming what is wrong', ({ args, message }) => {
    expect(() => parseBudgetAlertArgs(args, {})).toThrow(message);
  });

  it('finds npm start on its default ports, or where it was told', () => {
    expect(parseBudgetAlertArgs(['--percent', '85'], {})).toMatchObject({
      percent: 85,
      sandboxUrl: 'http://127.0.0.1:8790',
      enforceBudgetUrl: 'http://127.0.0.1:8792',
    });
    expect(
      parseBudgetAlertArgs(['--percent', '85'], { COSTGUARD_SANDBOX_PORT: '9000' }),
    ).toMatchObject({
      sandboxUrl: 'http://127.0.0.1:9000',
      enforceBudgetUrl: 'http://127.0.0.1:9002',
    });
    expect(parseBudgetAlertArgs(['--help'], {})).toBe('help');
  });
});

describe('the budget fixtures', () => {
  it.each(
    readdirSync(`${FIXTURES}budget`).filter((f) => /^(message-|pubsub-push|cloud-event)/.test(f)),
  )('%s names the budget npm start puts in the sandbox', (file) => {
    const text = JSON.stringify(loadFixture(`budget/${file}`));
    expect(text).toContain(SANDBOX_BUDGET.budgetId);
    expect(text).toContain(SANDBOX_BUDGET.billingAccountId);
  });
});
