/**
 * triggerRun on pipelines that list several candidate VMs, through the real Compute and
 * BigQuery clients against the sandbox: a start takes the idle candidate whose zone and machine
 * family were preempted least per Spot VM-hour in the last 7 days (the preemption_rate_daily
 * view over the rows below), the run and its ledger rows say why, two starts at once never take
 * one VM, and a preempted run comes back on the VM it holds.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { commonAdapters } from '../../functions/adapters/runtime.js';
import { commonSettings, readConfig } from '../../functions/core/config.js';
import { planBatchRun } from '../../functions/sandbox/batch-vm.js';
import { slackState } from '../../functions/sandbox/routes/slack.js';
import { runRows, runsEnv, useTriggerRun } from '../support/runs.js';

const PROJECT = 'data-pipelines';
const BASE = {
  executor: 'vm',
  project: PROJECT,
  bucket: 'costguard-batch-results',
  targets: ['all'],
  maxRunHours: 4,
  invokers: ['user:alice@example.com'],
};
const PIPELINES = {
  zonal: {
    ...BASE,
    // The fixture's batch-runner-busy is RUNNING; batch-runner and batch-runner-d are c2 VMs
    // in zones with a high and a low rate; batch-gone does not exist.
    candidates: [
      { zone: 'us-east1-c', instance: 'batch-runner-busy' },
      { zone: 'us-east1-b', instance: 'batch-runner' },
      { zone: 'us-east1-d', instance: 'batch-runner-d' },
      { zone: 'us-east1-c', instance: 'batch-gone' },
    ],
    resume: { maxAttempts: 2, backoffSeconds: 0 },
  },
  contested: {
    ...BASE,
    candidates: [
      { zone: 'us-west1-a', instance: 'contested-a' },
      { zone: 'us-west1-b', instance: 'contested-b' },
    ],
  },
  ghosts: {
    ...BASE,
    candidates: [
      { zone: 'us-east1-b', instance: 'ghost-b' },
      { zone: 'us-east1-c', instance: 'ghost-c' },
    ],
  },
  pair: {
    ...BASE,
    candidates: [
      { zone: 'us-central1-a', instance: 'pair-a' },
      { zone: 'us-central1-b', instance: 'pair-b' },
    ],
  },
};

/** `hours` Spot VM-hours of `machineType` in `zone` on 2026-11-19, one row per VM and hour. */
function spotHours(zone: string, machineType: string, hours: number) {
  return Array.from({ length: hours }, (_, i) => {
    const vm = `${zone}-vm-${Math.floor(i / 24)}`;
    const hour = `2026-11-19T${String(i % 24).padStart(2, '0')}:00:00.000Z`;
    return {
      key: `${vm}/${hour}`,
      row: {
        row_key: `${PROJECT}/${zone}/${vm}/${hour}`,
        usage_hour: hour,
        project_id: PROJECT,
        zone,
        region: zone.slice(0, -2),
        instance_id: vm,
        machine_type: machineType,
        provisioning_model: 'SPOT',
        uptime_seconds: 3600,
        cost: '0.08',
        currency: 'USD',
        price_source: 'catalog',
        attributes_source: 'compute',
        recorded_at: '2026-11-19T23:10:00.000Z',
      },
    };
  });
}

/** `count` preemptions of c2 VMs in `zone`, on 2026-11-19 unless `day` says otherwise. */
function preemptions(zone: string, count: number, day = '2026-11-19') {
  return Array.from({ length: count }, (_, i) => {
    const key = `${PROJECT}/${zone}/${i}/op-${zone}-${day}-${i}`;
    return {
      key,
      row: {
        preemption_key: key,
        project_id: PROJECT,
        zone,
        region: zone.slice(0, -2),
        instance_name: `${zone}-vm-${i}`,
        instance_id: String(i),
        machine_type: 'c2-standard-8',
        provisioning_model: 'SPOT',
        preempted_at: `${day}T${String(i % 24).padStart(2, '0')}:30:00.000Z`,
        price_source: 'catalog',
        details_source: 'compute',
        operation_id: `op-${zone}-${day}-${i}`,
        seen_by: 'event',
        recorded_at: `${day}T23:00:00.000Z`,
      },
    };
  });
}

describe('a pipeline with candidate VMs', () => {
  const runs = useTriggerRun('file', {
    env: runsEnv({ COSTGUARD_PIPELINES: JSON.stringify(PIPELINES) }),
  });
  const ledger = () =>
    commonAdapters(runs.api.runtime, readConfig(commonSettings, runs.api.runtime.env)).ledger;
  const vm = (zone: string, name: string) => runs.sandbox.fleet.get(PROJECT, zone, name);
  const claimOf = (zone: string, name: string) =>
    vm(zone, name)?.metadata.find((i) => i.key === 'costguard-claim')?.value;
  const startedVms = () =>
    runs.sandbox.calls
      .filter((c) => c.route === 'compute.instances.start')
      .map((c) => c.path.replace(/^.*\/zones\//, '').replace(/\?.*$/, ''));
  const start = (pipeline: string) =>
    runs.api.call('POST', '/runs', { body: { pipeline, target: 'all' } });

  beforeAll(async () => {
    const { sandbox } = runs;
    for (const [zone, name] of [
      ['us-east1-d', 'batch-runner-d'],
      ['us-central1-a', 'pair-a'],
      ['us-central1-b', 'pair-b'],
      ['us-west1-a', 'contested-a'],
      ['us-west1-b', 'contested-b'],
    ] as const) {
      sandbox.fleet.add({
        project: PROJECT,
        zone,
        name,
        machineType: 'c2-standard-8',
        provisioningModel: 'SPOT',
        terminationAction: 'STOP',
        status: 'TERMINATED',
        labels: { team: 'data' },
      });
    }
    // us-east1-b: 2 preemptions in 40 Spot hours; us-east1-d: 1 in 50; us-east1-c (n2): none
    // in 24. Preemptions 8 days back are outside the window.
    await ledger().insert('spot_costs', [
      ...spotHours('us-east1-b', 'c2-standard-8', 40),
      ...spotHours('us-east1-d', 'c2-standard-8', 50),
      ...spotHours('us-east1-c', 'n2-standard-8', 24),
    ]);
    await ledger().insert('preemptions', [
      ...preemptions('us-east1-b', 2),
      ...preemptions('us-east1-d', 1),
      ...preemptions('us-east1-d', 9, '2026-11-12'),
    ]);
  });

  it('takes the idle candidate with the lowest recent preemption rate; the caller and the ledger see why', async () => {
    // Act
    const reply = await start('zonal');
    const runId = reply.body.runId as string;
    const shown = await runs.api.call('GET', `/runs/${runId}`);

    // Assess: batch-runner-d is claimed and started, nothing else is touched.
    expect(reply.status).toBe(202);
    expect(claimOf('us-east1-d', 'batch-runner-d')).toMatch(new RegExp(`^${runId} `));
    expect(claimOf('us-east1-b', 'batch-runner')).toBeUndefined();
    expect(vm('us-east1-d', 'batch-runner-d')?.status).toBe('RUNNING');
    expect(vm('us-east1-b', 'batch-runner')?.status).toBe('TERMINATED');
    expect(startedVms()).toEqual(['us-east1-d/instances/batch-runner-d/start']);
    expect(shown.body.placement).toEqual({
      chosen: 'us-east1-d/batch-runner-d',
      windowDays: 7,
      rule: expect.stringContaining('lowest preemptions per 100 Spot VM-hours first'),
      candidates: [
        {
          zone: 'us-east1-c',
          instance: 'batch-runner-busy',
          verdict: 'not-terminated',
          machineFamily: 'n2',
          preemptionsPer100Hours: 0,
          preemptions: 0,
          spotVmHours: 24,
          reason: 'not-terminated: the VM is RUNNING (run run-0123456789abcdef0123)',
        },
        {
          zone: 'us-east1-b',
          instance: 'batch-runner',
          verdict: 'eligible',
          machineFamily: 'c2',
          preemptionsPer100Hours: 5,
          preemptions: 2,
          spotVmHours: 40,
          reason:
            'idle, ranked 2 of 2: 5 preemptions per 100 Spot VM-hours (2 in 40 h over 7 days)',
        },
        {
          zone: 'us-east1-d',
          instance: 'batch-runner-d',
          verdict: 'chosen',
          machineFamily: 'c2',
          preemptionsPer100Hours: 2,
          preemptions: 1,
          spotVmHours: 50,
          reason: 'chosen: 2 preemptions per 100 Spot VM-hours (1 in 50 h over 7 days)',
        },
        {
          zone: 'us-east1-c',
          instance: 'batch-gone',
          verdict: 'missing',
          machineFamily: null,
          preemptionsPer100Hours: null,
          preemptions: 0,
          spotVmHours: 0,
          reason: 'missing: the VM does not exist',
        },
      ],
    });
    const announced = slackState(runs.sandbox).messages.find((m) => m.text.includes(runId));
    expect(JSON.stringify(announced?.blocks)).toContain(
      'picked from 4 candidate VMs: 2 preemptions per 100 Spot VM-hours (1 in 50 h over 7 days)',
    );
    const rows = await runRows(runs.api, runId);
    expect(rows.map((r) => [r.event, r.resource])).toEqual([
      ['requested', 'vm:data-pipelines/us-east1-d/batch-runner-d'],
      ['started', 'vm:data-pipelines/us-east1-d/batch-runner-d'],
    ]);
    for (const row of rows) {
      expect(JSON.parse(String(row.placement))).toEqual(shown.body.placement);
    }
  });

  it('brings a preempted run back on the VM it holds, not the candidate now ranked first', async () => {
    // Prepare: the running run's VM is preempted; meanwhile its zone has become the worst.
    const [running] = (await runRows(runs.api)).filter((r) => r.pipeline === 'zonal');
    const runId = String(running!.run_id);
    const { sandbox } = runs;
    const held = vm('us-east1-d', 'batch-runner-d')!;
    planBatchRun(
      sandbox,
      { project: PROJECT, zone: held.zone, name: held.name },
      {
        outcome: 'succeed',
        afterSeconds: 600,
      },
    );
    await ledger().insert('preemptions', preemptions('us-east1-d', 20, '2026-11-19'));
    sandbox.fleet.preempt(held);
    sandbox.clock.advance(60_000);

    // Act: the next look finds the preemption and starts the next attempt at once (no backoff).
    const shown = await runs.api.call('GET', `/runs/${runId}`);

    // Assess
    expect(shown.body).toMatchObject({ status: 'RUNNING', attempt: 2 });
    expect(startedVms()).toEqual([
      'us-east1-d/instances/batch-runner-d/start',
      'us-east1-d/instances/batch-runner-d/start',
    ]);
    expect(vm('us-east1-b', 'batch-runner')?.status).toBe('TERMINATED');
    expect((shown.body.placement as { chosen: string }).chosen).toBe('us-east1-d/batch-runner-d');
  });

  it('takes the next candidate when another run claims its first pick between read and write', async () => {
    // Prepare: the first metadata write loses to a claim written just before it.
    const other = 'run-ffffffffffffffffffff';
    runs.sandbox.faults.set('compute.instances.setMetadata', {
      race: { count: 1, metadata: { 'costguard-claim': `${other} 2026-11-20T00:00:00.000Z` } },
    });

    // Act
    const reply = await start('contested');

    // Assess: the contested VM keeps the other run's claim; the run went to the next candidate.
    expect(reply.status).toBe(202);
    expect(claimOf('us-west1-a', 'contested-a')).toMatch(new RegExp(`^${other} `));
    expect(claimOf('us-west1-b', 'contested-b')).toMatch(
      new RegExp(`^${String(reply.body.runId)} `),
    );
    expect(vm('us-west1-a', 'contested-a')?.status).toBe('TERMINATED');
    const shown = await runs.api.call('GET', `/runs/${String(reply.body.runId)}`);
    expect(shown.body.placement).toMatchObject({
      chosen: 'us-west1-b/contested-b',
      candidates: [
        { verdict: 'busy', reason: `busy: the VM is claimed by another run (run ${other})` },
        {
          verdict: 'chosen',
          reason: 'chosen: no Spot VM-hours recorded in 7 days (0 preemptions)',
        },
      ],
    });
  });

  it('fails a start whose candidate VMs all do not exist, naming the pipeline', async () => {
    const reply = await start('ghosts');

    expect(reply.status).toBe(422);
    expect(reply.body).toMatchObject({
      error: 'The run could not be started',
      status: 'FAILED',
      detail: 'None of the candidate VMs of pipeline ghosts exists',
    });
  });

  it('gives two starts at once two different candidates, and a third the busy answer', async () => {
    // Act: both read the idle pair before either writes; the loser's write fails on the
    // fingerprint (412) and it reads again.
    const [first, second] = await Promise.all([start('pair'), start('pair')]);
    const third = await start('pair');

    // Assess
    expect([first.status, second.status]).toEqual([202, 202]);
    const chosen = await Promise.all(
      [first, second].map(async (r) => {
        const shown = await runs.api.call('GET', `/runs/${String(r.body.runId)}`);
        return (shown.body.placement as { chosen: string }).chosen;
      }),
    );
    expect([...chosen].sort()).toEqual(['us-central1-a/pair-a', 'us-central1-b/pair-b']);
    expect(claimOf('us-central1-a', 'pair-a')).not.toEqual(claimOf('us-central1-b', 'pair-b'));
    expect(third.status).toBe(409);
    const [a, b] = chosen[0] === 'us-central1-a/pair-a' ? [first, second] : [second, first];
    expect(third.body).toEqual({
      error: `The pipeline's VM is busy: every candidate VM is busy (us-central1-a/pair-a: not-terminated: the VM is RUNNING (run ${String(a.body.runId)}); us-central1-b/pair-b: not-terminated: the VM is RUNNING (run ${String(b.body.runId)}))`,
      activeRunId: a.body.runId,
    });
  });
});
