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
    {
      case: 'a tier that stops critical VMs',
      policy: { tiers: [{ at: 1, stop: ['critical'] }] },
      expected:
        'COSTGUARD_BUDGET_POLICY: expected the budget shedding policy as JSON (tiers, provisioningModels, priorityLabel, missingPriority, exemptLabel, projects); tiers.0.stop.0: a tier may stop low, medium or high; critical VMs are never stopped',
    },
    {
      case: 'tiers out of order',
      policy: { tiers: [{ at: 1.1, stop: ['low'] }, { at: 1.0 }] },
      expected: 'tiers.1.at: tiers must be in increasing order of `at`',
    },
    { case: 'no tiers', policy: { tiers: [] }, expected: 'tiers: Too small' },
    { case: 'a zero threshold', policy: { tiers: [{ at: 0 }] }, expected: 'tiers.0.at: Too small' },
    {
      case: 'a cap on a notify-only tier',
      policy: { tiers: [{ at: 0.8, maxStops: 3 }] },
      expected: 'tiers.0.maxStops: maxStops needs a `stop` list',
    },
    {
      case: 'a fractional cap',
      policy: { tiers: [{ at: 1, stop: ['low'], maxStops: 1.5 }] },
      expected: 'maxStops',
    },
    {
      case: 'an invalid priority label key',
      policy: { tiers: [{ at: 1 }], priorityLabel: 'Priority!' },
      expected: 'priorityLabel: not a valid label key',
    },
    {
      case: 'an unknown field',
      policy: { tiers: [{ at: 1 }], stopAll: true },
      expected: 'stopAll',
    },
    {
      case: 'a bad project id',
      policy: { tiers: [{ at: 1 }], projects: ['Not_A_Project'] },
      expected: 'projects.0',
    },
    {
      case: 'an unknown provisioning model',
      policy: { tiers: [{ at: 1 }], provisioningModels: ['FLEX'] },
      expected: 'provisioningModels.0',
    },
    {
      case: 'an approval on a notify-only tier',
      policy: { tiers: [{ at: 1, approve: { timeoutMinutes: 30, default: 'stop' } }] },
      expected: 'tiers.0.approve: approve needs a `stop` list',
    },
    {
      case: 'an approval timeout of zero minutes',
      policy: {
        tiers: [{ at: 1, stop: ['low'], approve: { timeoutMinutes: 0, default: 'stop' } }],
      },
      expected: 'tiers.0.approve.timeoutMinutes: Too small',
    },
    {
      case: 'a fractional approval timeout',
      policy: {
        tiers: [{ at: 1, stop: ['low'], approve: { timeoutMinutes: 2.5, default: 'stop' } }],
      },
      expected: 'tiers.0.approve.timeoutMinutes: a whole number of minutes',
    },
    {
      case: 'an approval timeout over a day',
      policy: {
        tiers: [{ at: 1, stop: ['low'], approve: { timeoutMinutes: 1441, default: 'skip' } }],
      },
      expected: 'tiers.0.approve.timeoutMinutes: at most 1440 minutes (a day)',
    },
    {
      case: 'an approval default other than stop or skip',
      policy: {
        tiers: [{ at: 1, stop: ['low'], approve: { timeoutMinutes: 30, default: 'ask' } }],
      },
      expected: 'tiers.0.approve.default: what the timeout does: "stop" or "skip"',
    },
    {
      case: 'an approval without its default',
      policy: { tiers: [{ at: 1, stop: ['low'], approve: { timeoutMinutes: 30 } }] },
      expected: 'tiers.0.approve.default',
    },
  ])('refuses $case with one line naming the variable', ({ policy, expected }) => {
    const message = configError({ COSTGUARD_BUDGET_POLICY: JSON.stringify(policy) });
    expect(message).toContain('Invalid configuration: COSTGUARD_BUDGET_POLICY');
    expect(message).toContain(expected);
    expect(message).not.toContain('\n');
  });

  it('reads a tier that asks for approval', () => {
    const tier = { at: 1, stop: ['low'], approve: { timeoutMinutes: 45, default: 'skip' } };

    const config = read({ COSTGUARD_BUDGET_POLICY: JSON.stringify({ tiers: [tier] }) });

    expect(config.policy.tiers[0]).toEqual(tier);
  });

  it.each<{ env: Record<string, string>; variable: string; detail: string }>([
    {
      env: { COSTGUARD_BUDGET_POLICY: '{tiers:' },
      variable: 'COSTGUARD_BUDGET_POLICY',
      detail: 'not valid JSON',
    },
    {
      env: { COSTGUARD_BUDGET_ENFORCE: 'maybe' },
      variable: 'COSTGUARD_BUDGET_ENFORCE',
      detail: 'got "maybe"',
    },
    {
      env: { COSTGUARD_BUDGET_STOP_CONCURRENCY: '0' },
      variable: 'COSTGUARD_BUDGET_STOP_CONCURRENCY',
      detail: 'got "0"',
    },
    {
      env: { COSTGUARD_BUDGET_POLICY_FILE: '/nonexistent/policy.json' },
      variable: 'COSTGUARD_BUDGET_POLICY',
      detail: 'cannot be read (ENOENT)',
    },
  ])('refuses $env', ({ env, variable, detail }) => {
    const message = configError(env);
    expect(message).toContain(`Invalid configuration: ${variable}`);
    expect(message).toContain(detail);
  });
});

describe('tierReached', () => {
  const policy: SheddingPolicy = read({}).policy;

  it.each([
    { ratio: 0, tier: undefined },
    { ratio: 0.7999, tier: undefined },
    { ratio: 0.8, tier: 0.8 },
    { ratio: 0.9999, tier: 0.8 },
    { ratio: 1.0, tier: 1.0 },
    { ratio: 1.0999, tier: 1.0 },
    { ratio: 1.1, tier: 1.1 },
    { ratio: 7.5, tier: 1.1 },
  ])('spend ratio $ratio reaches tier $tier', ({ ratio, tier }) => {
    expect(tierReached(policy, ratio)?.at).toBe(tier);
  });

  it.each([
    // Ratios computed from decimal money land a hair off the threshold in binary floats.
    { cost: 7, budget: 10, at: 0.7 },
    { cost: 77, budget: 70, at: 1.1 },
    { cost: 4400.0, budget: 4000.0, at: 1.1 },
    { cost: 0.3 * 3, budget: 0.9, at: 1 },
  ])('counts $cost of $budget as reaching $at exactly', ({ cost, budget, at }) => {
    const tiers = { ...policy, tiers: [{ at, stop: [] }] };
    expect(tierReached(tiers, cost / budget)?.at).toBe(at);
  });
});
