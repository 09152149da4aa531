import { describe, expect, it } from 'vitest';
import {
  addDays,
  evaluateLabels,
  parseDay,
  type LabelContext,
} from '../../functions/labels/evaluate-labels.js';
import {
  parseLabelPolicy,
  type LabelAction,
  type LabelPolicyInput,
} from '../../functions/labels/label-policy.js';
import { loadFixture } from '../support/fixtures.js';
import { vmWith } from '../support/stand-ins.js';

const TODAY = '2026-11-20';

const COMPLETE = { team: 'vision', app: 'trainer', cost_center: 'cc-100', priority: 'low' };

function policyWith(
  overrides: Partial<LabelPolicyInput> = {},
): ReturnType<typeof parseLabelPolicy> {
  return parseLabelPolicy({
    ...loadFixture<LabelPolicyInput>('policies/labels.json'),
    ...overrides,
  });
}

const context: LabelContext = {
  today: TODAY,
  projectLabels: { team: 'data', cost_center: 'cc-300' },
};

describe('evaluateLabels: the action for a violation', () => {
  // Missing app cannot be derived; missing priority can (the fixed value low).
  it.each<{ action: LabelAction; expected: string; writes: boolean; left: string[] }>([
    { action: 'report', expected: 'report', writes: false, left: ['app', 'priority'] },
    { action: 'fix', expected: 'fix', writes: true, left: ['app'] },
    { action: 'mark', expected: 'mark', writes: true, left: ['app'] },
    { action: 'stop', expected: 'mark', writes: true, left: ['app'] },
  ])('with action $action, a violator gets $expected', ({ action, expected, writes, left }) => {
    // Prepare
    const vm = vmWith({ labels: { team: 'vision', cost_center: 'cc-100' } });
    // Act
    const result = evaluateLabels(vm, policyWith({ action }), context);
    // Assess
    expect(result.action).toBe(expected);
    expect(result.write !== undefined).toBe(writes);
    expect(result.compliant).toBe(false);
    expect(result.violations.map((v) => v.key)).toEqual(left);
    // Written or only suggested, the derived priority is part of the plan.
    expect(result.changes).toContainEqual(expect.objectContaining({ key: 'priority', to: 'low' }));
    expect(result.write?.priority).toBe(writes ? 'low' : undefined);
  });

  it('marks a non-compliant Spot VM with today plus the grace days, keeping its other labels', () => {
    const vm = vmWith({ labels: { team: 'vision', owner: 'ana' } });
    const result = evaluateLabels(vm, policyWith({ graceDays: 5 }), context);
    expect(result.action).toBe('mark');
    expect(result.stopAfter).toBe('2026-11-25');
    expect(result.write).toEqual({
      team: 'vision',
      owner: 'ana',
      cost_center: 'cc-300',
      priority: 'low',
      'costguard-stop-after': '2026-11-25',
    });
    expect(result.stop).toBe(false);
  });

  it('keeps an existing deadline instead of extending it', () => {
    const vm = vmWith({
      labels: {
        team: 'vision',
        priority: 'low',
        cost_center: 'cc-1',
        'costguard-stop-after': '2026-11-21',
      },
    });
    const result = evaluateLabels(vm, policyWith(), context);
    expect(result.action).toBe('report');
    expect(result.write).toBeUndefined();
    expect(result.stopAfter).toBe('2026-11-21');
    expect(result.reason).toBe('stops after 2026-11-21 unless fixed');
  });

  it.each([
    {
      provisioningModel: 'SPOT',
      status: 'RUNNING',
      managedBy: undefined,
      action: 'stop',
      stop: true,
    },
    {
      provisioningModel: 'PREEMPTIBLE',
      status: 'RUNNING',
      managedBy: undefined,
      action: 'stop',
      stop: true,
    },
    {
      provisioningModel: 'SPOT',
      status: 'TERMINATED',
      managedBy: undefined,
      action: 'report',
      stop: false,
    },
    {
      provisioningModel: 'STANDARD',
      status: 'RUNNING',
      managedBy: undefined,
      action: 'unmark',
      stop: false,
    },
    {
      provisioningModel: 'SPOT',
      status: 'RUNNING',
      managedBy: 'projects/1/zones/us-central1-a/instanceGroupManagers/pool',
      action: 'unmark',
      stop: false,
    },
  ] as const)(
    'a $provisioningModel VM ($status, group $managedBy) past its deadline: $action',
    ({ provisioningModel, status, managedBy, action, stop }) => {
      const vm = vmWith({
        provisioningModel,
        status,
        managedBy,
        labels: {
          team: 'vision',
          priority: 'low',
          cost_center: 'cc-100',
          'costguard-stop-after': '2026-11-19',
        },
      });
      const result = evaluateLabels(vm, policyWith(), context);
      expect(result.action).toBe(action);
      expect(result.stop).toBe(stop);
    },
  );

  it('stops only after the deadline day has passed, not on it', () => {
    const labels = { team: 'vision', 'costguard-stop-after': TODAY };
    expect(evaluateLabels(vmWith({ labels }), policyWith(), context).stop).toBe(false);
    expect(
      evaluateLabels(vmWith({ labels }), policyWith(), { ...context, today: addDays(TODAY, 1) })
        .stop,
    ).toBe(true);
  });

  it('never stops or marks a critical VM, and takes an old mark off it', () => {
    const vm = vmWith({
      labels: { team: 'vision', priority: 'critical', 'costguard-stop-after': '2026-11-01' },
    });
    const result = evaluateLabels(vm, policyWith(), context);
    expect(result.stop).toBe(false);
    expect(result.action).toBe('unmark');
    expect(result.reason).toBe('critical VMs are never stopped');
    expect(result.write?.['costguard-stop-after']).toBeUndefined();
    expect(result.compliant).toBe(false);
  });

  it('with action mark, a passed deadline is reported, not acted on', () => {
    const vm = vmWith({
      labels: {
        team: 'vision',
        priority: 'low',
        cost_center: 'cc-100',
        'costguard-stop-after': '2026-11-01',
      },
    });
    const result = evaluateLabels(vm, policyWith({ action: 'mark' }), context);
    expect([result.action, result.stop, result.reason]).toEqual([
      'report',
      false,
      'the policy action is mark',
    ]);
  });

  it('stops Standard VMs only when the policy names them', () => {
    const vm = vmWith({
      provisioningModel: 'STANDARD',
      labels: { team: 'vision', 'costguard-stop-after': '2026-11-01' },
    });
    const result = evaluateLabels(
      vm,
      policyWith({ stopProvisioningModels: ['SPOT', 'STANDARD'] }),
      context,
    );
    expect(result.action).toBe('stop');
  });
});

describe('evaluateLabels: derived defaults', () => {
  it.each<{
    case: string;
    name: string;
    projectLabels: Readonly<Record<string, string>>;
    team: string | undefined;
    source: string | undefined;
  }>([
    {
      case: 'a capture group of the name',
      name: 'vision-trainer-1',
      projectLabels: {},
      team: 'vision',
      source: 'name',
    },
    {
      case: 'a project label when the name gives no allowed team',
      name: 'scratch-box',
      projectLabels: { team: 'data' },
      team: 'data',
      source: 'project-label:team',
    },
    {
      case: 'a normalised project label',
      name: 'scratch-box',
      projectLabels: { team: 'Data' },
      team: 'data',
      source: 'project-label:team',
    },
    {
      case: 'nothing when neither gives an allowed value',
      name: 'scratch-box',
      projectLabels: { team: 'marketing' },
      team: undefined,
      source: undefined,
    },
  ])('team from $case', ({ name, projectLabels, team, source }) => {
    const result = evaluateLabels(
      vmWith({ name, labels: { app: 'x1', cost_center: 'cc-100', priority: 'low' } }),
      policyWith(),
      {
        today: TODAY,
        projectLabels,
      },
    );
    expect(result.write?.team).toBe(team);
    expect(result.changes.find((c) => c.key === 'team')?.source).toBe(source);
    expect(result.compliant).toBe(team !== undefined);
  });

  it('fills a fixed value and a project label, and the VM becomes compliant', () => {
    const vm = vmWith({ labels: { team: 'vision', app: 'trainer' } });
    const result = evaluateLabels(vm, policyWith(), context);
    expect(result.action).toBe('fix');
    expect(result.fixedKeys).toEqual(['cost_center', 'priority']);
    expect(result.write).toEqual({ ...COMPLETE, cost_center: 'cc-300' });
    expect(result.compliantBefore).toBe(false);
    expect(result.compliant).toBe(true);
  });

  it('does not derive over a value that is present but not allowed', () => {
    const vm = vmWith({ labels: { ...COMPLETE, team: 'marketing' } });
    const result = evaluateLabels(vm, policyWith(), context);
    expect(result.violations).toEqual([{ key: 'team', kind: 'invalid', value: 'marketing' }]);
    expect(result.write).toEqual({
      ...COMPLETE,
      team: 'marketing',
      'costguard-stop-after': '2026-11-23',
    });
  });

  it('uses a named group other than the key when the policy says so', () => {
    const policy = policyWith({
      labels: { app: { derive: [{ namePattern: '^[a-z]+-(?<job>[a-z]+)-', group: 'job' }] } },
    });
    const result = evaluateLabels(vmWith({ name: 'vision-trainer-1' }), policy, context);
    expect(result.write).toEqual({ app: 'trainer' });
  });
});

describe('evaluateLabels: normalisation and the label rules', () => {
  it('lowercases keys and values where that keeps their meaning', () => {
    const vm = vmWith({
      labels: { Team: 'Vision', app: 'Eval', cost_center: 'CC-100', priority: 'Low' },
    });
    const result = evaluateLabels(vm, policyWith(), context);
    expect(result.action).toBe('fix');
    expect(result.write).toEqual({
      team: 'vision',
      app: 'eval',
      cost_center: 'cc-100',
      priority: 'low',
    });
    expect(result.fixedKeys).toEqual(['team', 'app', 'cost_center', 'priority']);
    expect(result.changes).toContainEqual({
      key: 'Team',
      from: 'Vision',
      to: undefined,
      reason: 'normalised',
    });
  });

  it('turns separators into dashes in values', () => {
    const vm = vmWith({ labels: { ...COMPLETE, owner: 'Data Eng/ML' } });
    expect(evaluateLabels(vm, policyWith(), context).write?.owner).toBe('data-eng-ml');
  });

  it('keeps lowercase international letters, which the API allows', () => {
    const vm = vmWith({ labels: { ...COMPLETE, équipe: 'données' } });
    const result = evaluateLabels(vm, policyWith(), context);
    expect([result.action, result.write]).toEqual(['none', undefined]);
  });

  it.each<{ case: string; extra: Readonly<Record<string, string>>; bad: string }>([
    {
      case: 'a key that would need more than lowercasing',
      extra: { 'Cost Center': 'x' },
      bad: 'Cost Center',
    },
    { case: 'a value with characters that carry meaning', extra: { owner: 'c++' }, bad: 'owner' },
    { case: 'a value longer than 63 characters', extra: { note: 'N'.repeat(70) }, bad: 'note' },
    {
      case: 'a key that collides with another after lowercasing',
      extra: { Team: 'nlp' },
      bad: 'Team',
    },
  ])('writes nothing to a VM with $case, and says which label stops it', ({ extra, bad }) => {
    // A compliant VM whose stale mark should come off.
    const vm = vmWith({ labels: { ...COMPLETE, 'costguard-stop-after': '2026-11-22', ...extra } });
    const result = evaluateLabels(vm, policyWith(), context);
    expect(result.write).toBeUndefined();
    expect(result.action).toBe('report');
    expect(result.reason).toBe(
      `labels ${bad} break the label rules and cannot be normalised safely`,
    );
  });

  it('reports a violator whose labels cannot be written back, naming the label', () => {
    const vm = vmWith({ labels: { team: 'vision', 'Cost Center': 'CC 100' } });
    const result = evaluateLabels(vm, policyWith(), context);
    expect(result.write).toBeUndefined();
    expect(result.action).toBe('report');
    expect(result.reason).toBe(
      'labels Cost Center break the label rules and cannot be normalised safely',
    );
    expect(result.violations.map((v) => v.key)).toEqual(['app', 'cost_center', 'priority']);
  });

  it('never goes past 64 labels', () => {
    const labels = Object.fromEntries(Array.from({ length: 63 }, (_, i) => [`extra_${i}`, 'x']));
    const result = evaluateLabels(
      vmWith({ labels: { ...labels, team: 'vision' } }),
      policyWith(),
      context,
    );
    expect(result.write).toBeUndefined();
    expect(result.reason).toBe('the labels would exceed 64');
  });

  it('never proposes a value outside the label rules', () => {
    const policy = policyWith({
      action: 'fix',
      labels: { team: { derive: [{ projectLabel: 'team' }] } },
    });
    const result = evaluateLabels(vmWith(), policy, {
      today: TODAY,
      projectLabels: { team: 'Ünïcode Team!' },
    });
    expect(result.write).toBeUndefined();
    expect(result.violations).toEqual([{ key: 'team', kind: 'missing' }]);
  });
});

describe('evaluateLabels: exemption and un-marking', () => {
  it('leaves an exempt VM alone, even when its labels are incomplete or unnormalised', () => {
    const vm = vmWith({ labels: { 'costguard-exempt': 'true', Team: 'Vision' } });
    const result = evaluateLabels(vm, policyWith(), context);
    expect([result.exempt, result.action, result.write, result.stop]).toEqual([
      true,
      'none',
      undefined,
      false,
    ]);
  });

  it.each<{ case: string; labels: Readonly<Record<string, string>> }>([
    { case: "the policy's own exempt label", labels: { keep: 'yes' } },
    {
      case: 'costguard-exempt, whatever label the policy names',
      labels: { 'costguard-exempt': 'true' },
    },
  ])('exempts a VM by $case', ({ labels }) => {
    const vm = vmWith({ labels: { ...labels, Team: 'Vision' } });
    const result = evaluateLabels(vm, policyWith({ exemptLabel: 'keep' }), context);
    expect([result.exempt, result.action, result.stop]).toEqual([true, 'none', false]);
  });

  it('takes a stale mark off an exempt VM and changes nothing else', () => {
    const vm = vmWith({
      labels: { 'costguard-exempt': 'yes', 'costguard-stop-after': '2026-11-01' },
    });
    const result = evaluateLabels(vm, policyWith(), context);
    expect(result.action).toBe('unmark');
    expect(result.write).toEqual({ 'costguard-exempt': 'yes' });
  });

  it.each([
    {
      case: 'until a later day',
      exemptUntil: 'until-2026-11-21',
      exempt: true,
      action: 'none',
      write: undefined,
    },
    {
      case: 'through today',
      exemptUntil: 'until-2026-11-20',
      exempt: true,
      action: 'none',
      write: undefined,
    },
    {
      case: 'ended yesterday (the label is taken off)',
      exemptUntil: 'until-2026-11-19',
      exempt: false,
      action: 'unmark',
      write: COMPLETE,
    },
  ])('a dated exemption $case: exempt $exempt', ({ exemptUntil, exempt, action, write }) => {
    const vm = vmWith({ labels: { ...COMPLETE, 'costguard-exempt': exemptUntil } });

    const result = evaluateLabels(vm, policyWith(), context);

    expect([result.exempt, result.action, result.write]).toEqual([exempt, action, write]);
  });

  it('marks a non-compliant VM once its dated exemption has ended, taking the exemption off', () => {
    const vm = vmWith({ labels: { team: 'vision', 'costguard-exempt': 'until-2026-11-01' } });

    const result = evaluateLabels(vm, policyWith(), context);

    expect(result.action).toBe('mark');
    expect(result.write?.['costguard-exempt']).toBeUndefined();
    expect(result.changes).toContainEqual({
      key: 'costguard-exempt',
      from: 'until-2026-11-01',
      to: undefined,
      reason: 'unmark',
    });
  });

  it('does not treat costguard-exempt=false as an exemption', () => {
    const vm = vmWith({ labels: { 'costguard-exempt': 'false' } });
    expect(evaluateLabels(vm, policyWith(), context).exempt).toBe(false);
  });

  it('un-marks a VM that has become compliant', () => {
    const vm = vmWith({ labels: { ...COMPLETE, 'costguard-stop-after': '2026-11-22' } });
    const result = evaluateLabels(vm, policyWith(), context);
    expect(result.action).toBe('unmark');
    expect(result.write).toEqual(COMPLETE);
    expect(result.stopAfter).toBeUndefined();
  });

  it('un-marks a VM that a fix makes compliant in the same check', () => {
    const vm = vmWith({
      labels: {
        team: 'vision',
        app: 'trainer',
        cost_center: 'cc-100',
        'costguard-stop-after': '2026-11-01',
      },
    });
    const result = evaluateLabels(vm, policyWith(), context);
    expect([result.action, result.stop, result.fixedKeys]).toEqual(['unmark', false, ['priority']]);
    expect(result.write).toEqual(COMPLETE);
  });

  it('replaces a mark that is not a date', () => {
    const vm = vmWith({ labels: { team: 'vision', 'costguard-stop-after': 'soon' } });
    expect(evaluateLabels(vm, policyWith(), context).write?.['costguard-stop-after']).toBe(
      '2026-11-23',
    );
  });

  it('leaves a compliant VM without a mark untouched', () => {
    const result = evaluateLabels(vmWith({ labels: COMPLETE }), policyWith(), context);
    expect([result.action, result.write, result.reason]).toEqual(['none', undefined, 'compliant']);
  });
});

describe('deadline days', () => {
  it.each([
    { value: '2026-11-20', expected: '2026-11-20' },
    { value: '2026-02-30', expected: undefined },
    { value: '2026-11-2', expected: undefined },
    { value: undefined, expected: undefined },
  ])('parseDay($value) is $expected', ({ value, expected }) => {
    expect(parseDay(value)).toBe(expected);
  });

  it('adds days across month and year ends', () => {
    expect([addDays('2026-11-29', 3), addDays('2026-12-30', 3)]).toEqual([
      '2026-12-02',
      '2027-01-02',
    ]);
  });
});

describe('evaluateLabels: exemption from a tag, not from labels', () => {
  const EXEMPT_TAG = '100000000001/costguard-exempt';
  const byTag = policyWith({ action: 'stop', exemptTag: EXEMPT_TAG });
  const pastDeadline = { team: 'vision', 'costguard-stop-after': '2026-11-19' };

  it.each<{
    case: string;
    labels: Record<string, string>;
    tags: Record<string, string> | undefined;
    action: string;
  }>([
    {
      case: 'labelled exempt by its owner, untagged',
      labels: { ...pastDeadline, 'costguard-exempt': 'true' },
      tags: {},
      action: 'stop',
    },
    {
      case: 'tagged exempt',
      labels: pastDeadline,
      tags: { [EXEMPT_TAG]: 'true' },
      action: 'unmark',
    },
    {
      case: 'tagged exempt until a day that has passed',
      labels: pastDeadline,
      tags: { [EXEMPT_TAG]: 'until-2026-11-19' },
      action: 'stop',
    },
    {
      case: 'whose tags could not be read',
      labels: pastDeadline,
      tags: undefined,
      action: 'unmark',
    },
  ])('a VM past its deadline $case: $action', ({ labels, tags, action }) => {
    // Prepare
    const vm = vmWith({ labels });
    // Act
    const result = evaluateLabels(vm, byTag, { ...context, tags });
    // Assess
    expect(result.action).toBe(action);
    expect(result.stop).toBe(action === 'stop');
  });

  it('leaves an owner\u2019s ended dated exempt label alone: labels do not exempt here', () => {
    const vm = vmWith({ labels: { ...COMPLETE, 'costguard-exempt': 'until-2026-11-01' } });
    const result = evaluateLabels(vm, byTag, { ...context, tags: {} });
    expect(result.write).toBeUndefined();
    expect(result.action).toBe('none');
  });
});
