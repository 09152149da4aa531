import { describe, expect, it } from 'vitest';
import { readConfig } from '../../functions/core/config.js';
import { ConfigError } from '../../functions/core/errors.js';
import { buildEnforceLabels, labelEntrySettings } from '../../functions/labels/entry.js';
import { isAllowedValue, toLabelPolicy } from '../../functions/labels/label-policy.js';
import { labelSettings } from '../../functions/labels/settings.js';
import { FIXTURES, loadFixture } from '../support/fixtures.js';
import { sandboxRuntime, startTestSandbox } from '../support/sandbox.js';
import { fakePrices } from './label-sandbox.js';

const POLICY_FILE = `${FIXTURES}policies/labels.json`;

function readPolicy(json: unknown): ReturnType<typeof toLabelPolicy> {
  return toLabelPolicy(
    readConfig(labelSettings, { COSTGUARD_LABEL_POLICY: JSON.stringify(json) }).policy,
  );
}

describe('the label policy setting', () => {
  it('reads the example policy from a file, with its defaults filled in', () => {
    const config = readConfig(labelSettings, { COSTGUARD_LABEL_POLICY_FILE: POLICY_FILE });
    const policy = toLabelPolicy(config.policy);
    expect(policy.keys.map((k) => [k.key, k.required, k.derive.length])).toEqual([
      ['team', true, 2],
      ['app', true, 0],
      ['cost_center', true, 1],
      ['priority', true, 1],
    ]);
    expect([policy.action, policy.graceDays, policy.exemptLabel, policy.projects]).toEqual([
      'stop',
      3,
      'costguard-exempt',
      undefined,
    ]);
    expect([config.dryRun, config.concurrency]).toEqual([true, 8]);
  });

  it('without a policy, requires the attribution labels and only reports', () => {
    const policy = toLabelPolicy(readConfig(labelSettings, {}).policy);
    expect(policy.keys.map((k) => k.key)).toEqual(['team', 'app', 'cost_center', 'priority']);
    expect([policy.action, policy.stopProvisioningModels]).toEqual([
      'report',
      ['SPOT', 'PREEMPTIBLE'],
    ]);
  });

  it('matches a value pattern against the whole value', () => {
    const policy = readPolicy({ labels: { cost_center: { pattern: 'cc-[0-9]{3}' } } });
    const rule = policy.keys[0];
    expect(rule && ['cc-100', 'cc-1000', 'xcc-100'].map((v) => isAllowedValue(rule, v))).toEqual([
      true,
      false,
      false,
    ]);
  });

  it.each([
    { case: 'not JSON', value: '{labels:', detail: 'it is not valid JSON' },
    { case: 'no label keys', value: { labels: {} }, detail: 'at least one label key is needed' },
    {
      case: 'a key breaking the label rules',
      value: { labels: { Team: {} } },
      detail: 'labels.Team',
    },
    {
      case: 'an allowed value breaking the label rules',
      value: { labels: { team: { values: ['Vision'] } } },
      detail: 'labels.team.values.0',
    },
    {
      case: 'both values and a pattern',
      value: { labels: { team: { values: ['a'], pattern: 'a' } } },
      detail: 'give either values or pattern, not both',
    },
    {
      case: 'a pattern that does not compile',
      value: { labels: { team: { pattern: '([a-z' } } },
      detail: 'must be a valid regular expression',
    },
    {
      case: 'a name pattern without the named group',
      value: { labels: { team: { derive: [{ namePattern: '^([a-z]+)-' }] } } },
      detail: 'needs a named group (?<team>...)',
    },
    {
      case: 'an unknown derivation',
      value: { labels: { team: { derive: [{ fromTag: 'x' }] } } },
      detail: 'labels.team.derive.0',
    },
    {
      case: 'an unknown action',
      value: { labels: { team: {} }, action: 'delete' },
      detail: 'action',
    },
    {
      case: 'negative grace days',
      value: { labels: { team: {} }, graceDays: -1 },
      detail: 'graceDays',
    },
    {
      case: 'an unknown field',
      value: { labels: { team: {} }, stopEverything: true },
      detail: 'stopEverything',
    },
    {
      case: 'a policy key costguard writes itself',
      value: { labels: { 'costguard-stop-after': {} } },
      detail: 'is a label costguard manages itself',
    },
    {
      case: 'a scope project that is not a project id',
      value: { labels: { team: {} }, scope: { projects: ['Not A Project'] } },
      detail: 'scope.projects.0',
    },
  ])('stops start-up on $case with one line naming the variable', ({ value, detail }) => {
    const env = {
      COSTGUARD_LABEL_POLICY: typeof value === 'string' ? value : JSON.stringify(value),
    };
    const read = (): unknown => readConfig(labelSettings, env);
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(
      /^Invalid configuration: COSTGUARD_LABEL_POLICY: expected the label policy as JSON/,
    );
    expect(read).toThrow(detail);
  });

  it.each([
    { variable: 'COSTGUARD_LABELS_DRY_RUN', value: 'maybe' },
    { variable: 'COSTGUARD_LABELS_CONCURRENCY', value: '0' },
    { variable: 'COSTGUARD_LABEL_POLICY_FILE', value: '/nonexistent/policy.json' },
  ])('names $variable when it is wrong', ({ variable, value }) => {
    const read = (): unknown => readConfig(labelSettings, { [variable]: value });
    expect(read).toThrow(variable.replace(/_FILE$/, ''));
  });

  it('refuses a policy scoped to a project costguard does not govern', async () => {
    const sandbox = await startTestSandbox('fleets/labels.json');
    try {
      const policy = {
        ...loadFixture<Record<string, unknown>>('policies/labels.json'),
        scope: { projects: ['data-pipelines', 'finance-prod'] },
      };
      const runtime = sandboxRuntime(sandbox, {
        COSTGUARD_PROJECTS: 'ml-training-prod,data-pipelines',
        COSTGUARD_LABEL_POLICY: JSON.stringify(policy),
      });
      await expect(buildEnforceLabels(runtime, { prices: fakePrices })).rejects.toThrow(
        'Invalid configuration: COSTGUARD_LABEL_POLICY: expected scope.projects within COSTGUARD_PROJECTS; got finance-prod',
      );
    } finally {
      await sandbox.close();
    }
  });

  it('is one spec with the common settings', () => {
    expect(Object.keys(labelEntrySettings)).toEqual(
      expect.arrayContaining(['projects', 'dataset', 'policy', 'dryRun', 'concurrency']),
    );
  });
});
