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
    ['a cap without tiers', [{ ...cap, tiers: [] }], '0.tiers: Too small'],
    [
      'a tier that stops critical VMs',
      [{ ...cap, tiers: [{ at: 1, stop: ['critical'] }] }],
      '0.tiers.0.stop.0: a tier may stop low, medium or high; critical VMs are never stopped',
    ],
    [
      'tiers out of order',
      [{ ...cap, tiers: [{ at: 1.1, stop: ['low'] }, { at: 1 }] }],
      '0.tiers.1.at: tiers must be in increasing order of `at`',
    ],
    ['an unknown period', [{ ...cap, period: 'fortnight' }], '0.period: Invalid option'],
    ['a zero amount', [{ ...cap, amount: 0 }], '0.amount: Too small'],
    ['a lowercase currency', [{ ...cap, currency: 'usd' }], '0.currency: an ISO 4217 code'],
    [
      'a label scope without a value',
      [{ ...cap, scope: { label: 'team' } }],
      '0.scope.label: expected key=value',
    ],
    [
      'a label key with capitals',
      [{ ...cap, scope: { label: 'Team=vision' } }],
      '0.scope.label: expected key=value',
    ],
    [
      'a project that is not a project id',
      [{ ...cap, scope: { projects: ['Not A Project'] } }],
      '0.scope.projects.0: not a project id',
    ],
    ['two caps of one name', [cap, cap], '1.name: cap names must be unique'],
    ['a name with spaces', [{ ...cap, name: 'vision daily' }], '0.name: lowercase letters'],
    ['an unknown field', [{ ...cap, budget: 'b-1' }], '0: Unrecognized key: "budget"'],
  ])('refuses %s with one line naming the variable and the field', (_case, caps, detail) => {
    const message = configError(caps);
    expect(message).toMatch(/^Invalid configuration: COSTGUARD_SPOT_CAPS: expected /);
    expect(message).toContain(detail);
  });
});
