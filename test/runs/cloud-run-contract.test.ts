import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunJobs } from '../../functions/adapters/run-jobs.js';
import { addCloudRunJob, planNextExecution } from '../../functions/sandbox/routes/cloud-run.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';

// The real @google-cloud/run clients against the sandbox's Cloud Run routes.
const JOB = 'projects/data-pipelines/locations/us-central1/jobs/bqx-ml-pipeline';

describe('Cloud Run Jobs contract', () => {
  let sandbox: Sandbox;
  let runtime: ReturnType<typeof sandboxRuntime>;
  let jobs: RunJobs;

  beforeEach(async () => {
    sandbox = await startTestSandbox('fleets/runs.json');
    addCloudRunJob(sandbox, {
      project: 'data-pipelines',
      region: 'us-central1',
      name: 'bqx-ml-pipeline',
      durationSeconds: 600,
      timeoutSeconds: 3600,
      env: { TARGET_PAIR: 'eurusd' },
    });
    runtime = sandboxRuntime(sandbox);
    jobs = new RunJobs(
      {
        jobs: () => runtime.clients.runJobs(),
        executions: () => runtime.clients.runExecutions(),
        tasks: () => runtime.clients.runTasks(),
      },
      { logger: runtime.logger, retry: { baseDelayMs: 1 } },
    );
  });
  afterEach(() => sandbox.close());

  const request = (runId: string, timeoutSeconds = 1800) => ({
    job: JOB,
    env: { COSTGUARD_RUN_ID: runId, TARGET_PAIR: 'gbpusd' },
    timeoutSeconds,
    marker: { name: 'COSTGUARD_RUN_ID', value: runId },
  });

  it('runs a job with env overrides and a timeout; the operation metadata is the execution', async () => {
    // Act
    const started = await jobs.run(request('run-aaaaaaaaaaaaaaaaaaaa'));

    // Assess
    expect(started.name).toMatch(new RegExp(`^${JOB}/executions/bqx-ml-pipeline-[0-9a-f]{5}$`));
    expect(started).toMatchObject({
      running: 1,
      succeeded: 0,
      completion: { state: 'CONDITION_PENDING' },
      env: { COSTGUARD_RUN_ID: 'run-aaaaaaaaaaaaaaaaaaaa', TARGET_PAIR: 'gbpusd' },
    });
    expect(started.createdAt?.toISOString()).toBe('2026-11-20T00:00:00.000Z');
    expect(sandbox.calls.map((c) => c.route)).toEqual(['run.executions.list', 'run.jobs.run']);
    expect(sandbox.calls.every((c) => !c.authorization)).toBe(true);
  });

  it.each([
    {
      outcome: 'succeed',
      durationSeconds: 600,
      state: 'CONDITION_SUCCEEDED',
      reason: undefined,
      message: /completed successfully/,
    },
    {
      outcome: 'fail',
      durationSeconds: 600,
      state: 'CONDITION_FAILED',
      reason: 'NON_ZERO_EXIT_CODE',
      message: /container exited with an error/,
    },
    {
      outcome: 'hang',
      durationSeconds: 600,
      state: 'CONDITION_FAILED',
      reason: undefined,
      message: /configured timeout was reached/,
    },
  ] as const)(
    'reports an execution that was planned to $outcome through getExecution (enums as numbers on the wire)',
    async ({ outcome, durationSeconds, state, reason, message }) => {
      planNextExecution(sandbox, JOB, { outcome, durationSeconds });
      const started = await jobs.run(request('run-bbbbbbbbbbbbbbbbbbbb'));

      sandbox.clock.advance(1800_000);
      const done = await jobs.get(started.name);

      expect(done?.completion).toEqual({ state, reason, message: expect.stringMatching(message) });
      expect(done?.completedAt).toBeDefined();
      expect(done?.running).toBe(0);
    },
  );

  it('reads each retry of a failed task: the attempt, the attempts allowed and the last exit code', async () => {
    // Prepare: the job's task (maxRetries 3 by default) exits with 1 twice, then succeeds.
    planNextExecution(sandbox, JOB, {
      outcome: 'succeed',
      durationSeconds: 600,
      failedAttempts: 2,
    });
    const started = await jobs.run(request('run-cccccccccccccccccccc'));
    const seen: Array<{ retried: number; attempts: unknown }> = [];

    // Act: the execution and its tasks after each attempt.
    for (const minutes of [5, 10, 10, 10]) {
      sandbox.clock.advance(minutes * 60_000);
      const execution = (await jobs.get(started.name))!;
      seen.push({
        retried: execution.retriedTasks,
        attempts: execution.retriedTasks > 0 ? await jobs.taskAttempts(started.name) : undefined,
      });
    }

    // Assess
    expect(seen).toEqual([
      { retried: 0, attempts: undefined },
      { retried: 1, attempts: { attempt: 2, maxAttempts: 4, lastExitCode: 1 } },
      { retried: 1, attempts: { attempt: 3, maxAttempts: 4, lastExitCode: 1 } },
      { retried: 1, attempts: { attempt: 3, maxAttempts: 4, lastExitCode: 0 } },
    ]);
    expect((await jobs.get(started.name))?.completion?.state).toBe('CONDITION_SUCCEEDED');
    expect(sandbox.calls.filter((c) => c.route === 'run.tasks.list')).toHaveLength(3);
  });

  it('cancels a running execution, and refuses to cancel it twice', async () => {
    const started = await jobs.run(request('run-cccccccccccccccccccc'));

    await jobs.cancel(started.name);
    const cancelled = await jobs.get(started.name);

    expect(cancelled).toMatchObject({
      cancelled: 1,
      completion: { state: 'CONDITION_FAILED', reason: 'CANCELLED' },
    });
    await expect(jobs.cancel(started.name)).rejects.toMatchObject({ code: 400 });
  });

  it('finds an execution by its run marker, newest first, and none for an unknown run', async () => {
    const first = await jobs.run(request('run-dddddddddddddddddddd'));
    sandbox.clock.advance(60_000);
    const second = await jobs.run(request('run-eeeeeeeeeeeeeeeeeeee'));

    expect((await jobs.findByEnv(JOB, 'COSTGUARD_RUN_ID', 'run-dddddddddddddddddddd'))?.name).toBe(
      first.name,
    );
    expect((await jobs.findByEnv(JOB, 'COSTGUARD_RUN_ID', 'run-eeeeeeeeeeeeeeeeeeee'))?.name).toBe(
      second.name,
    );
    expect(
      await jobs.findByEnv(JOB, 'COSTGUARD_RUN_ID', 'run-ffffffffffffffffffff'),
    ).toBeUndefined();
  });

  it('does not start a second execution when runJob is retried after a failure that landed', async () => {
    // The first attempt reaches Cloud Run, but the caller sees a 503.
    const client = await runtime.clients.runJobs();
    await client.runJob({
      name: JOB,
      overrides: {
        containerOverrides: [
          { env: [{ name: 'COSTGUARD_RUN_ID', value: 'run-1111111111111111aaaa' }] },
        ],
      },
    });
    sandbox.faults.set('run.jobs.run', { fail: { count: 1, status: 503 } });

    const execution = await jobs.run(request('run-1111111111111111aaaa'));

    expect(execution.env.COSTGUARD_RUN_ID).toBe('run-1111111111111111aaaa');
    expect(sandbox.calls.map((c) => [c.route, c.status])).toEqual([
      ['run.jobs.run', 200],
      ['run.executions.list', 200],
    ]);
  });

  it('reads the runJob operation through the operations API until the execution is done', async () => {
    const client = await runtime.clients.runJobs();
    const [operation] = await client.runJob({ name: JOB });

    const pending = await client.checkRunJobProgress(operation.name ?? '');
    sandbox.clock.advance(600_000);
    const finished = await client.checkRunJobProgress(operation.name ?? '');

    expect(pending.done).toBe(false);
    expect(finished.done).toBe(true);
    expect(sandbox.calls.filter((c) => c.route === 'run.operations.get')).toHaveLength(2);
  });

  it('answers 404 for a job the project does not have', async () => {
    await expect(
      jobs.run({
        ...request('run-2222222222222222aaaa'),
        job: 'projects/data-pipelines/locations/us-central1/jobs/nope',
      }),
    ).rejects.toMatchObject({ code: 404 });
  });
});
