import { describe, expect, it } from 'vitest';
import { readConfig } from '../../functions/core/config.js';
import type { HourlyRate } from '../../functions/core/pricing.js';
import { vmKey, type Vm } from '../../functions/core/vm.js';
import {
  planShedding,
  type PlannedVm,
  type SheddingInput,
} from '../../functions/budget/plan-shedding.js';
import { budgetSettings, type SheddingPolicy, type Tier } from '../../functions/budget/policy.js';
import { vmWith } from '../support/stand-ins.js';

const POLICY: SheddingPolicy = readConfig(budgetSettings, {}).policy;
const TIER_LOW: Tier = { at: 1, stop: ['low'] };
const TIER_LOW_MEDIUM: Tier = { at: 1.1, stop: ['low', 'medium'] };

function vm(name: string, overrides: Partial<Vm> & { priority?: string } = {}): Vm {
  const { priority, ...rest } = overrides;
  return vmWith({ name, labels: priority === undefined ? {} : { priority }, ...rest });
}

function rate(hourly: number): HourlyRate {
  return { hourly, spot: hourly, onDemand: hourly * 3, currency: 'USD', source: 'catalog' };
}

function input(
  vms: Vm[],
  hourly: Record<string, number>,
  overrides: Partial<SheddingInput> = {},
): SheddingInput {
  return {
    tier: TIER_LOW,
    policy: POLICY,
    scope: new Set(['ml-training-prod']),
    vms,
    rates: new Map(vms.map((v) => [vmKey(v), rate(hourly[v.name] ?? 0.1)])),
    alreadyStopped: 0,
    ...overrides,
  };
}

const summary = (i: SheddingInput): string[] =>
  planShedding(i).decisions.map((d) => `${d.vm.name}:${d.action}`);

const stopsOf = (i: SheddingInput): PlannedVm[] =>
  planShedding(i).decisions.filter((d) => d.action === 'STOP');

const hourlySum = (planned: readonly PlannedVm[]): number =>
  planned.reduce((sum, d) => sum + d.rate.hourly, 0);

describe('planShedding', () => {
  it('orders by priority ascending, then by hourly cost descending', () => {
    const vms = [
      vm('medium-cheap', { priority: 'medium' }),
      vm('low-cheap', { priority: 'low' }),
      vm('medium-dear', { priority: 'medium' }),
      vm('low-dear', { priority: 'low' }),
      vm('low-mid', { priority: 'low' }),
    ];
    const prices = {
      'medium-cheap': 0.1,
      'low-cheap': 0.05,
      'medium-dear': 2,
      'low-dear': 1.5,
      'low-mid': 0.3,
    };
    const planned = input(vms, prices, { tier: TIER_LOW_MEDIUM });
    const stops = stopsOf(planned);
    expect(stops.map((d) => d.vm.name)).toEqual([
      'low-dear',
      'low-mid',
      'low-cheap',
      'medium-dear',
      'medium-cheap',
    ]);
    expect(hourlySum(stops)).toBeCloseTo(3.95, 9);
    expect(planShedding(planned).currency).toBe('USD');
  });

  it.each<{ case: string; machine: Vm; expected: string | undefined }>([
    { case: 'a critical VM', machine: vm('x', { priority: 'critical' }), expected: undefined },
    { case: 'a high-priority VM', machine: vm('x', { priority: 'high' }), expected: undefined },
    {
      case: 'a medium VM at the low tier',
      machine: vm('x', { priority: 'medium' }),
      expected: undefined,
    },
    { case: 'a low VM', machine: vm('x', { priority: 'low' }), expected: 'x:STOP' },
    { case: 'an unlabelled VM (counted as low)', machine: vm('x'), expected: 'x:STOP' },
    {
      case: 'an unrecognised priority (counted as low)',
      machine: vm('x', { priority: 'urgent' }),
      expected: 'x:STOP',
    },
    {
      case: 'an exempt VM',
      machine: vm('x', { labels: { priority: 'low', 'costguard-exempt': 'true' } }),
      expected: 'x:SKIP_EXEMPT',
    },
    {
      case: 'an exempt label with an empty value',
      machine: vm('x', { labels: { priority: 'low', 'costguard-exempt': '' } }),
      expected: 'x:SKIP_EXEMPT',
    },
    {
      case: 'an exempt label set to false',
      machine: vm('x', { labels: { priority: 'low', 'costguard-exempt': 'false' } }),
      expected: 'x:STOP',
    },
    {
      case: 'a VM of a managed instance group',
      machine: vm('x', {
        priority: 'low',
        managedBy: 'projects/481516234201/zones/us-central1-a/instanceGroupManagers/workers',
      }),
      expected: 'x:SKIP_MIG',
    },
    {
      case: 'a STANDARD VM',
      machine: vm('x', { priority: 'low', provisioningModel: 'STANDARD' }),
      expected: undefined,
    },
    {
      case: 'a legacy preemptible VM',
      machine: vm('x', { priority: 'low', provisioningModel: 'PREEMPTIBLE' }),
      expected: undefined,
    },
    {
      case: 'a VM outside the scope',
      machine: vm('x', { priority: 'low', project: 'research-sandbox' }),
      expected: undefined,
    },
    {
      case: 'a VM already stopping',
      machine: vm('x', { priority: 'low', status: 'STOPPING' }),
      expected: undefined,
    },
    {
      case: 'a terminated VM',
      machine: vm('x', { priority: 'low', status: 'TERMINATED' }),
      expected: undefined,
    },
  ])('decides about $case', ({ machine, expected }) => {
    expect(summary(input([machine], {}))).toEqual(expected ? [expected] : []);
  });

  it('follows the policy: priority label, missing priority, exempt label and models', () => {
    const policy: SheddingPolicy = {
      ...POLICY,
      priorityLabel: 'tier',
      missingPriority: 'critical',
      exemptLabel: 'keep',
      provisioningModels: ['SPOT', 'PREEMPTIBLE'],
    };
    const vms = [
      vm('tier-low', { labels: { tier: 'low' } }),
      vm('priority-low-only', { labels: { priority: 'low' } }),
      vm('kept', { labels: { tier: 'low', keep: 'yes' } }),
      // costguard-exempt protects a VM whatever exempt label the policy names.
      vm('costguard-exempt', { labels: { tier: 'low', 'costguard-exempt': 'true' } }),
      vm('preemptible', { labels: { tier: 'low' }, provisioningModel: 'PREEMPTIBLE' }),
    ];
    expect(summary(input(vms, {}, { policy }))).toEqual([
      'costguard-exempt:SKIP_EXEMPT',
      'kept:SKIP_EXEMPT',
      'preemptible:STOP',
      'tier-low:STOP',
    ]);
  });

  it('caps the stops of a tier, spares the rest, and counts earlier stops against the cap', () => {
    const vms = ['a', 'b', 'c', 'd'].map((n) => vm(`low-${n}`, { priority: 'low' }));
    const prices = { 'low-a': 4, 'low-b': 3, 'low-c': 2, 'low-d': 1 };
    const capped: Tier = { at: 1, stop: ['low'], maxStops: 2 };
    expect(summary(input(vms, prices, { tier: capped }))).toEqual([
      'low-a:STOP',
      'low-b:STOP',
      'low-c:SKIP_CAP',
      'low-d:SKIP_CAP',
    ]);
    expect(summary(input(vms.slice(2), prices, { tier: capped, alreadyStopped: 1 }))).toEqual([
      'low-c:STOP',
      'low-d:SKIP_CAP',
    ]);
    expect(summary(input(vms.slice(2), prices, { tier: capped, alreadyStopped: 2 }))).toEqual([
      'low-c:SKIP_CAP',
      'low-d:SKIP_CAP',
    ]);
  });

  it('does not count exempt or MIG VMs against the cap', () => {
    const vms = [
      vm('exempt', { labels: { priority: 'low', 'costguard-exempt': 'true' } }),
      vm('mig', { priority: 'low', managedBy: 'projects/1/zones/z/instanceGroupManagers/g' }),
      vm('plain', { priority: 'low' }),
    ];
    const prices = { exempt: 9, mig: 8, plain: 1 };
    const planned = input(vms, prices, { tier: { at: 1, stop: ['low'], maxStops: 1 } });
    const stops = stopsOf(planned);
    expect(stops.map((d) => d.vm.name)).toEqual(['plain']);
    expect(planShedding(planned).spared.map((d) => [d.vm.name, d.reason])).toEqual([
      ['exempt', 'exempt by label costguard-exempt'],
      ['mig', 'managed by g, which would recreate it; reported only'],
    ]);
    expect(hourlySum(stops)).toBe(1);
  });

  it.each([
    { case: 'ends later', exempt: 'until-2026-11-21', today: '2026-11-20', stopped: [] },
    { case: 'ends today', exempt: 'until-2026-11-20', today: '2026-11-20', stopped: [] },
    {
      case: 'ended yesterday',
      exempt: 'until-2026-11-19',
      today: '2026-11-20',
      stopped: ['dated'],
    },
    { case: 'is read without a date', exempt: 'until-2026-11-19', today: undefined, stopped: [] },
  ])('a dated exemption that $case: stops $stopped', ({ exempt, today, stopped }) => {
    const vms = [vm('dated', { labels: { priority: 'low', 'costguard-exempt': exempt } })];

    const plan = { ...input(vms, { dated: 1 }), ...(today ? { today } : {}) };

    expect(stopsOf(plan).map((d) => d.vm.name)).toEqual(stopped);
  });

  it('orders unpriced VMs last within their priority and by name for ties', () => {
    const vms = [
      vm('b', { priority: 'low' }),
      vm('a', { priority: 'low' }),
      vm('c', { priority: 'low' }),
    ];
    const stops = stopsOf({
      ...input(vms, {}),
      rates: new Map([[vmKey(vms[2] as Vm), rate(0.5)]]),
    });
    expect(stops.map((d) => [d.vm.name, d.rate.source])).toEqual([
      ['c', 'catalog'],
      ['a', 'unknown'],
      ['b', 'unknown'],
    ]);
  });

  it('explains each stop', () => {
    const stops = stopsOf(input([vm('x'), vm('y', { priority: 'low' })], {}));
    expect(stops.map((d) => d.reason)).toEqual([
      'no priority label, counted as low, tier 1 stops low',
      'priority low, tier 1 stops low',
    ]);
  });

  describe('with priorities and exemptions from the policy, not from labels', () => {
    const fromPolicy = (extra: object): SheddingPolicy =>
      readConfig(budgetSettings, {
        COSTGUARD_BUDGET_POLICY: JSON.stringify({
          tiers: [{ at: 1, stop: ['low'] }],
          prioritySource: 'policy',
          ...extra,
        }),
      }).policy;

    it('stops a VM its owner labelled critical and exempt, and spares what the policy protects', () => {
      // Prepare: a team labels its own VM critical and exempt to push stops onto others.
      const policy = fromPolicy({
        priorities: {
          'ml-training-prod/*/*': 'low',
          'ml-training-prod/us-central1-a/serving': 'critical',
          'ml-training-prod/*/nightly': 'high',
        },
        exemptVms: ['ml-training-prod/us-central1-a/audit'],
      });
      const vms = [
        vm('self-critical', { labels: { priority: 'critical', 'costguard-exempt': 'true' } }),
        vm('serving', { priority: 'low' }),
        vm('nightly'),
        vm('audit'),
        vm('other'),
      ];

      // Act
      const plan = planShedding(input(vms, {}, { policy }));

      // Assess
      expect(plan.decisions.map((d) => [d.vm.name, d.priority, d.action, d.reason])).toEqual([
        ['audit', 'low', 'SKIP_EXEMPT', 'exempt by the policy'],
        ['other', 'low', 'STOP', 'priority low from the policy, tier 1 stops low'],
        ['self-critical', 'low', 'STOP', 'priority low from the policy, tier 1 stops low'],
      ]);
    });

    it('counts a VM the policy does not list as missingPriority', () => {
      const policy = fromPolicy({ missingPriority: 'low' });

      expect(summary(input([vm('labelled-high', { priority: 'high' })], {}, { policy }))).toEqual([
        'labelled-high:STOP',
      ]);
      expect(stopsOf(input([vm('x')], {}, { policy }))[0]?.reason).toBe(
        'no priority in the policy, counted as low, tier 1 stops low',
      );
    });

    it('refuses policy priorities while priorities come from labels', () => {
      expect(() =>
        readConfig(budgetSettings, {
          COSTGUARD_BUDGET_POLICY: JSON.stringify({
            tiers: [{ at: 1, stop: ['low'] }],
            exemptVms: ['p-12345/*/*'],
          }),
        }),
      ).toThrow('prioritySource: priorities and exemptVms apply only with prioritySource "policy"');
    });
  });

  describe('with priorities and exemptions from Resource Manager tags, not from labels', () => {
    const PRIORITY_TAG = '100000000001/costguard-priority';
    const EXEMPT_TAG = '100000000001/costguard-exempt';
    const fromTags = readConfig(budgetSettings, {
      COSTGUARD_BUDGET_POLICY: JSON.stringify({
        tiers: [{ at: 1, stop: ['low', 'medium'] }],
        prioritySource: 'tags',
        priorityTag: PRIORITY_TAG,
        exemptTag: EXEMPT_TAG,
      }),
    }).policy;

    it.each<{
      case: string;
      labels: Record<string, string>;
      tags: Record<string, string> | undefined;
      action: string | undefined;
      reason: string | undefined;
    }>([
      {
        case: 'labelled critical by its owner, no tag',
        labels: { priority: 'critical' },
        tags: {},
        action: 'STOP',
        reason: `no ${PRIORITY_TAG} tag, counted as low, tier 1 stops low+medium`,
      },
      {
        case: 'labelled exempt by its owner, no tag',
        labels: { 'costguard-exempt': 'true' },
        tags: {},
        action: 'STOP',
        reason: `no ${PRIORITY_TAG} tag, counted as low, tier 1 stops low+medium`,
      },
      {
        case: 'tagged critical',
        labels: { priority: 'low' },
        tags: { [PRIORITY_TAG]: 'critical' },
        action: undefined,
        reason: undefined,
      },
      {
        case: 'tagged medium',
        labels: {},
        tags: { [PRIORITY_TAG]: 'medium' },
        action: 'STOP',
        reason: 'priority medium from its tag, tier 1 stops low+medium',
      },
      {
        case: 'tagged exempt',
        labels: {},
        tags: { [EXEMPT_TAG]: 'true' },
        action: 'SKIP_EXEMPT',
        reason: `exempt by tag ${EXEMPT_TAG}`,
      },
      {
        case: 'tagged critical under a key of the same short name in its own project',
        labels: {},
        tags: { 'ml-training-prod/costguard-priority': 'critical' },
        action: 'STOP',
        reason: `no ${PRIORITY_TAG} tag, counted as low, tier 1 stops low+medium`,
      },
      {
        case: 'whose tags could not be read',
        labels: {},
        tags: undefined,
        action: 'SKIP_EXEMPT',
        reason: 'its tags could not be read; spared',
      },
    ])('a VM $case: $action', ({ labels, tags, action, reason }) => {
      // Prepare
      const target = vm('target', { labels });
      const read = new Map(tags === undefined ? [] : [[vmKey(target), tags]]);

      // Act
      const plan = planShedding(
        input([target], {}, { policy: fromTags, tier: fromTags.tiers[0], tags: read }),
      );

      // Assess
      const decision = plan.decisions[0];
      expect([decision?.action, decision?.reason]).toEqual([action, reason]);
    });

    it.each([
      {
        case: 'tags without a priority tag key',
        policy: { prioritySource: 'tags' },
        message: 'priorityTag: prioritySource "tags" needs priorityTag',
      },
      {
        case: 'a tag key with labels',
        policy: { priorityTag: '100000000001/costguard-priority' },
        message: 'priorityTag and exemptTag apply only with prioritySource "tags"',
      },
      {
        case: 'a tag key without its parent',
        policy: { prioritySource: 'tags', priorityTag: 'costguard-priority' },
        message: 'a namespaced tag key',
      },
    ])('refuses $case', ({ policy, message }) => {
      expect(() =>
        readConfig(budgetSettings, {
          COSTGUARD_BUDGET_POLICY: JSON.stringify({ tiers: [{ at: 1, stop: ['low'] }], ...policy }),
        }),
      ).toThrow(message);
    });
  });
});
