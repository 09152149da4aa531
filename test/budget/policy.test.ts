import { describe, expect, it } from 'vitest';
import { readConfig } from '../../functions/core/config.js';
import { ConfigError } from '../../functions/core/errors.js';
import { budgetSettings, tierReached, type SheddingPolicy } from '../../functions/budget/policy.js';
import { FIXTURES } from '../support/fixtures.js';

const read = (env: Record<string, string>) => readConfig(budgetSettings, env);

function configError(env: Record<string, string>): string {
  try {
    read(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('budget settings', () => {
  it('defaults to dry run and the documented tiers, Spot only', () => {
    const config = read({});
    expect(config.enforce).toBe(false);
    expect(config.stopConcurrency).toBe(50);
    expect(config.policy).toEqual({
      tiers: [
        { at: 0.8, stop: [] },
        { at: 1.0, stop: ['low'] },
        { at: 1.1, stop: ['low', 'medium'] },
      ],
      provisioningModels: ['SPOT'],
      priorityLabel: 'priority',
      missingPriority: 'low',
      exemptLabel: 'costguard-exempt',
      prioritySource: 'labels',
      priorities: {},
      exemptVms: [],
    });
    expect(Object.isFrozen(config.policy.tiers[0])).toBe(true);
  });

  it('reads a policy file named by COSTGUARD_BUDGET_POLICY_FILE', () => {
    const config = read({
      COSTGUARD_BUDGET_POLICY_FILE: `${FIXTURES}policies/budget-capped.json`,
      COSTGUARD_BUDGET_ENFORCE: 'true',
      COSTGUARD_BUDGET_STOP_CONCURRENCY: '8',
    });
    expect(config.enforce).toBe(true);
    expect(config.stopConcurrency).toBe(8);
    expect(config.policy.tiers[1]).toEqual({ at: 1.0, stop: ['low'], maxStops: 2 });
    expect(config.policy.missingPriority).toBe('medium');
    expect(config.policy.projects).toEqual(['ml-training-prod']);
  });

  it.each([
    [
      'a tier that stops critical VMs',
      { tiers: [{ at: 1, stop: ['critical'] }] },
      'COSTGUARD_BUDGET_POLICY: expected the budget shedding policy as JSON (tiers, provisioningModels, priorityLabel, missingPriority, exemptLabel, projects); tiers.0.stop.0: a tier may stop low, medium or high; critical VMs are never stopped',
    ],
    [
      'tiers out of order',
      { tiers: [{ at: 1.1, stop: ['low'] }, { at: 1.0 }] },
      'tiers.1.at: tiers must be in increasing order of `at`',
    ],
    ['no tiers', { tiers: [] }, 'tiers: Too small'],
    ['a zero threshold', { tiers: [{ at: 0 }] }, 'tiers.0.at: Too small'],
    [
      'a cap on a notify-only tier',
      { tiers: [{ at: 0.8, maxStops: 3 }] },
      'tiers.0.maxStops: maxStops needs a `stop` list',
    ],
    ['a fractional cap', { tiers: [{ at: 1, stop: ['low'], maxStops: 1.5 }] }, 'maxStops'],
    [
      'an invalid priority label key',
      { tiers: [{ at: 1 }], priorityLabel: 'Priority!' },
      'priorityLabel: not a valid label key',
    ],
    ['an unknown field', { tiers: [{ at: 1 }], stopAll: true }, 'stopAll'],
    ['a bad project id', { tiers: [{ at: 1 }], projects: ['Not_A_Project'] }, 'projects.0'],
    [
      'an unknown provisioning model',
      { tiers: [{ at: 1 }], provisioningModels: ['FLEX'] },
      'provisioningModels.0',
    ],
  ])('refuses %s with one line naming the variable', (_case, policy, expected) => {
    const message = configError({ COSTGUARD_BUDGET_POLICY: JSON.stringify(policy) });
    expect(message).toContain('Invalid configuration: COSTGUARD_BUDGET_POLICY');
    expect(message).toContain(expected);
    expect(message).not.toContain('\n');
  });

  it.each([
    [{ COSTGUARD_BUDGET_POLICY: '{tiers:' }, 'COSTGUARD_BUDGET_POLICY', 'not valid JSON'],
    [{ COSTGUARD_BUDGET_ENFORCE: 'maybe' }, 'COSTGUARD_BUDGET_ENFORCE', 'got "maybe"'],
    [{ COSTGUARD_BUDGET_STOP_CONCURRENCY: '0' }, 'COSTGUARD_BUDGET_STOP_CONCURRENCY', 'got "0"'],
    [
      { COSTGUARD_BUDGET_POLICY_FILE: '/nonexistent/policy.json' },
      'COSTGUARD_BUDGET_POLICY',
      'cannot be read (ENOENT)',
    ],
  ])('refuses %j', (env, variable, detail) => {
    const message = configError(env);
    expect(message).toContain(`Invalid configuration: ${variable}`);
    expect(message).toContain(detail);
  });
});

describe('tierReached', () => {
  const policy: SheddingPolicy = read({}).policy;

  it.each([
    [0, undefined],
    [0.7999, undefined],
    [0.8, 0.8],
    [0.9999, 0.8],
    [1.0, 1.0],
    [1.0999, 1.0],
    [1.1, 1.1],
    [7.5, 1.1],
  ])('spend ratio %d reaches tier %s', (ratio, tier) => {
    expect(tierReached(policy, ratio)?.at).toBe(tier);
  });

  it.each([
    // Ratios computed from decimal money land a hair off the threshold in binary floats.
    [7, 10, 0.7],
    [77, 70, 1.1],
    [4400.0, 4000.0, 1.1],
    [0.3 * 3, 0.9, 1],
  ])('counts %d of %d as reaching %d exactly', (cost, budget, at) => {
    const tiers = { ...policy, tiers: [{ at, stop: [] }] };
    expect(tierReached(tiers, cost / budget)?.at).toBe(at);
  });
});
