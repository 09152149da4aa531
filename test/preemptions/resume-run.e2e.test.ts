import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commonSettings, readConfig } from '../../functions/core/config.js';
import {
  buildRecordPreemption,
  createPreemptionRecorderFor,
} from '../../functions/preemptions/entry.js';
import { batchVmState, planBatchRun } from '../../functions/sandbox/batch-vm.js';
import { RESUME_JOB } from '../../deploy/resources.js';
import {
  loggingState,
  pushBody,
  settleDeliveries,
  sinkPushBody,
} from '../../functions/sandbox/routes/logging.js';
import { putTopicJob, schedulerState } from '../../functions/sandbox/routes/scheduler.js';
import { slackState } from '../../functions/sandbox/routes/slack.js';
import { serveTarget, type ServedTarget } from '../../functions/sandbox/serve-target.js';
import { queryLedger } from '../recorder/recorder-sandbox.js';
import { loadFixture } from '../support/fixtures.js';
import {
  fakePrices,
  runsEnv,
  serveTriggerRun,
  startRunsSandbox,
  type RunsApi,
} from '../support/runs.js';
import { sandboxRuntime, type Sandbox } from '../support/sandbox.js';

// Done when: a run of a pipeline with resume {maxAttempts: 3, backoffSeconds: 60} is preempted
// twice and finishes on its third attempt. The preemptions reach recordPreemption as Compute's
// system events through the Logging sink; GET /runs/{id} starts each next attempt after the
// backoff. Status, cost, Slack thread, preemptions rows and run_attempts agree, and a duplicated
// preemption event changes nothing. One sandbox, simulated clock.

const VM = { project: 'data-pipelines', zone: 'us-east1-b', name: 'batch-runner' };
const RATE = 0.08; // c2-standard-8, USD an hour
const pipelines = loadFixture<Record<string, Record<string, unknown>>>('runs/pipelines.json');
pipelines['nightly-categories']!.resume = { maxAttempts: 3, backoffSeconds: 60 };
const ENV = runsEnv({ COSTGUARD_PIPELINES: JSON.stringify(pipelines) });

let sandbox: Sandbox;
let api: RunsApi;
let recordPreemption: ServedTarget;

const advance = async (seconds: number): Promise<void> => {
  sandbox.clock.advance(seconds * 1000);
  await settleDeliveries(sandbox);
};
const starts = () => sandbox.calls.filter((c) => c.route === 'compute.instances.start').length;

beforeAll(async () => {
  sandbox = await startRunsSandbox();
  api = await serveTriggerRun(sandbox, ENV, fakePrices({ 'c2-standard-8': RATE }));
  recordPreemption = await serveTarget('recordPreemptionResume', {
    kind: 'event',
    handler: await buildRecordPreemption(sandboxRuntime(sandbox, ENV), {
      prices: fakePrices({ 'c2-standard-8': RATE }),
    }),
  });
  loggingState(sandbox).sinks.set('costguard-preemptions', {
    pushEndpoint: recordPreemption.url,
    topic: 'costguard-preemptions',
  });
  // Attempt 1 is preempted after an hour, attempt 2 after 30 minutes; attempt 3 succeeds.
  planBatchRun(sandbox, VM, { outcome: 'preempt', afterSeconds: 3600 });
  planBatchRun(sandbox, VM, { outcome: 'preempt', afterSeconds: 1800 });
  planBatchRun(sandbox, VM, { outcome: 'succeed', afterSeconds: 1200 });
});

afterAll(async () => {
  await recordPreemption.close();
  await api.close();
  await sandbox.close();
});

describe('a run preempted twice', () => {
  it('resumes after each preemption and finishes on its third attempt, recorded and announced once each', async () => {
    const started = await api.call('POST', '/runs', {
      body: { pipeline: 'nightly-categories', target: 'all' },
    });
    const runId = started.body.runId as string;
    const get = () => api.call('GET', `/runs/${runId}`);
    expect(started.status).toBe(202);

    // Attempt 1: preempted after an hour (30 s notice); the event makes the run wait.
    await advance(3600 + 30);
    expect((await get()).body).toMatchObject({ status: 'PREEMPTED_RETRYING', attempt: 1 });
    await advance(60);
    expect((await get()).body).toMatchObject({ status: 'RUNNING', attempt: 2 });

    // Attempt 2: preempted after 30 minutes; its event delivered twice changes nothing more.
    await advance(1800 + 30);
    const second = loggingState(sandbox).entries[1]!;
    const again = await fetch(
      `${recordPreemption.url}projects/data-pipelines/topics/costguard-preemptions`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(sinkPushBody(second, 'data-pipelines', 'costguard-preemptions')),
      },
    );
    expect(again.status).toBe(204);
    expect((await get()).body).toMatchObject({ status: 'PREEMPTED_RETRYING', attempt: 2 });
    await advance(60);
    expect((await get()).body).toMatchObject({ status: 'RUNNING', attempt: 3 });

    // Attempt 3 succeeds.
    await advance(1200 + 5);
    const done = (await get()).body;

    // Status: SUCCEEDED on the third attempt, the VM started once per attempt.
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempt: 3, exitMarker: '_SUCCESS' });
    expect(starts()).toBe(3);
    expect(batchVmState(sandbox).runs.map((r) => [r.attempt, r.outcome])).toEqual([
      [1, 'preempted'],
      [2, 'preempted'],
      [3, 'succeeded'],
    ]);

    // Cost: the time each attempt ran (1 h, 30 m, 20 m) at the VM's rate; the preemption
    // notices and the backoffs between attempts (3 min in all) are not run time.
    const startedAt = Date.parse(done.startedAt as string);
    const finishedAt = Date.parse(done.finishedAt as string);
    const cost = done.cost as { amount: number; currency: string };
    expect(cost).toEqual({ amount: 0.146667, currency: 'USD', source: 'estimate' });
    expect(cost.amount).toBeCloseTo((RATE * (3600 + 1800 + 1200)) / 3600, 6);
    expect((finishedAt - startedAt) / 1000).toBe(3600 + 1800 + 1200 + 180);

    // Slack: the start, a reply per preemption and the end, all in the run's thread.
    const messages = slackState(sandbox).messages;
    const thread = messages.find((m) => m.text.includes(`Run ${runId}`) && !m.threadTs)!.ts;
    expect(messages.filter((m) => m.threadTs === thread).map((m) => m.text)).toEqual([
      `Run ${runId} of nightly-categories: preempted after 1 h 0 m in us-east1-b; resuming, attempt 2 of 3`,
      `Run ${runId} of nightly-categories: preempted after 30 m in us-east1-b; resuming, attempt 3 of 3`,
      expect.stringMatching(
        new RegExp(`^Run ${runId} of nightly-categories \\(target all\\) SUCCEEDED`),
      ),
    ]);

    // The ledger: two preemptions of the run, and run_attempts agreeing with the run.
    const rows = await queryLedger(
      sandbox,
      `SELECT run_id, attempt, lost_seconds, CAST(lost_cost AS STRING) AS lost_cost, seen_by
       FROM costguard.preemption_events ORDER BY preempted_at`,
    );
    expect(rows).toEqual([
      { run_id: runId, attempt: 1, lost_seconds: 3600, lost_cost: '0.080000000', seen_by: 'event' },
      { run_id: runId, attempt: 2, lost_seconds: 1800, lost_cost: '0.040000000', seen_by: 'event' },
    ]);
    const [attempts] = await queryLedger(
      sandbox,
      `SELECT status, attempts, preemptions, lost_hours, CAST(total_cost AS STRING) AS total_cost
       FROM costguard.run_attempts WHERE run_id = '${runId}'`,
    );
    expect(attempts).toMatchObject({
      status: 'SUCCEEDED',
      attempts: 3,
      preemptions: 2,
      lost_hours: 1.5,
    });
    expect(Number(attempts!.total_cost)).toBeCloseTo(cost.amount, 6);
  });

  it('stays cancelled when cancelled during the backoff: the VM is not started again', async () => {
    planBatchRun(sandbox, VM, { outcome: 'preempt', afterSeconds: 600 });
    const started = await api.call('POST', '/runs', {
      body: { pipeline: 'nightly-categories', target: 'all' },
    });
    const runId = started.body.runId as string;
    await advance(600 + 30);
    expect((await api.call('GET', `/runs/${runId}`)).body).toMatchObject({
      status: 'PREEMPTED_RETRYING',
    });
    const before = starts();

    const cancelled = await api.call('POST', `/runs/${runId}:cancel`);
    await advance(120);
    const after = (await api.call('GET', `/runs/${runId}`)).body;

    expect(cancelled.status).toBe(202);
    expect(after).toMatchObject({ status: 'CANCELLED', attempt: 1 });
    expect(starts()).toBe(before);
    const vm = sandbox.fleet.get(VM.project, VM.zone, VM.name)!;
    expect(vm.status).toBe('TERMINATED');
    expect(vm.metadata.some((i) => i.key === 'costguard-run-id')).toBe(false);
  });

  it('attributes nothing to a run from another VM that carries a copy of its label', async () => {
    // Prepare: a running run, and another Spot VM whose owner copied its costguard-run label.
    planBatchRun(sandbox, VM, { outcome: 'succeed', afterSeconds: 3600 });
    const started = await api.call('POST', '/runs', {
      body: { pipeline: 'nightly-categories', target: 'all' },
    });
    const runId = started.body.runId as string;
    await advance(600);
    const other = sandbox.fleet.get('data-pipelines', 'us-east1-c', 'batch-runner-busy')!;
    other.labels = { ...other.labels, 'costguard-run': runId };

    // Act: the other VM is preempted.
    const response = await fetch(`${sandbox.url}/_sandbox/compute/preempt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ project: other.project, zone: other.zone, name: other.name }),
    });
    expect(response.status).toBe(200);
    await advance(30);

    // Assess: its preemption is recorded for no run, and the run goes on untouched.
    const recorded = await queryLedger(
      sandbox,
      `SELECT instance_name, run_id FROM costguard.preemptions WHERE instance_name = '${other.name}'`,
    );
    expect(recorded).toEqual([{ instance_name: other.name, run_id: null }]);
    expect((await api.call('GET', `/runs/${runId}`)).body).toMatchObject({
      status: 'RUNNING',
      attempt: 1,
    });
  });
});

/** The run's latest snapshot as the ledger holds it, read without looking at the run. */
const latest = async (runId: string) =>
  (
    await queryLedger(
      sandbox,
      `SELECT status, IFNULL(attempt, 1) AS attempt FROM costguard.runs WHERE run_id = '${runId}'
       QUALIFY ROW_NUMBER() OVER (ORDER BY IFNULL(attempt, 1) DESC, event_seq DESC, recorded_at DESC) = 1`,
    )
  )[0];
const tick = () =>
  fetch(`${recordPreemption.url}projects/ops-costguard/topics/costguard-preemptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(
      pushBody(RESUME_JOB.message, 'ops-costguard', 'costguard-preemptions', {
        attributes: {},
        publishTime: sandbox.clock.now().toISOString(),
      }),
    ),
  });

describe('a run that no one reads during its backoff', () => {
  it('resumes on the scheduled tick after the backoff, once however often the tick comes or the backstop sees it; a cancel during the backoff wins', async () => {
    // Prepare: the run an earlier test left on the VM ends; deploy's resume job, here every
    // minute; a run preempted after 10 minutes.
    await advance(3600);
    putTopicJob(sandbox, {
      name: RESUME_JOB.name,
      project: 'ops-costguard',
      topic: 'costguard-preemptions',
      everySeconds: 60,
      data: RESUME_JOB.message,
    });
    planBatchRun(sandbox, VM, { outcome: 'preempt', afterSeconds: 600 });
    planBatchRun(sandbox, VM, { outcome: 'preempt', afterSeconds: 600 });
    const started = await api.call('POST', '/runs', {
      body: { pipeline: 'nightly-categories', target: 'all' },
    });
    const runId = started.body.runId as string;
    const before = starts();

    // Act: the preemption and its event; ticks during the backoff; the tick after it; repeats.
    // 30 s into the 60 s backoff it waits, whatever ticks came; two minutes on, one came after it.
    await advance(600 + 30);
    const waiting = await latest(runId);
    await advance(120);
    const resumed = await latest(runId);
    const repeated = [await tick(), await tick()].map((r) => r.status);
    // The hourly backstop then reads the same preemption from Compute's zone operations.
    const backstop = await createPreemptionRecorderFor(
      sandboxRuntime(sandbox, ENV),
      readConfig(commonSettings, ENV),
      fakePrices({ 'c2-standard-8': RATE }),
    ).sweep(new Date(sandbox.clock.nowMs() - 3600_000));

    // Assess: nobody read the run, yet its VM started again once, for attempt 2.
    expect(waiting).toEqual({ status: 'PREEMPTED_RETRYING', attempt: 1 });
    expect(resumed).toEqual({ status: 'RUNNING', attempt: 2 });
    expect(repeated).toEqual([204, 204]);
    expect(backstop).toMatchObject({ recorded: [], resumed: 0 });
    expect(backstop.repeats).toBeGreaterThanOrEqual(1);
    expect(starts()).toBe(before + 1);
    expect(schedulerState(sandbox).deliveries.every((d) => d.status === 204)).toBe(true);

    // The second attempt is preempted too; cancelled during the backoff, the ticks start nothing.
    await advance(600 + 30);
    expect(await latest(runId)).toEqual({ status: 'PREEMPTED_RETRYING', attempt: 2 });
    const cancelled = await api.call('POST', `/runs/${runId}:cancel`);
    await advance(180);
    await tick();

    expect(cancelled.status).toBe(202);
    expect(await latest(runId)).toEqual({ status: 'CANCELLED', attempt: 2 });
    expect(starts()).toBe(before + 1);
    expect(sandbox.fleet.get(VM.project, VM.zone, VM.name)!.status).toBe('TERMINATED');
  });
});

describe('a run whose preemption events are lost', () => {
  it('is noticed on the next tick and resumes, as the event would have it; once with a late event, a reader and repeated ticks at once', async () => {
    // Prepare: no scheduled tick and no sink delivery (the function was down past Pub/Sub's
    // retention); attempts 1 and 2 are preempted after 10 minutes, attempt 3 succeeds.
    await advance(3600);
    schedulerState(sandbox).jobs.delete(RESUME_JOB.name);
    const sinks = loggingState(sandbox).sinks;
    const sink = sinks.get('costguard-preemptions')!;
    sinks.delete('costguard-preemptions');
    planBatchRun(sandbox, VM, { outcome: 'preempt', afterSeconds: 600 });
    planBatchRun(sandbox, VM, { outcome: 'preempt', afterSeconds: 600 });
    planBatchRun(sandbox, VM, { outcome: 'succeed', afterSeconds: 600 });
    const started = await api.call('POST', '/runs', {
      body: { pipeline: 'nightly-categories', target: 'all' },
    });
    const runId = started.body.runId as string;
    const entries = loggingState(sandbox).entries.length;
    const deliverLate = (entry: Record<string, unknown>) =>
      fetch(`${recordPreemption.url}projects/data-pipelines/topics/costguard-preemptions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(sinkPushBody(entry, 'data-pipelines', 'costguard-preemptions')),
      });
    const before = starts();

    // Act 1: attempt 1 preempted, its event lost; past the backoff, the tick alone.
    await advance(600 + 30 + 60);
    const unnoticed = await latest(runId);
    const first = await tick();
    const afterFirst = { run: await latest(runId), starts: starts() - before };
    // Its event arrives after all, once the run is on attempt 2.
    const lateFirst = await deliverLate(loggingState(sandbox).entries[entries]!);

    // Act 2: attempt 2 preempted, its event lost; past the backoff, the tick, the event delivered
    // late and a reader at once; then the tick again.
    await advance(600 + 30 + 60);
    sinks.set('costguard-preemptions', sink);
    const [ticked, late, read] = await Promise.all([
      tick(),
      deliverLate(loggingState(sandbox).entries[entries + 1]!),
      api.call('GET', `/runs/${runId}`),
    ]);
    const again = await tick();
    const afterSecond = { run: await latest(runId), starts: starts() - before };
    await advance(600 + 5);
    await tick();

    // Assess: nobody had noticed the first preemption until the tick resumed the run; the VM
    // started once per attempt, and attempt 3 finished.
    expect(unnoticed).toEqual({ status: 'RUNNING', attempt: 1 });
    expect(first.status).toBe(204);
    expect(afterFirst).toEqual({ run: { status: 'RUNNING', attempt: 2 }, starts: 1 });
    expect([lateFirst.status, ticked.status, late.status, again.status, read.status]).toEqual([
      204, 204, 204, 204, 200,
    ]);
    expect(afterSecond).toEqual({ run: { status: 'RUNNING', attempt: 3 }, starts: 2 });
    expect(await latest(runId)).toEqual({ status: 'SUCCEEDED', attempt: 3 });
    // Slack: a reply per preemption and the end in the run's thread, as with the events. A reader
    // in another function instance noticing at the same moment as the tick may post a reply twice.
    const messages = slackState(sandbox).messages;
    const thread = messages.find((m) => m.text.includes(`Run ${runId}`) && !m.threadTs)!.ts;
    const replies = messages.filter((m) => m.threadTs === thread).map((m) => m.text);
    expect([...new Set(replies)]).toEqual([
      `Run ${runId} of nightly-categories: preempted after 10 m in us-east1-b; resuming, attempt 2 of 3`,
      `Run ${runId} of nightly-categories: preempted after 10 m in us-east1-b; resuming, attempt 3 of 3`,
      expect.stringMatching(
        new RegExp(`^Run ${runId} of nightly-categories \\(target all\\) SUCCEEDED`),
      ),
    ]);
    // The late events still record their preemptions, once each, for the attempts they cut
    // short.
    const rows = await queryLedger(
      sandbox,
      `SELECT attempt, lost_seconds, seen_by FROM costguard.preemption_events
       WHERE run_id = '${runId}' ORDER BY preempted_at`,
    );
    expect(rows).toEqual([
      { attempt: 1, lost_seconds: 600, seen_by: 'event' },
      { attempt: 2, lost_seconds: 600, seen_by: 'event' },
    ]);
  });
});
