import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  commonSettings,
  ledgerProjectOf,
  readConfig,
  setting,
} from '../../functions/core/config.js';
import { ConfigError } from '../../functions/core/errors.js';

describe('configuration', () => {
  it('parses every common setting from the environment into a frozen object', () => {
    const config = readConfig(commonSettings, {
      COSTGUARD_PROJECTS: 'ml-training-prod, data-pipelines,ml-training-prod',
      COSTGUARD_SLACK_CHANNEL: 'C0123',
    });
    expect(config.projects).toEqual(['ml-training-prod', 'data-pipelines']);
    expect(config.dataset).toBe('costguard');
    expect(config.slackChannel).toBe('C0123');
    expect(config.slackToken).toBeUndefined();
    expect(ledgerProjectOf(config)).toBe('ml-training-prod');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.projects)).toBe(true);
  });

  it.each([
    {
      env: {},
      message:
        'COSTGUARD_PROJECTS: expected a comma-separated list of the Google Cloud project ids costguard governs; it is not set',
    },
    {
      env: { COSTGUARD_PROJECTS: 'Bad_Project' },
      message:
        'COSTGUARD_PROJECTS: expected a comma-separated list of the Google Cloud project ids costguard governs; invalid item(s): Bad_Project',
    },
    {
      env: { COSTGUARD_PROJECTS: 'ml-training-prod', COSTGUARD_DATASET: 'has-dash' },
      message: 'COSTGUARD_DATASET: expected a BigQuery dataset id; got "has-dash"',
    },
    {
      env: { COSTGUARD_PROJECTS: 'ml-training-prod', COSTGUARD_DASHBOARD_URL: 'ftp://x' },
      message:
        'COSTGUARD_DASHBOARD_URL: expected the Looker Studio report URL linked from Slack messages; got "ftp://x"',
    },
  ])('stops with one line naming the variable for $env', ({ env, message }) => {
    expect(() => readConfig(commonSettings, env)).toThrow(
      new ConfigError(`Invalid configuration: ${message}`),
    );
  });

  const policy = z.object({ tiers: z.array(z.object({ ratio: z.number().positive() })).min(1) });
  const spec = {
    policy: setting.json('COSTGUARD_POLICY', 'a JSON policy', policy),
    dryRun: setting.boolean('COSTGUARD_DRY_RUN', true),
    limit: setting.number('COSTGUARD_LIMIT', 'an integer from 1 to 100', {
      default: 10,
      min: 1,
      max: 100,
      integer: true,
    }),
  };

  it('reads JSON from the variable or from the file named by VARIABLE_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'costguard-config-'));
    const file = join(dir, 'policy.json');
    writeFileSync(file, '{"tiers":[{"ratio":1.1}]}');
    expect(
      readConfig(spec, { COSTGUARD_POLICY: '{"tiers":[{"ratio":0.8}]}' }).policy.tiers[0]?.ratio,
    ).toBe(0.8);
    expect(readConfig(spec, { COSTGUARD_POLICY_FILE: file }).policy.tiers[0]?.ratio).toBe(1.1);
  });

  it.each([
    {
      env: { COSTGUARD_POLICY: '{' },
      message: 'COSTGUARD_POLICY: expected a JSON policy; it is not valid JSON',
    },
    {
      env: { COSTGUARD_POLICY: '{"tiers":[{"ratio":-1}]}' },
      message:
        'COSTGUARD_POLICY: expected a JSON policy; tiers.0.ratio: Too small: expected number to be >0',
    },
    {
      env: { COSTGUARD_POLICY_FILE: '/nonexistent/policy.json' },
      message:
        'COSTGUARD_POLICY: expected a JSON policy; COSTGUARD_POLICY_FILE=/nonexistent/policy.json cannot be read (ENOENT)',
    },
    {
      env: {},
      message:
        'COSTGUARD_POLICY: expected a JSON policy; neither COSTGUARD_POLICY nor COSTGUARD_POLICY_FILE is set',
    },
    {
      env: { COSTGUARD_POLICY: '{"tiers":[{"ratio":1}]}', COSTGUARD_DRY_RUN: 'maybe' },
      message: 'COSTGUARD_DRY_RUN: expected true or false; got "maybe"',
    },
    {
      env: { COSTGUARD_POLICY: '{"tiers":[{"ratio":1}]}', COSTGUARD_LIMIT: '2.5' },
      message: 'COSTGUARD_LIMIT: expected an integer from 1 to 100; got "2.5"',
    },
  ])('rejects $env', ({ env, message }) => {
    expect(() => readConfig(spec, env)).toThrow(`Invalid configuration: ${message}`);
  });

  it('applies defaults and parses booleans and numbers', () => {
    const config = readConfig(spec, {
      COSTGUARD_POLICY: '{"tiers":[{"ratio":1}]}',
      COSTGUARD_DRY_RUN: 'false',
    });
    expect(config.dryRun).toBe(false);
    expect(config.limit).toBe(10);
    expect(
      readConfig(spec, { COSTGUARD_POLICY: '{"tiers":[{"ratio":1}]}', COSTGUARD_LIMIT: '42' })
        .limit,
    ).toBe(42);
  });
});
