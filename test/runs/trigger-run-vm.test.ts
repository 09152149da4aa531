import { describe, expect, it } from 'vitest';
import { commonAdapters } from '../../functions/adapters/runtime.js';
import { commonSettings, readConfig } from '../../functions/core/config.js';
import { ObjectStore } from '../../functions/adapters/storage.js';
import { readTriggerRunConfig, type VmPipeline } from '../../functions/runs/config.js';
import { requestIdFor } from '../../functions/runs/run-id.js';
import { RunLedger } from '../../functions/runs/run-ledger.js';
import { VmExecutor } from '../../functions/runs/vm-executor.js';
import { batchVmState, planBatchRun, type BatchRunPlan } from '../../functions/sandbox/batch-vm.js';
import { slackState } from '../../functions/sandbox/routes/slack.js';
import { putObject } from '../../functions/sandbox/routes/storage.js';
import {
  forwardedToken,
  runRows,
  runsEnv,
  serveTriggerRun,
  useTriggerRun,
} from '../support/runs.js';

// triggerRun end to end on the batch VM executor: the entry built from its settings, served by
// the Functions Framework, talking to the sandbox through the real client libraries.
const VM = { project: 'data-pipelines', zone: 'us-east1-b', name: 'batch-runner' };
const ALICE = { authorization: forwardedToken({ email: 'alice@example.com', sub: '1077' }) };
const START = { pipeline: 'nightly-categories', target: 'd_anchor_category' };
const MINUTE = 60_000;

describe('triggerRun on the batch VM', () => {
  const runs = useTriggerRun('test');

  const vm = () => runs.sandbox.fleet.get(VM.project, VM.zone, VM.name)!;
  const mutations = () =>
    runs.sandbox.calls
      .filter((c) => c.method === 'POST' && c.route.startsWith('compute.instances.'))
      .map((c) => c.route.replace('compute.instances.', ''));
  const start = async (body: unknown = START, headers: Record<string, string> = ALICE) =>
    runs.api.call('POST', '/runs', { body, headers });
  const status = async (runId: unknown) => runs.api.call('GET', `/runs/${String(runId)}`);

  it('starts a run: fixed metadata keys merged, run label, maxRunDuration, start; recorded and announced', async () => {
    // Act
    const reply = await start();

    // Assess
    const runId = reply.body.runId as string;
    expect(reply.status).toBe(202);
    expect(reply.headers.get('location')).toBe(`/runs/${runId}`);
    expect(reply.body).toMatchObject({
      runId: expect.stringMatching(/^run-[0-9a-f]{20}$/),
      pipeline: 'nightly-categories',
      target: 'd_anchor_category',
      status: 'RUNNING',
      caller: 'alice@example.com',
      requestedAt: '2026-11-20T00:00:00.000Z',
      deadline: '2026-11-20T04:00:00.000Z',
      resultsPrefix: `gs://costguard-batch-results/results/${runId}/`,
      statusUrl: `/runs/${runId}`,
    });
    // The simulated VM read the run keys at boot and, as the script, wrote nothing back.
    expect(batchVmState(runs.sandbox).runs).toEqual([
      expect.objectContaining({
        runId,
        target: 'd_anchor_category',
        resultsPrefix: `gs://costguard-batch-results/results/${runId}/`,
      }),
    ]);
    // Claim and run keys stay: the VM writes nothing to Compute; the next start replaces them.
    expect(Object.fromEntries(vm().metadata.map((i) => [i.key, i.value]))).toEqual({
      'startup-script-url': 'gs://costguard-batch-results/deploy/startup.sh',
      'costguard-source': 'gs://costguard-batch-results/src/pipeline.tar.gz',
      'enable-oslogin': 'TRUE',
      'costguard-claim': `${runId} 2026-11-20T00:00:00.000Z`,
      'costguard-run-id': runId,
      'costguard-target': 'd_anchor_category',
      'costguard-results-prefix': `gs://costguard-batch-results/results/${runId}/`,
      'costguard-deadline': '1795147200',
      'costguard-telemetry-interval': '60',
    });
    expect(vm().status).toBe('RUNNING');
    expect(vm().labels).toEqual({
      team: 'data',
      app: 'pipeline',
      cost_center: 'cc-200',
      priority: 'medium',
      'costguard-run': runId,
    });
    expect(vm().maxRunDurationSeconds).toBe(4 * 3600);
    expect(vm().terminationAction).toBe('STOP');
    expect(mutations()).toEqual(['setMetadata', 'setLabels', 'setScheduling', 'start']);
    const startOp = runs.sandbox.fleet.operations.find((o) => o.operationType === 'start');
    expect(startOp?.requestId).toBe(requestIdFor(runId, 'start'));

    const rows = await runRows(runs.api, runId);
    expect(rows.map((r) => [r.event, r.status, r.caller])).toEqual([
      ['requested', 'STARTING', 'alice@example.com'],
      ['started', 'RUNNING', 'alice@example.com'],
    ]);
    const messages = slackState(runs.sandbox).messages;
    expect(messages).toHaveLength(1);
    expect(messages[0]?.text).toBe(
      `Run ${runId} of nightly-categories (target d_anchor_category) started by alice@example.com on data-pipelines/us-east1-b/batch-runner`,
    );
  });

  it.each<{
    expected: string;
    plan: BatchRunPlan;
    minutes: number;
    fields: Record<string, unknown>;
  }>([
    {
      expected: 'SUCCEEDED',
      plan: { outcome: 'succeed', afterSeconds: 1800 },
      minutes: 45,
      fields: {
        exitMarker: '_SUCCESS',
        finishedAt: '2026-11-20T00:30:00.000Z',
        detail: null,
        cost: { amount: 0.04, currency: 'USD', source: 'estimate' },
      },
    },
    {
      expected: 'FAILED',
      plan: { outcome: 'fail', afterSeconds: 600 },
      minutes: 45,
      fields: {
        exitMarker: 'startup_error.txt',
        finishedAt: '2026-11-20T00:10:00.000Z',
        detail: 'make -- d_anchor_category failed with exit code 2',
        cost: { amount: 0.013333, currency: 'USD', source: 'estimate' },
      },
    },
    {
      expected: 'PREEMPTED',
      plan: { outcome: 'preempt', afterSeconds: 3600 },
      minutes: 90,
      fields: { exitMarker: null, finishedAt: '2026-11-20T01:00:00.000Z', detail: null },
    },
    {
      expected: 'TIMED_OUT',
      plan: { outcome: 'hang', afterSeconds: 60 },
      minutes: 300,
      fields: {
        exitMarker: null,
        finishedAt: '2026-11-20T04:00:00.000Z',
        detail: 'the VM was stopped at the run deadline (maxRunDuration)',
        cost: { amount: 0.32, currency: 'USD', source: 'estimate' },
      },
    },
  ])(
    'reports $expected from the VM, its markers and preemptions, once, with Slack in the thread',
    async ({ expected, plan, minutes, fields }) => {
      // Prepare
      planBatchRun(runs.sandbox, VM, plan);
      const runId = (await start()).body.runId as string;

      // Act
      const early = await status(runId);
      runs.sandbox.clock.advance(minutes * MINUTE);
      const askedBefore = runs.api.prices.asked.length;
      const late = await status(runId);
      const askedAtEnd = runs.api.prices.asked.slice(askedBefore);
      const again = await status(runId);

      // Assess
      expect(early.body.status).toBe('RUNNING');
      expect(late.status).toBe(200);
      expect(late.body).toMatchObject({ status: expected, ...fields });
      expect(again.body).toEqual(late.body);
      // The read that notices the end prices the run once, and the cost it recorded is the one shown.
      expect(askedAtEnd).toEqual([expect.objectContaining({ machineType: 'c2-standard-8' })]);
      expect(vm().status).toBe('TERMINATED');
      const rows = await runRows(runs.api, runId);
      expect(rows.map((r) => r.status)).toEqual(['STARTING', 'RUNNING', expected]);
      const [announced, outcome] = slackState(runs.sandbox).messages;
      expect(outcome?.threadTs).toBe(announced?.ts);
      expect(outcome?.text).toMatch(
        new RegExp(
          `^Run ${runId} of nightly-categories \\(target d_anchor_category\\) ${expected}`,
        ),
      );
    },
  );

  it('records and announces the end once when reads of the run overlap', async () => {
    planBatchRun(runs.sandbox, VM, { outcome: 'succeed', afterSeconds: 1800 });
    const runId = (await start()).body.runId as string;
    runs.sandbox.clock.advance(45 * MINUTE);

    const [one, two, listed] = await Promise.all([
      status(runId),
      status(runId),
      runs.api.call('GET', '/runs?pipeline=nightly-categories&limit=5', { headers: ALICE }),
    ]);

    expect([one.body.status, two.body.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(listed.status).toBe(200);
    expect((await runRows(runs.api, runId)).map((r) => r.status)).toEqual([
      'STARTING',
      'RUNNING',
      'SUCCEEDED',
    ]);
    // One message for the start, one for the end.
    expect(slackState(runs.sandbox).messages).toHaveLength(2);
  });

  it('finds the error marker of a run that uploaded many outputs before it failed', async () => {
    planBatchRun(runs.sandbox, VM, { outcome: 'fail', afterSeconds: 600 });
    const runId = (await start()).body.runId as string;
    for (let i = 0; i < 150; i++) {
      putObject(
        runs.sandbox,
        'costguard-batch-results',
        `results/${runId}/data/part-${String(i).padStart(3, '0')}.parquet`,
        'x',
      );
    }
    runs.sandbox.clock.advance(45 * MINUTE);

    const reply = await status(runId);

    expect(reply.body).toMatchObject({ status: 'FAILED', exitMarker: 'startup_error.txt' });
  });

  it('points at build.log and keeps the head of startup_error.txt as the detail', async () => {
    planBatchRun(runs.sandbox, VM, { outcome: 'fail', afterSeconds: 60 });
    const runId = (await start()).body.runId as string;
    runs.sandbox.clock.advance(5 * MINUTE);

    const reply = await status(runId);

    expect(reply.body.logs).toEqual({
      buildLog: `gs://costguard-batch-results/results/${runId}/build.log`,
      execution: null,
    });
  });

  it('lets no token printed by a build reach the caller, the ledger or Slack', async () => {
    // Prepare: a startup script from before the rule, which appended the end of build.log.
    const token = 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx';
    planBatchRun(runs.sandbox, VM, {
      outcome: 'fail',
      afterSeconds: 60,
      errorText: [
        'run failed while running make -- d_anchor_category (exit code 2)',
        'make -- d_anchor_category exited with status 2',
        '--- last lines of build.log ---',
        `export SLACK_TOKEN=${token}`,
        'curl -H "Authorization: Bearer ya29.a0AfH6SMBxExampleNotReal"',
        '',
      ].join('\n'),
    });
    const runId = (await start()).body.runId as string;
    runs.sandbox.clock.advance(5 * MINUTE);

    // Act
    const reply = await status(runId);

    // Assess
    expect(reply.body).toMatchObject({
      status: 'FAILED',
      detail:
        'run failed while running make -- d_anchor_category (exit code 2)\nmake -- d_anchor_category exited with status 2',
    });
    const seen = JSON.stringify([
      reply.body,
      await runRows(runs.api, runId),
      slackState(runs.sandbox),
    ]);
    expect(seen).not.toContain(token);
    expect(seen).not.toContain('ya29.');
    expect(seen).toContain('exit code 2');
  });

  it('stops a run past its deadline itself when the VM refused maxRunDuration', async () => {
    runs.sandbox.faults.set('compute.instances.setScheduling', {
      fail: { count: 1, status: 400, message: 'maxRunDuration is not supported' },
    });
    planBatchRun(runs.sandbox, VM, { outcome: 'hang', afterSeconds: 60 });
    const started = await start();
    const runId = started.body.runId as string;

    runs.sandbox.clock.advance(5 * 60 * MINUTE);
    const reply = await status(runId);

    expect(started.body.detail).toMatch(/^no maxRunDuration \(.*maxRunDuration is not supported\)/);
    expect(reply.body).toMatchObject({
      status: 'TIMED_OUT',
      detail: 'the run passed its deadline; costguard stopped the VM',
    });
    expect(vm().status).toBe('TERMINATED');
    const stop = runs.sandbox.fleet.operations.find((o) => o.operationType === 'stop');
    expect(stop?.requestId).toBe(requestIdFor(runId, 'timeout'));
    expect((await runRows(runs.api, runId)).map((r) => r.event)).toEqual([
      'requested',
      'started',
      'timed-out',
    ]);
  });

  describe('busy', () => {
    it('refuses a VM that is not TERMINATED, naming the run it carries, and touches nothing', async () => {
      const reply = await start({ pipeline: 'shared-runner', target: 'all' });

      expect(reply.status).toBe(409);
      expect(reply.body).toEqual({
        error: "The pipeline's VM is busy: the VM is RUNNING",
        activeRunId: 'run-0123456789abcdef0123',
      });
      expect(mutations()).toEqual([]);
      expect((await runRows(runs.api)).map((r) => [r.status, r.detail])).toEqual([
        ['REFUSED', 'busy: the VM is RUNNING (run run-0123456789abcdef0123)'],
      ]);
    });

    it('refuses while a run is recorded as active, then starts once that run is noticed to be over', async () => {
      planBatchRun(runs.sandbox, VM, { outcome: 'succeed', afterSeconds: 1800 });
      const first = (await start()).body.runId as string;

      runs.sandbox.clock.advance(10 * MINUTE);
      const refused = await start({ ...START, target: 'all' });
      runs.sandbox.clock.advance(30 * MINUTE);
      const second = await start({ ...START, target: 'all' });

      expect(refused.status).toBe(409);
      expect(refused.body.activeRunId).toBe(first);
      expect(second.status).toBe(202);
      expect((await status(first)).body.status).toBe('SUCCEEDED');
      expect(
        slackState(runs.sandbox).messages.map((m) =>
          m.text
            .split(' ')
            .slice(0, 2)
            .concat(m.text.includes('SUCCEEDED') ? 'SUCCEEDED' : 'started'),
        ),
      ).toEqual([
        ['Run', first, 'started'],
        ['Run', first, 'SUCCEEDED'],
        ['Run', second.body.runId, 'started'],
      ]);
    });

    it('answers 409 when another start claims the VM between read and write (the fingerprint is the lock)', async () => {
      runs.sandbox.faults.set('compute.instances.setMetadata', {
        race: {
          count: 1,
          metadata: { 'costguard-claim': 'run-ffffffffffffffffffff 2026-11-20T00:00:00.000Z' },
        },
      });

      const reply = await start();

      expect(reply.status).toBe(409);
      expect(reply.body).toEqual({
        error: "The pipeline's VM is busy: the VM is claimed by another run",
        activeRunId: 'run-ffffffffffffffffffff',
      });
      expect(mutations()).toEqual(['setMetadata']);
      expect(vm().status).toBe('TERMINATED');
    });
  });

  describe('Idempotency-Key', () => {
    const keyed = { ...ALICE, 'idempotency-key': 'nightly-2026-11-20' };

    it('returns the same run for a repeated request and starts the VM once', async () => {
      const first = await start(START, keyed);
      runs.sandbox.clock.advance(MINUTE);
      const second = await start(START, keyed);

      expect(first.status).toBe(202);
      expect(second.status).toBe(202);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      expect(second.body.runId).toBe(first.body.runId);
      expect(second.body.requestedAt).toBe(first.body.requestedAt);
      expect(mutations()).toEqual(['setMetadata', 'setLabels', 'setScheduling', 'start']);
    });

    it("is the caller's own: another caller's request with the same key is not a replay of the run", async () => {
      const first = await start(START, keyed);
      const bob = {
        authorization: forwardedToken({ email: 'bob@example.com' }),
        'idempotency-key': 'nightly-2026-11-20',
      };

      const other = await start(START, bob);

      expect(first.status).toBe(202);
      // The VM is busy with Alice's run: Bob is told so, and is not handed her run.
      expect(other.status).toBe(409);
      expect(other.headers.get('idempotent-replayed')).toBeNull();
      expect(other.body.runId).toBeUndefined();
      expect(mutations()).toEqual(['setMetadata', 'setLabels', 'setScheduling', 'start']);
    });

    it('refuses the key for a different request with 422', async () => {
      await start(START, keyed);

      const reply = await start({ ...START, target: 'all' }, keyed);

      expect(reply.status).toBe(422);
      expect(reply.body.error).toBe('This Idempotency-Key was used for a different request');
      expect(mutations()).toEqual(['setMetadata', 'setLabels', 'setScheduling', 'start']);
    });

    it('resumes a start that failed transiently when the request is retried with its key', async () => {
      runs.sandbox.faults.set('compute.instances.start', { fail: { count: 4, status: 503 } });
      const failed = await start(START, keyed);
      const retried = await start(START, keyed);

      expect(failed.status).toBe(503);
      expect(retried.status).toBe(202);
      expect(retried.body.status).toBe('RUNNING');
      expect(vm().status).toBe('RUNNING');
      expect(mutations().filter((m) => m === 'setMetadata')).toHaveLength(1);
      expect(runs.sandbox.fleet.operations.filter((o) => o.operationType === 'start')).toHaveLength(
        1,
      );
      expect(batchVmState(runs.sandbox).runs.map((r) => r.runId)).toEqual([retried.body.runId]);
    });
  });

  describe('cancel', () => {
    it('stops the VM, records CANCELLED with the caller, and refuses a second cancel', async () => {
      planBatchRun(runs.sandbox, VM, { outcome: 'succeed', afterSeconds: 3600 });
      const runId = (await start()).body.runId as string;
      runs.sandbox.clock.advance(15 * MINUTE);

      const cancelled = await runs.api.call('POST', `/runs/${runId}:cancel`, {
        headers: { 'x-serverless-authorization': forwardedToken({ email: 'bob@example.com' }) },
      });
      runs.sandbox.clock.advance(60 * MINUTE);
      const again = await runs.api.call('POST', `/runs/${runId}:cancel`);
      const later = await status(runId);

      expect(cancelled.status).toBe(202);
      expect(cancelled.body).toMatchObject({
        status: 'CANCELLED',
        finishedAt: '2026-11-20T00:15:00.000Z',
        detail: 'cancelled by bob@example.com',
        cost: { amount: 0.02, currency: 'USD', source: 'estimate' },
      });
      expect(vm().status).toBe('TERMINATED');
      expect(runs.sandbox.fleet.operations.find((o) => o.operationType === 'stop')?.requestId).toBe(
        requestIdFor(runId, 'cancel'),
      );
      expect(again.status).toBe(409);
      expect(again.body).toEqual({ error: 'The run is not active', runId, status: 'CANCELLED' });
      expect(later.body.status).toBe('CANCELLED');
      expect(slackState(runs.sandbox).messages.at(-1)?.text).toMatch(/CANCELLED after 15 min/);
    });

    it('takes the run keys back from a VM that was claimed but never started, so no boot runs it', async () => {
      const keyed = { ...ALICE, 'idempotency-key': 'cut-off-start' };
      runs.sandbox.faults.set('compute.instances.start', { fail: { count: 4, status: 503 } });
      const failed = await start(START, keyed);
      const runId = (await runRows(runs.api))[0]?.run_id as string;

      const cancelled = await runs.api.call('POST', `/runs/${runId}:cancel`);
      const retried = await start(START, keyed);

      expect(failed.status).toBe(503);
      expect(cancelled.status).toBe(202);
      expect(vm().metadata.map((i) => i.key)).toEqual([
        'startup-script-url',
        'costguard-source',
        'enable-oslogin',
      ]);
      expect(retried.body).toMatchObject({ runId, status: 'CANCELLED' });
      expect(vm().status).toBe('TERMINATED');
      expect(runs.sandbox.fleet.operations.filter((o) => o.operationType === 'start')).toHaveLength(
        0,
      );
    });

    it('answers 404 for a run that does not exist', async () => {
      const reply = await runs.api.call('POST', '/runs/run-00000000000000000000:cancel');

      expect(reply.status).toBe(404);
      expect(mutations()).toEqual([]);
    });
  });

  it('never starts a run twice: a VM that booted for the run since its claim is left alone', async () => {
    planBatchRun(runs.sandbox, VM, { outcome: 'succeed', afterSeconds: 1800 });
    const runId = (await start()).body.runId as string;
    const record = (await new RunLedger(
      commonAdapters(runs.api.runtime, readConfig(commonSettings, runs.api.runtime.env)).ledger,
      runs.sandbox.clock,
    ).latest(runId))!;
    const executor = new VmExecutor(
      readTriggerRunConfig(runs.api.runtime.env).runs.pipelines.get(
        'nightly-categories',
      ) as VmPipeline,
      {
        fleet: commonAdapters(runs.api.runtime, readConfig(commonSettings, runs.api.runtime.env))
          .fleet,
        store: new ObjectStore(() => runs.api.runtime.clients.storage(), {
          logger: runs.api.runtime.logger,
        }),
        clock: runs.sandbox.clock,
        logger: runs.api.runtime.logger,
      },
    );
    const before = mutations().length;

    runs.sandbox.clock.advance(40 * MINUTE);
    const outcome = await executor.start(
      { ...record, status: 'STARTING' },
      { claimed: () => Promise.resolve(), holderActive: () => Promise.resolve(undefined) },
    );

    expect(outcome).toMatchObject({ kind: 'started' });
    expect(mutations()).toHaveLength(before);
    expect(batchVmState(runs.sandbox).runs).toHaveLength(1);
  });

  it('lists recent runs newest first, by pipeline and limit', async () => {
    planBatchRun(runs.sandbox, VM, { outcome: 'succeed', afterSeconds: 600 });
    const first = (await start()).body.runId as string;
    runs.sandbox.clock.advance(20 * MINUTE);
    const refused = await start({ pipeline: 'shared-runner', target: 'all' });
    runs.sandbox.clock.advance(MINUTE);
    const second = (await start({ ...START, target: 'all' })).body.runId as string;

    const all = await runs.api.call('GET', '/runs');
    const one = await runs.api.call('GET', '/runs?pipeline=nightly-categories&limit=1');

    expect(refused.status).toBe(409);
    const listed = all.body.runs as Array<Record<string, unknown>>;
    expect(listed.map((r) => [r.pipeline, r.status])).toEqual([
      ['nightly-categories', 'RUNNING'],
      ['shared-runner', 'REFUSED'],
      ['nightly-categories', 'SUCCEEDED'],
    ]);
    expect(listed[0]?.runId).toBe(second);
    expect(listed[2]?.runId).toBe(first);
    expect((one.body.runs as Array<Record<string, unknown>>).map((r) => r.runId)).toEqual([second]);
  });

  it("takes the cost from its VM's recorded hours, never from a copied label, estimating only the time after them", async () => {
    // Prepare: the hourly recorder's rows for the run's closed hours, one hour written twice,
    // and another VM whose owner copied the run's costguard-run label onto it.
    const { ledger } = commonAdapters(
      runs.api.runtime,
      readConfig(commonSettings, runs.api.runtime.env),
    );
    planBatchRun(runs.sandbox, VM, { outcome: 'succeed', afterSeconds: 9000 });
    const runId = (await start()).body.runId as string;
    const row = (
      vmName: string,
      id: string,
      hour: string,
      cost: string,
      uptime: number,
      recordedAt: string,
    ) => ({
      key: `${vmName}/${hour}/${recordedAt}`,
      row: {
        row_key: `data-pipelines/us-east1-b/${id}/${hour}`,
        usage_hour: hour,
        project_id: 'data-pipelines',
        zone: 'us-east1-b',
        instance_id: id,
        instance_name: vmName,
        uptime_seconds: uptime,
        cost,
        currency: 'USD',
        costguard_run: runId,
        price_source: 'catalog',
        attributes_source: 'compute',
        recorded_at: recordedAt,
      },
    });
    await ledger.insert('spot_costs', [
      row('batch-runner', vm().id, '2026-11-20T00:00:00Z', '0.070', 3300, '2026-11-20T01:10:00Z'),
      row('batch-runner', vm().id, '2026-11-20T00:00:00Z', '0.081', 3600, '2026-11-20T01:40:00Z'),
      row('batch-runner', vm().id, '2026-11-20T01:00:00Z', '0.079', 3600, '2026-11-20T02:10:00Z'),
      row('copied-label', '4242', '2026-11-20T00:00:00Z', '9.000', 3600, '2026-11-20T01:10:00Z'),
      row('copied-label', '4242', '2026-11-20T01:00:00Z', '9.000', 3600, '2026-11-20T02:10:00Z'),
    ]);

    // Act
    runs.sandbox.clock.advance(150 * MINUTE);
    const reply = await status(runId);

    // Assess: the latest version of each of its VM's hours, plus 30 minutes at 0.08/h after them.
    expect(reply.body).toMatchObject({
      status: 'SUCCEEDED',
      cost: { amount: 0.2, currency: 'USD', source: 'recorder+estimate' },
    });
    expect((await runRows(runs.api, runId)).at(-1)?.cost_source).toBe('recorder+estimate');
  });

  it('plans without acting in dry-run mode', async () => {
    const dry = await serveTriggerRun(runs.sandbox, runsEnv({ COSTGUARD_RUNS_DRY_RUN: 'true' }));
    const queries = () =>
      runs.sandbox.calls.filter((c) => c.route.startsWith('bigquery.jobs.')).length;
    try {
      const queriedBefore = queries();
      const reply = await dry.call('POST', '/runs', {
        body: START,
        headers: { ...ALICE, 'idempotency-key': 'nightly-2026-11-20' },
      });

      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        dryRun: true,
        status: 'DRY_RUN',
        caller: 'alice@example.com',
      });
      expect(reply.body.plan).toEqual([
        'set metadata costguard-claim, costguard-run-id, costguard-target, costguard-results-prefix, costguard-deadline, costguard-telemetry-interval on data-pipelines/us-east1-b/batch-runner under its fingerprint',
        `set label costguard-run=${String(reply.body.runId)} on data-pipelines/us-east1-b/batch-runner`,
        'set scheduling.maxRunDuration=14400s (terminationAction STOP) on data-pipelines/us-east1-b/batch-runner',
        `start data-pipelines/us-east1-b/batch-runner with requestId ${requestIdFor(String(reply.body.runId), 'start')}`,
      ]);
      expect(mutations()).toEqual([]);
      expect(vm().status).toBe('TERMINATED');
      // No read: a dry run's random id has no earlier run to look up by its key, and the VM's
      // claim (its metadata), not the ledger, decides whether it is busy.
      expect(queries() - queriedBefore).toBe(0);
      expect((await runRows(dry)).map((r) => r.status)).toEqual(['DRY_RUN']);
    } finally {
      await dry.close();
    }
  });

  it('records a start the VM refuses as FAILED and answers 422', async () => {
    runs.sandbox.faults.set('compute.instances.start', {
      fail: { count: 1, status: 400, message: 'ZONE_RESOURCE_POOL_EXHAUSTED' },
    });

    const reply = await start();

    expect(reply.status).toBe(422);
    expect(reply.body).toMatchObject({ error: 'The run could not be started', status: 'FAILED' });
    expect(String(reply.body.detail)).toContain('ZONE_RESOURCE_POOL_EXHAUSTED');
    expect((await runRows(runs.api)).map((r) => r.event)).toEqual(['requested', 'start-failed']);
  });

  it('records who asked from the forwarded identity token', async () => {
    planBatchRun(runs.sandbox, VM, { outcome: 'succeed', afterSeconds: 60 });
    const withToken = await start(START, {
      authorization: 'Bearer ignored-access-token',
      'x-serverless-authorization': forwardedToken({
        email: 'ci-runner@data-pipelines.iam.gserviceaccount.com',
      }),
    });

    expect(withToken.status).toBe(202);
    expect(withToken.body.caller).toBe('ci-runner@data-pipelines.iam.gserviceaccount.com');
  });
});
