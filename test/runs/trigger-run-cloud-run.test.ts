import { describe, expect, it } from 'vitest';
import {
  cloudRunState,
  planNextExecution,
  type ExecutionPlan,
} from '../../functions/sandbox/routes/cloud-run.js';
import { slackState } from '../../functions/sandbox/routes/slack.js';
import { commonAdapters } from '../../functions/adapters/runtime.js';
import { commonSettings, readConfig } from '../../functions/core/config.js';
import { RunLedger } from '../../functions/runs/run-ledger.js';
import { queryLedger } from '../recorder/recorder-sandbox.js';
import { forwardedToken, runRows, useTriggerRun } from '../support/runs.js';

// triggerRun end to end on the Cloud Run Job executor, through the real @google-cloud/run clients.
const JOB = 'projects/data-pipelines/locations/us-central1/jobs/bqx-ml-pipeline';
const START = {
  pipeline: 'feature-extraction',
  target: 'extract',
  params: { TARGET_PAIR: 'gbpusd', WORKERS: '8' },
};
const CAROL = { authorization: forwardedToken({ email: 'carol@example.com' }) };
const MINUTE = 60_000;

describe('triggerRun on a Cloud Run Job', () => {
  const runs = useTriggerRun('test');

  const start = (body: unknown = START, headers: Record<string, string> = CAROL) =>
    runs.api.call('POST', '/runs', { body, headers });
  const executions = () => [...cloudRunState(runs.sandbox).executions.values()];

  it('returns the same run and starts no second execution when a start whose record failed is repeated', async () => {
    const key = { ...CAROL, 'idempotency-key': 'nightly-2026-11-20' };
    // The run's first ledger write lands; the second (after the execution started) does not.
    runs.sandbox.faults.set('bigquery.tabledata.insertAll', {
      fail: { count: 10, status: 503, after: 1 },
    });
    const failed = await start(START, key);
    expect(failed.status).toBe(503);
    expect(executions()).toHaveLength(1);

    runs.sandbox.faults.clear();
    const repeated = await start(START, key);
    expect(repeated.status).toBe(202);
    expect(executions()).toHaveLength(1);
    expect(repeated.body.execution).toBe(executions()[0]?.name);
  });

  it('starts an execution with the run variables, the allowed overrides and the run timeout', async () => {
    // Act
    const reply = await start();

    // Assess
    const runId = reply.body.runId as string;
    expect(reply.status).toBe(202);
    expect(reply.body).toMatchObject({
      executor: 'cloud-run-job',
      status: 'RUNNING',
      params: { TARGET_PAIR: 'gbpusd', WORKERS: '8' },
      caller: 'carol@example.com',
      deadline: '2026-11-20T02:00:00.000Z',
      execution: expect.stringMatching(
        new RegExp(`^${JOB}/executions/bqx-ml-pipeline-[0-9a-f]{5}$`),
      ),
      logs: { buildLog: null, execution: expect.stringContaining('console.cloud.google.com/logs') },
      cost: null,
    });
    expect(executions()).toHaveLength(1);
    expect(Object.fromEntries(executions()[0]!.env.map((e) => [e.name, e.value]))).toEqual({
      TARGET_PAIR: 'gbpusd',
      WORKERS: '8',
      COSTGUARD_RUN_ID: runId,
      COSTGUARD_TARGET: 'extract',
      COSTGUARD_RESULTS_PREFIX: `gs://costguard-batch-results/results/${runId}/`,
    });
    expect(executions()[0]?.timeoutSeconds).toBe(7200);
    expect(slackState(runs.sandbox).messages[0]?.text).toBe(
      `Run ${runId} of feature-extraction (target extract) started by carol@example.com on ${JOB}`,
    );
    expect((await runRows(runs.api, runId)).map((r) => [r.event, r.status, r.execution])).toEqual([
      ['requested', 'STARTING', null],
      ['started', 'RUNNING', reply.body.execution],
    ]);
  });

  it.each<{
    expected: string;
    plan: ExecutionPlan;
    minutes: number;
    fields: Record<string, unknown>;
  }>([
    {
      expected: 'SUCCEEDED',
      plan: { outcome: 'succeed', durationSeconds: 4800 },
      minutes: 90,
      fields: { finishedAt: '2026-11-20T01:20:00.000Z', detail: null },
    },
    {
      expected: 'FAILED',
      plan: { outcome: 'fail', durationSeconds: 300 },
      minutes: 10,
      fields: {
        finishedAt: '2026-11-20T00:05:00.000Z',
        detail: expect.stringMatching(/container exited with an error/),
      },
    },
    {
      expected: 'TIMED_OUT',
      plan: { outcome: 'hang', durationSeconds: 60 },
      minutes: 150,
      fields: {
        finishedAt: '2026-11-20T02:00:00.000Z',
        detail: expect.stringMatching(/configured timeout was reached/),
      },
    },
  ])('reports $expected from the execution, once', async ({ expected, plan, minutes, fields }) => {
    planNextExecution(runs.sandbox, JOB, plan);
    const runId = (await start()).body.runId as string;

    runs.sandbox.clock.advance(minutes * MINUTE);
    const reply = await runs.api.call('GET', `/runs/${runId}`);
    const again = await runs.api.call('GET', `/runs/${runId}`);

    expect(reply.body).toMatchObject({ status: expected, ...fields });
    expect(again.body).toEqual(reply.body);
    expect((await runRows(runs.api, runId)).map((r) => r.status)).toEqual([
      'STARTING',
      'RUNNING',
      expected,
    ]);
    const [announced, outcome] = slackState(runs.sandbox).messages;
    expect(outcome?.threadTs).toBe(announced?.ts);
    expect(outcome?.text).toContain(` ${expected}`);
  });

  it('counts each retry of the failed task as an attempt: status, ledger, run_attempts and a reply per retry', async () => {
    // Prepare: the task exits with 1 twice (Cloud Run retries it, maxRetries 3), then succeeds.
    planNextExecution(runs.sandbox, JOB, {
      outcome: 'succeed',
      durationSeconds: 1200,
      failedAttempts: 2,
    });
    const runId = (await start()).body.runId as string;

    // Act: looks during the second attempt, then after the third one ends.
    runs.sandbox.clock.advance(25 * MINUTE);
    const during = await runs.api.call('GET', `/runs/${runId}`);
    runs.sandbox.clock.advance(40 * MINUTE);
    const done = await runs.api.call('GET', `/runs/${runId}`);
    const again = await runs.api.call('GET', `/runs/${runId}`);

    // Assess
    expect(during.body).toMatchObject({ status: 'RUNNING', attempt: 2 });
    expect(done.body).toMatchObject({
      status: 'SUCCEEDED',
      attempt: 3,
      finishedAt: '2026-11-20T01:00:00.000Z',
    });
    expect(again.body).toEqual(done.body);
    expect(
      (await runRows(runs.api, runId)).map((r) => [r.event, r.status, r.attempt ?? 1]),
    ).toEqual([
      ['requested', 'STARTING', 1],
      ['started', 'RUNNING', 1],
      ['observed', 'RUNNING', 2],
      ['observed', 'SUCCEEDED', 3],
    ]);
    const [attempts] = await queryLedger(
      runs.sandbox,
      `SELECT status, attempts, preemptions FROM costguard.run_attempts WHERE run_id = '${runId}'`,
    );
    expect(attempts).toMatchObject({ status: 'SUCCEEDED', attempts: 3, preemptions: 0 });
    const [announced, ...thread] = slackState(runs.sandbox).messages;
    expect(thread.map((m) => [m.threadTs, m.text])).toEqual([
      [
        announced?.ts,
        `Run ${runId} of feature-extraction: its task failed (exit code 1); Cloud Run retries it, attempt 2 of 4`,
      ],
      [
        announced?.ts,
        // Seen after the third attempt succeeded: the second one's exit code is not known.
        `Run ${runId} of feature-extraction: its task failed; Cloud Run retries it, attempt 3 of 4`,
      ],
      [
        announced?.ts,
        expect.stringMatching(new RegExp(`^Run ${runId} .* SUCCEEDED after 1 h 0 min`)),
      ],
    ]);
  });

  it('cancels the execution and refuses a second cancel', async () => {
    const runId = (await start()).body.runId as string;
    runs.sandbox.clock.advance(10 * MINUTE);

    const cancelled = await runs.api.call('POST', `/runs/${runId}:cancel`, { headers: CAROL });
    const again = await runs.api.call('POST', `/runs/${runId}:cancel`);
    runs.sandbox.clock.advance(120 * MINUTE);
    const later = await runs.api.call('GET', `/runs/${runId}`);

    expect(cancelled.status).toBe(202);
    expect(cancelled.body).toMatchObject({
      status: 'CANCELLED',
      detail: 'cancelled by carol@example.com',
    });
    expect(executions()[0]?.state).toBe('cancelled');
    expect(again.status).toBe(409);
    expect(later.body.status).toBe('CANCELLED');
    expect(runs.sandbox.calls.filter((c) => c.route === 'run.executions.cancel')).toHaveLength(1);
  });

  it('runs executions side by side (a job is never busy)', async () => {
    const first = await start();
    const second = await start({ ...START, params: { TARGET_PAIR: 'usdjpy' } });

    expect([first.status, second.status]).toEqual([202, 202]);
    expect(executions()).toHaveLength(2);
  });

  it('returns the same execution for a repeated Idempotency-Key', async () => {
    const headers = { ...CAROL, 'idempotency-key': 'extract-gbpusd-2026-11-20' };
    const first = await start(START, headers);
    runs.sandbox.clock.advance(MINUTE);
    const second = await start(START, headers);

    expect(second.body.runId).toBe(first.body.runId);
    expect(second.body.execution).toBe(first.body.execution);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(executions()).toHaveLength(1);
  });

  it("never replays another caller's run for the same Idempotency-Key: each caller gets its own", async () => {
    const key = 'extract-gbpusd-2026-11-21';
    const carols = await start(START, { ...CAROL, 'idempotency-key': key });

    const bobs = await start(START, {
      authorization: forwardedToken({ email: 'bob@example.com' }),
      'idempotency-key': key,
    });

    expect([carols.status, bobs.status]).toEqual([202, 202]);
    expect(bobs.body.runId).not.toBe(carols.body.runId);
    expect(bobs.body.caller).toBe('bob@example.com');
    expect(bobs.headers.get('idempotent-replayed')).toBeNull();
    expect(executions()).toHaveLength(2);
  });

  it('finds the execution by its run id when the start was cut off before the execution was recorded', async () => {
    // Prepare: the run was recorded as STARTING and runJob landed, but the reply never came back.
    const runId = 'run-5555555555555555aaaa';
    const ledger = new RunLedger(
      commonAdapters(runs.api.runtime, readConfig(commonSettings, runs.api.runtime.env)).ledger,
      runs.sandbox.clock,
    );
    await ledger.append(
      {
        runId,
        pipeline: 'feature-extraction',
        executor: 'cloud-run-job',
        target: 'extract',
        params: {},
        status: 'STARTING',
        caller: 'carol@example.com',
        idempotencyKey: undefined,
        requestHash: 'h',
        resource: `job:${JOB}`,
        requestedAt: runs.sandbox.clock.now(),
        startedAt: undefined,
        finishedAt: undefined,
        deadline: new Date(runs.sandbox.clock.now().getTime() + 2 * 3600_000),
        execution: undefined,
        resultsPrefix: undefined,
        logsUri: undefined,
        exitMarker: undefined,
        detail: undefined,
        cost: undefined,
        slackChannel: undefined,
        slackTs: undefined,
      },
      'requested',
    );
    const client = await runs.api.runtime.clients.runJobs();
    await client.runJob({
      name: JOB,
      overrides: { containerOverrides: [{ env: [{ name: 'COSTGUARD_RUN_ID', value: runId }] }] },
    });

    // Act
    const reply = await runs.api.call('GET', `/runs/${runId}`);

    // Assess
    expect(reply.body).toMatchObject({ status: 'RUNNING', execution: executions()[0]?.name });
    expect((await runRows(runs.api, runId)).map((r) => [r.status, r.execution])).toEqual([
      ['STARTING', null],
      ['RUNNING', executions()[0]?.name],
    ]);
  });
});
