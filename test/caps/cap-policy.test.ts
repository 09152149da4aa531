import { describe, expect, it } from 'vitest';
import { capSettings } from '../../functions/caps/cap-policy.js';
import { readConfig } from '../../functions/core/config.js';
import { ConfigError } from '../../functions/core/errors.js';
import { FIXTURES } from '../support/fixtures.js';

const read = (env: Record<string, string>) => readConfig(capSettings, env);

function configError(caps: unknown): string {
  try {
    read({ COSTGUARD_SPOT_CAPS: JSON.stringify(caps) });
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const cap = {
  name: 'vision-daily',
  period: 'day',
  amount: 40,
  currency: 'USD',
  tiers: [{ at: 1, stop: ['low'] }],
};

describe('COSTGUARD_SPOT_CAPS', () => {
  it('defaults to no cap, dry run and the budget enforcer stop pacing', () => {
    const config = read({});
    expect(config.caps).toEqual([]);
    expect(config.enforce).toBe(false);
    expect(config.stopConcurrency).toBe(50);
    expect(config.recentHours).toBe(3);
  });

  it('reads caps from a file with scope, period and tiers as the budget policy has them', () => {
    const config = read({ COSTGUARD_SPOT_CAPS_FILE: `${FIXTURES}policies/spot-caps.json` });
    expect(config.caps.map((c) => [c.name, c.period, c.amount, c.scope])).toEqual([
      ['vision-daily', 'day', 40, { label: { key: 'team', value: 'vision' } }],
      ['training-monthly', 'month', 5000, { projects: ['ml-training-prod'] }],
    ]);
    expect(config.caps[0]?.tiers[2]).toEqual({ at: 1.2, stop: ['low', 'medium'], maxStops: 5 });
    expect(config.caps[0]).toMatchObject({
      provisioningModels: ['SPOT'],
      priorityLabel: 'priority',
      missingPriority: 'low',
      exemptLabel: 'costguard-exempt',
    });
  });

  it.each([
    { case: 'a cap without tiers', caps: [{ ...cap, tiers: [] }], detail: '0.tiers: Too small' },
    {
      case: 'a tier that stops critical VMs',
      caps: [{ ...cap, tiers: [{ at: 1, stop: ['critical'] }] }],
      detail:
        '0.tiers.0.stop.0: a tier may stop low, medium or high; critical VMs are never stopped',
    },
    {
      case: 'tiers out of order',
      caps: [{ ...cap, tiers: [{ at: 1.1, stop: ['low'] }, { at: 1 }] }],
      detail: '0.tiers.1.at: tiers must be in increasing order of `at`',
    },
    {
      case: 'an unknown period',
      caps: [{ ...cap, period: 'fortnight' }],
      detail: '0.period: Invalid option',
    },
    {
      case: 'a budget period without a budget',
      caps: [{ ...cap, period: 'budget' }],
      detail: '0.budget: a cap names a budget exactly when its period is "budget"',
    },
    {
      case: 'a budget with a calendar period',
      caps: [{ ...cap, budget: 'billingAccounts/01D4EE-079462-DFD6EC/budgets/b-1' }],
      detail: '0.budget: a cap names a budget exactly when its period is "budget"',
    },
    {
      case: 'a budget that is not a budget name',
      caps: [{ ...cap, period: 'budget', budget: 'projects/p/budgets/b-1' }],
      detail: '0.budget: billingAccounts/ACCOUNT/budgets/ID',
    },
    { case: 'a zero amount', caps: [{ ...cap, amount: 0 }], detail: '0.amount: Too small' },
    {
      case: 'a lowercase currency',
      caps: [{ ...cap, currency: 'usd' }],
      detail: '0.currency: an ISO 4217 code',
    },
    {
      case: 'a label scope without a value',
      caps: [{ ...cap, scope: { label: 'team' } }],
      detail: '0.scope.label: expected key=value',
    },
    {
      case: 'a label key with capitals',
      caps: [{ ...cap, scope: { label: 'Team=vision' } }],
      detail: '0.scope.label: expected key=value',
    },
    {
      case: 'a project that is not a project id',
      caps: [{ ...cap, scope: { projects: ['Not A Project'] } }],
      detail: '0.scope.projects.0: not a project id',
    },
    { case: 'two caps of one name', caps: [cap, cap], detail: '1.name: cap names must be unique' },
    {
      case: 'a name with spaces',
      caps: [{ ...cap, name: 'vision daily' }],
      detail: '0.name: lowercase letters',
    },
    {
      case: 'an unknown field',
      caps: [{ ...cap, budgetId: 'b-1' }],
      detail: '0: Unrecognized key: "budgetId"',
    },
  ])('refuses $case with one line naming the variable and the field', ({ caps, detail }) => {
    const message = configError(caps);
    expect(message).toMatch(/^Invalid configuration: COSTGUARD_SPOT_CAPS: expected /);
    expect(message).toContain(detail);
  });
});
