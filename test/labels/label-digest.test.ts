import { describe, expect, it } from 'vitest';
import type { HourlyRate } from '../../functions/core/pricing.js';
import { blockKitProblems } from '../../functions/core/slack-buttons.js';
import type { CheckOutcome, CheckRun } from '../../functions/labels/check-outcome.js';
import { complianceRow } from '../../functions/labels/compliance-ledger.js';
import type { LabelEvaluation, VmAction } from '../../functions/labels/evaluate-labels.js';
import { composeLabelDigest, summariseChecks } from '../../functions/labels/label-digest.js';
import { vmWith } from '../support/stand-ins.js';

const run: CheckRun = {
  id: 'sweep-2026-11-20T00:00:00.000Z',
  kind: 'sweep',
  checkedAt: new Date('2026-11-20T00:00:10Z'),
  dryRun: false,
};

function rate(hourly: number): HourlyRate {
  return { hourly, spot: hourly, onDemand: hourly * 4, currency: 'USD', source: 'catalog' };
}

interface Spec {
  name: string;
  project?: string;
  team?: string;
  compliant?: boolean;
  exempt?: boolean;
  action?: VmAction;
  status?: CheckOutcome['status'];
  stopAfter?: string;
  hourly?: number;
  vmStatus?: string;
  fixed?: string[];
}

function outcome(spec: Spec): CheckOutcome {
  const vm = vmWith({
    project: spec.project ?? 'ml-training-prod',
    name: spec.name,
    status: spec.vmStatus ?? 'RUNNING',
  });
  const compliant = spec.compliant ?? false;
  const violations = compliant ? [] : [{ key: 'app', kind: 'missing' as const }];
  const evaluation: LabelEvaluation = {
    exempt: spec.exempt ?? false,
    compliantBefore: compliant,
    violationsBefore: violations,
    compliant,
    violations,
    fixedKeys: spec.fixed ?? [],
    changes: [],
    write: undefined,
    stopAfter: spec.stopAfter,
    stop: spec.action === 'stop',
    action: spec.action ?? (compliant ? 'none' : 'report'),
    reason: 'test',
  };
  return {
    vm,
    evaluation,
    status: spec.status ?? 'done',
    labels: spec.team ? { team: spec.team } : {},
    compliant,
    violations,
    rate: spec.hourly === undefined ? undefined : rate(spec.hourly),
    error: undefined,
    transient: false,
  };
}

const outcomes: CheckOutcome[] = [
  outcome({ name: 'ok-1', team: 'vision', compliant: true }),
  outcome({ name: 'ok-2', team: 'nlp', compliant: true, action: 'fix', fixed: ['priority'] }),
  outcome({ name: 'exempt-1', exempt: true, action: 'none' }),
  outcome({
    name: 'nlp-a',
    team: 'nlp',
    action: 'mark',
    stopAfter: '2026-11-23',
    hourly: 0.3,
    fixed: ['cost_center'],
  }),
  outcome({ name: 'nlp-b', team: 'nlp', stopAfter: '2026-11-22', hourly: 0.1 }),
  outcome({
    name: 'nlp-stopped',
    team: 'nlp',
    stopAfter: '2026-11-22',
    vmStatus: 'TERMINATED',
    hourly: 0.1,
  }),
  outcome({
    name: 'vision-a',
    team: 'vision',
    project: 'data-pipelines',
    action: 'mark',
    stopAfter: '2026-11-22',
    hourly: 1.5,
  }),
  outcome({
    name: 'old-a',
    team: 'data',
    project: 'data-pipelines',
    action: 'stop',
    stopAfter: '2026-11-18',
    hourly: 0.04,
  }),
  outcome({ name: 'untagged', project: 'data-pipelines', action: 'unmark' }),
  outcome({ name: 'broken', team: 'data', status: 'failed' }),
];

describe('the sweep digest', () => {
  it('counts what the sweep found and did', () => {
    expect(summariseChecks(outcomes, { stops: true }).counts).toEqual({
      checked: 10,
      compliant: 2,
      nonCompliant: 7,
      exempt: 1,
      fixed: 2,
      marked: 2,
      unmarked: 1,
      stopped: 1,
      failed: 1,
    });
  });

  it('ranks offenders by VMs, then by hourly cost', () => {
    const digest = summariseChecks(outcomes, { stops: true });
    expect(digest.byTeam.map((o) => [o.name, o.vms, Number(o.hourly.toFixed(2))])).toEqual([
      ['nlp', 3, 0.5],
      ['data', 2, 0.04],
      ['vision', 1, 1.5],
      ['(no team)', 1, 0],
    ]);
    expect(digest.byProject.map((o) => [o.name, o.vms])).toEqual([
      ['ml-training-prod', 4],
      ['data-pipelines', 3],
    ]);
  });

  it('lists the running VMs that will be stopped, the next deadline first', () => {
    const digest = summariseChecks(outcomes, { stops: true });
    expect(digest.upcomingStops.map((s) => [s.vm.split('/')[2], s.deadline])).toEqual([
      ['vision-a', '2026-11-22'],
      ['nlp-b', '2026-11-22'],
      ['nlp-a', '2026-11-23'],
    ]);
    expect(summariseChecks(outcomes, { stops: false }).upcomingStops).toEqual([]);
  });

  it('is one Block Kit message with a plain-text fallback', () => {
    const message = composeLabelDigest(run, summariseChecks(outcomes, { stops: true }), {
      failedProjects: ['research-sandbox'],
      dashboardUrl: 'https://lookerstudio.google.com/r/1',
    });
    expect(message.text).toBe(
      'Label compliance: 2 of 9 VMs compliant 2 fixed, 2 marked, 1 stopped, 1 failed. Next deadline 2026-11-22: 2 VM(s).',
    );
    const blocks = message.blocks ?? [];
    expect(blocks.map((b) => b.type)).toEqual([
      'header',
      'section',
      'section',
      'section',
      'section',
      // One "Exempt until…" date picker for each VM due to stop.
      'section',
      'section',
      'section',
      'section',
      'context',
    ]);
    expect(blocks.slice(5, 8).map((b) => (b as { block_id?: string }).block_id)).toEqual([
      'costguard-vm:data-pipelines/us-central1-a/vision-a',
      'costguard-vm:ml-training-prod/us-central1-a/nlp-b',
      'costguard-vm:ml-training-prod/us-central1-a/nlp-a',
    ]);
    const text = JSON.stringify(blocks);
    expect(text).toContain('2 VMs stopped after the next deadline, 2026-11-22, unless labelled');
    expect(text).toContain('• `nlp`: 3 VMs, 0.50 USD/h');
    expect(text).toContain('Not checked (listing failed): `research-sandbox`');
    expect(text).toContain('<https://lookerstudio.google.com/r/1|Compliance dashboard>');
  });

  it('says a dry run changed nothing', () => {
    const message = composeLabelDigest(
      { ...run, dryRun: true },
      summariseChecks(outcomes, { stops: true }),
      { failedProjects: [] },
    );
    expect(message.text).toContain('(dry run)');
    const text = JSON.stringify(message.blocks);
    expect(text).toContain('would be stopped');
    expect(text).toContain('dry run: nothing was changed');
    expect(text).toContain('Stopped (planned)');
  });

  it('stays within Block Kit limits for a large fleet and escapes what Slack would parse', () => {
    const many = Array.from({ length: 400 }, (_, i) =>
      outcome({
        name: `vm-${i}`,
        team: `team-${i % 40}<&>`,
        project: `project-${i % 30}`,
        stopAfter: '2026-11-22',
        hourly: 0.1,
      }),
    );
    const blocks =
      composeLabelDigest(run, summariseChecks(many, { stops: true }), { failedProjects: [] })
        .blocks ?? [];
    expect(blockKitProblems(blocks)).toEqual([]);
    const sections = blocks.filter((b) => b.type === 'section');
    const longest = Math.max(...sections.map((b) => b.text?.text.length ?? 0));
    const mostFields = Math.max(...sections.map((b) => b.fields?.length ?? 0));
    expect(longest).toBeLessThanOrEqual(3000);
    expect(mostFields).toBeLessThanOrEqual(10);
    const text = JSON.stringify(blocks);
    expect(text).toContain('…and 35 more');
    expect(text).toContain('…and 390 more');
    expect(text).toContain('team-0&lt;&amp;&gt;');
    expect(text).not.toContain('team-0<&>');
  });
});

describe('compliance rows', () => {
  it('key a VM in a run, so a repeated check lands on the same key', () => {
    const a = complianceRow(
      run,
      outcome({ name: 'nlp-a', action: 'mark', stopAfter: '2026-11-23', hourly: 0.2948 }),
      new Date('2026-11-20T00:00:11Z'),
    );
    const b = complianceRow(
      run,
      outcome({ name: 'nlp-a', action: 'report', stopAfter: '2026-11-23', hourly: 0.2948 }),
      new Date('2026-11-20T00:01:00Z'),
    );
    const other = complianceRow(
      { ...run, id: 'sweep-2026-11-21T00:00:00.000Z' },
      outcome({ name: 'nlp-a' }),
      new Date(),
    );
    expect(a.row.row_key).toBe(b.row.row_key);
    expect(a.key).not.toBe(b.key);
    expect(other.row.row_key).not.toBe(a.row.row_key);
    expect(a.row).toMatchObject({
      hourly_cost: '0.2948',
      currency: 'USD',
      price_source: 'catalog',
      stop_after: '2026-11-23',
      action: 'mark',
      recorded_at: '2026-11-20T00:00:11.000Z',
    });
  });

  it('leave the cost out when the machine has no price', () => {
    const row = complianceRow(run, outcome({ name: 'x' }), new Date()).row;
    expect([row.hourly_cost, row.currency, row.price_source]).toEqual([null, null, 'unknown']);
  });
});
