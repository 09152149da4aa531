import { describe, expect, it } from 'vitest';
import { taskAttemptsOf, type ExecutionSummary } from '../../functions/adapters/run-jobs.js';
import { taskRetryReplies } from '../../functions/runs/run-messages.js';
import {
  parsePhaseTimings,
  planExecutionStatus,
  planVmStatus,
  type VmObservation,
} from '../../functions/runs/plan-status.js';
import type { RunRecord } from '../../functions/runs/run-record.js';
import { at, RUNNING_RUN } from '../support/runs.js';

const run = RUNNING_RUN;

const vm = (overrides: Partial<VmObservation>): VmObservation => ({
  status: 'RUNNING',
  runLabel: run.runId,
  lastStartAt: at('00:00:10'),
  lastStopAt: undefined,
  markers: new Set(),
  errorText: undefined,
  preemptedAt: undefined,
  ...overrides,
});

describe('planVmStatus', () => {
  it.each<{
    what: string;
    observation: Partial<VmObservation>;
    now: string;
    expected: Record<string, unknown>;
  }>([
    {
      what: 'running with our label',
      observation: {},
      now: '01:00:00',
      expected: { status: 'RUNNING' },
    },
    {
      what: 'still booting',
      observation: { status: 'STAGING', lastStartAt: undefined },
      now: '00:00:30',
      expected: { status: 'STARTING' },
    },
    {
      what: 'a _SUCCESS marker, VM stopped',
      observation: {
        status: 'TERMINATED',
        lastStopAt: at('00:30:00'),
        markers: new Set(['build.log', '_SUCCESS']),
      },
      now: '01:00:00',
      expected: {
        status: 'SUCCEEDED',
        exitMarker: '_SUCCESS',
        finishedAt: at('00:30:00'),
        logsUri: `${run.resultsPrefix}build.log`,
      },
    },
    {
      what: 'a _SUCCESS marker while the VM is still shutting down',
      observation: { status: 'STOPPING', markers: new Set(['_SUCCESS']) },
      now: '00:31:00',
      expected: { status: 'SUCCEEDED', finishedAt: at('00:31:00'), logsUri: undefined },
    },
    {
      what: 'an error marker',
      observation: {
        status: 'TERMINATED',
        lastStopAt: at('00:10:00'),
        markers: new Set(['startup_error.txt']),
        errorText: 'make exited 2\n',
      },
      now: '01:00:00',
      expected: { status: 'FAILED', exitMarker: 'startup_error.txt', detail: 'make exited 2' },
    },
    {
      what: 'no marker and a preemption after the start',
      observation: {
        status: 'TERMINATED',
        lastStopAt: at('01:00:00'),
        preemptedAt: at('01:00:00'),
      },
      now: '01:05:00',
      expected: { status: 'PREEMPTED', finishedAt: at('01:00:00') },
    },
    {
      what: 'no marker, stopped at the deadline',
      observation: { status: 'TERMINATED', lastStopAt: at('04:00:10') },
      now: '04:05:00',
      expected: {
        status: 'TIMED_OUT',
        detail: 'the VM was stopped at the run deadline (maxRunDuration)',
      },
    },
    {
      what: 'no marker, stopped early by someone else',
      observation: { status: 'TERMINATED', lastStopAt: at('01:00:00') },
      now: '01:05:00',
      expected: { status: 'FAILED', detail: 'the VM stopped without leaving a result marker' },
    },
    {
      what: 'still running past the deadline',
      observation: {},
      now: '04:00:01',
      expected: {
        status: 'TIMED_OUT',
        stopVm: 'timeout',
        detail: 'the run passed its deadline; costguard stopped the VM',
      },
    },
    {
      what: 'deleted (a Spot VM with termination action DELETE)',
      observation: { status: undefined },
      now: '02:00:00',
      expected: { status: 'FAILED', detail: 'the VM no longer exists' },
    },
    {
      what: 'running another run',
      observation: { runLabel: 'run-ffffffffffffffffffff', lastStartAt: at('02:00:00') },
      now: '02:10:00',
      expected: { status: 'FAILED', detail: 'the VM is now labelled for run-ffffffffffffffffffff' },
    },
  ])('$what', ({ observation, now, expected }) => {
    expect(planVmStatus(run, vm(observation), at(now))).toMatchObject(expected);
  });

  it('keeps a claimed run STARTING for a grace period, then calls it never started', () => {
    const starting: RunRecord = { ...run, status: 'STARTING', startedAt: undefined };
    // The VM last booted the day before, for an earlier run.
    const stopped = vm({ status: 'TERMINATED', lastStartAt: new Date('2026-11-19T12:00:00Z') });

    expect(planVmStatus(starting, stopped, at('00:04:00')).status).toBe('STARTING');
    expect(planVmStatus(starting, stopped, at('00:06:00'))).toMatchObject({
      status: 'FAILED',
      detail: 'the VM was not started for this run',
    });
  });
});

const execution = (overrides: Partial<ExecutionSummary>): ExecutionSummary => ({
  name: 'projects/p/locations/us-central1/jobs/j/executions/j-abcde',
  createdAt: at('00:00:00'),
  startedAt: at('00:00:05'),
  completedAt: undefined,
  running: 1,
  succeeded: 0,
  failed: 0,
  cancelled: 0,
  retriedTasks: 0,
  completion: { state: 'CONDITION_PENDING', reason: undefined, message: undefined },
  logUri: 'https://console.cloud.google.com/logs',
  env: {},
  ...overrides,
});

describe('planExecutionStatus', () => {
  const job: RunRecord = { ...run, executor: 'cloud-run-job', deadline: at('02:00:00') };
  const done = { running: 0, completedAt: at('01:00:00') };

  it.each<{
    what: string;
    observed: Partial<ExecutionSummary> | undefined;
    expected: Record<string, unknown>;
  }>([
    {
      what: 'running',
      observed: {},
      expected: { status: 'RUNNING', logsUri: 'https://console.cloud.google.com/logs' },
    },
    {
      what: 'pending',
      observed: { running: 0, startedAt: undefined },
      expected: { status: 'STARTING' },
    },
    {
      what: 'succeeded',
      observed: {
        ...done,
        succeeded: 1,
        completion: { state: 'CONDITION_SUCCEEDED', reason: undefined, message: undefined },
      },
      expected: { status: 'SUCCEEDED', finishedAt: at('01:00:00') },
    },
    {
      what: 'failed',
      observed: {
        ...done,
        failed: 1,
        completion: {
          state: 'CONDITION_FAILED',
          reason: 'NON_ZERO_EXIT_CODE',
          message: 'Task failed',
        },
      },
      expected: { status: 'FAILED', detail: 'Task failed' },
    },
    {
      what: 'cancelled',
      observed: {
        ...done,
        cancelled: 1,
        completion: { state: 'CONDITION_FAILED', reason: 'CANCELLED', message: undefined },
      },
      expected: { status: 'CANCELLED' },
    },
    {
      what: 'timed out',
      observed: {
        ...done,
        failed: 1,
        completion: {
          state: 'CONDITION_FAILED',
          reason: undefined,
          message: 'Task j-abcde-task0 failed with message: The configured timeout was reached.',
        },
      },
      expected: { status: 'TIMED_OUT' },
    },
    {
      what: 'failed at the deadline',
      observed: {
        running: 0,
        completedAt: at('02:00:00'),
        failed: 1,
        completion: { state: 'CONDITION_FAILED', reason: undefined, message: 'killed' },
      },
      expected: { status: 'TIMED_OUT' },
    },
    {
      what: 'gone',
      observed: undefined,
      expected: { status: 'FAILED', detail: 'the execution no longer exists' },
    },
  ])('$what', ({ observed, expected }) => {
    expect(planExecutionStatus(job, observed && execution(observed), at('01:30:00'))).toMatchObject(
      expected,
    );
  });
});

describe('parsePhaseTimings', () => {
  it.each([
    {
      name: "the script's timings",
      text: '{"fetch":2,"apt":40,"pip":61,"make":3600,"upload":3,"total":3706}',
      phases: { fetch: 2, apt: 40, pip: 61, make: 3600, upload: 3, total: 3706 },
    },
    { name: 'no file', text: undefined, phases: undefined },
    { name: 'not JSON', text: '{"fetch":2,', phases: undefined },
    { name: 'an array', text: '[1,2]', phases: undefined },
    { name: 'nothing usable', text: '{"Fetch":2,"make":-1,"pip":1.5}', phases: undefined },
    {
      name: 'odd names and values left out',
      text: '{"make":10,"$(id)":1,"total":"12","__proto__":3,"upload":1e9}',
      phases: { make: 10 },
    },
  ])('keeps $name', ({ text, phases }) => {
    expect(parsePhaseTimings(text)).toEqual(phases);
  });
});

describe('taskAttemptsOf', () => {
  it.each([
    { case: 'no task listed', tasks: [], expected: { attempt: 1, maxAttempts: undefined } },
    {
      case: 'a task retried twice, its last attempt failed',
      tasks: [{ retried: 2, maxRetries: 3, lastAttemptResult: { exitCode: 137 } }],
      expected: { attempt: 3, maxAttempts: 4, lastExitCode: 137 },
    },
    {
      case: 'the most retried of several tasks',
      tasks: [
        { index: 0, retried: 1, maxRetries: 5, lastAttemptResult: { exitCode: 0 } },
        { index: 1, retried: 4, maxRetries: 5, lastAttemptResult: { exitCode: 2 } },
      ],
      expected: { attempt: 5, maxAttempts: 6, lastExitCode: 2 },
    },
  ])('$case', ({ tasks, expected }) => {
    expect(taskAttemptsOf(tasks)).toMatchObject(expected);
  });
});

describe('taskRetryReplies', () => {
  const run: RunRecord = { ...RUNNING_RUN, executor: 'cloud-run-job', slackTs: '1.000001' };

  it.each([
    {
      case: 'one retry, seen while the new attempt runs',
      from: 1,
      attempts: { attempt: 2, maxAttempts: 4, lastExitCode: 1 },
      texts: ['its task failed (exit code 1); Cloud Run retries it, attempt 2 of 4'],
    },
    {
      case: 'two retries seen at once, after the last attempt succeeded',
      from: 1,
      attempts: { attempt: 3, maxAttempts: 4, lastExitCode: 0 },
      texts: [
        'its task failed; Cloud Run retries it, attempt 2 of 4',
        'its task failed; Cloud Run retries it, attempt 3 of 4',
      ],
    },
    {
      case: 'no retry since the last look',
      from: 3,
      attempts: { attempt: 3, maxAttempts: undefined, lastExitCode: 1 },
      texts: [],
    },
  ])('$case', ({ from, attempts, texts }) => {
    const replies = taskRetryReplies(run, from, attempts);

    expect(replies.map((r) => r.text)).toEqual(
      texts.map((t) => `Run ${run.runId} of ${run.pipeline}: ${t}`),
    );
    expect(replies.every((r) => r.threadTs === '1.000001')).toBe(true);
  });
});
