/**
 * Cloud Run Admin API v2, the Jobs subset the run trigger uses: `jobs/J:run` (with container
 * env overrides and a task timeout) returns a long-running operation whose metadata is the
 * new Execution; executions get, list and `:cancel`; an execution's tasks list; operations get.
 * An execution runs one task on the simulated clock: it succeeds or fails after its job's
 * duration, or fails when the timeout is reached first; a plan may make the task fail a number
 * of attempts first, each retried (Task `retried`, `lastAttemptResult`, the execution's
 * `retriedCount`) while the job's `maxRetries` allows. Enums are numbers when the client asks for
 * `enum-encoding=int`.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { repositoryPath } from '../../core/repository-path.js';
import { asRecord, fail, notFound, page, route, type SandboxRequest } from '../http.js';
import type { Sandbox, SandboxModule } from '../sandbox.js';

const jobFixture = z.object({
  project: z.string(),
  region: z.string(),
  name: z.string().regex(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/),
  /** Simulated seconds an execution runs before it finishes. */
  durationSeconds: z.number().positive().default(600),
  outcome: z.enum(['succeed', 'fail', 'hang']).default('succeed'),
  /** The job's own task timeout when a run does not override it (Cloud Run's default is 10 min). */
  timeoutSeconds: z.number().positive().default(600),
  /** How often a failed task is retried (Cloud Run's default is 3). */
  maxRetries: z.number().int().min(0).max(10).default(3),
  env: z.record(z.string(), z.string()).default({}),
  image: z.string().default('us-docker.pkg.dev/sandbox/pipelines/job:latest'),
});

export type CloudRunJobFixture = z.input<typeof jobFixture>;
type SimJob = z.output<typeof jobFixture> & { fullName: string; executions: number };

export interface ExecutionPlan {
  outcome: 'succeed' | 'fail' | 'hang';
  durationSeconds: number;
  /** Attempts of the task that exit with code 1 (each after `durationSeconds`) before the outcome. */
  failedAttempts?: number;
}

interface SimExecution {
  name: string;
  job: SimJob;
  uid: string;
  createdAt: number;
  startedAt: number;
  completedAt: number | undefined;
  timeoutSeconds: number;
  env: Array<{ name: string; value: string }>;
  state: 'running' | 'succeeded' | 'failed' | 'timed-out' | 'cancelled';
  operation: string;
  /** Times the task was retried, and when its current attempt started. */
  retried: number;
  attemptStartedAt: number;
  lastExitCode: number | undefined;
}

interface CloudRunState {
  jobs: Map<string, SimJob>;
  executions: Map<string, SimExecution>;
  operations: Map<string, { execution: string; kind: 'run' | 'cancel' }>;
  plans: Map<string, ExecutionPlan[]>;
  seq: number;
}

export function cloudRunState(sandbox: Sandbox): CloudRunState {
  return sandbox.extension<CloudRunState>('cloud-run', () => ({
    jobs: new Map(),
    executions: new Map(),
    operations: new Map(),
    plans: new Map(),
    seq: 0,
  }));
}

function jobName(project: string, region: string, job: string): string {
  return `projects/${project}/locations/${region}/jobs/${job}`;
}

/** Declares a job the sandbox can run. */
export function addCloudRunJob(sandbox: Sandbox, fixture: CloudRunJobFixture): void {
  const job = jobFixture.parse(fixture);
  const fullName = jobName(job.project, job.region, job.name);
  cloudRunState(sandbox).jobs.set(fullName, { ...job, fullName, executions: 0 });
}

/** How the next execution of a job ends (one plan per execution, then the job's defaults). */
export function planNextExecution(sandbox: Sandbox, job: string, plan: ExecutionPlan): void {
  const plans = cloudRunState(sandbox).plans;
  plans.set(job, [...(plans.get(job) ?? []), plan]);
}

const CONDITION_STATE = { CONDITION_PENDING: 1, CONDITION_FAILED: 3, CONDITION_SUCCEEDED: 4 };
const EXECUTION_REASON = { NON_ZERO_EXIT_CODE: 2, CANCELLED: 3 };
const SEVERITY = { ERROR: 1, INFO: 3 };

function enumValue<T extends Record<string, number>>(
  request: SandboxRequest,
  values: T,
  key: keyof T & string,
): string | number {
  return (request.query.get('$alt') ?? '').includes('enum-encoding=int')
    ? (values[key] as number)
    : key;
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

function renderExecution(
  execution: SimExecution,
  request: SandboxRequest,
): Record<string, unknown> {
  const done = execution.state !== 'running';
  const completed = (() => {
    const base = {
      type: 'Completed',
      lastTransitionTime: iso(execution.completedAt ?? execution.startedAt),
    };
    switch (execution.state) {
      case 'running':
        return {
          ...base,
          state: enumValue(request, CONDITION_STATE, 'CONDITION_PENDING'),
          message: 'Execution is running.',
        };
      case 'succeeded':
        return {
          ...base,
          state: enumValue(request, CONDITION_STATE, 'CONDITION_SUCCEEDED'),
          message: 'Execution completed successfully in 1 task.',
        };
      case 'failed':
        return {
          ...base,
          state: enumValue(request, CONDITION_STATE, 'CONDITION_FAILED'),
          severity: enumValue(request, SEVERITY, 'ERROR'),
          executionReason: enumValue(request, EXECUTION_REASON, 'NON_ZERO_EXIT_CODE'),
          message: `Task ${execution.name.split('/').pop()}-task0 failed with message: The container exited with an error.`,
        };
      case 'timed-out':
        return {
          ...base,
          state: enumValue(request, CONDITION_STATE, 'CONDITION_FAILED'),
          severity: enumValue(request, SEVERITY, 'ERROR'),
          message: `Task ${execution.name.split('/').pop()}-task0 failed with message: The configured timeout was reached.`,
        };
      case 'cancelled':
        return {
          ...base,
          state: enumValue(request, CONDITION_STATE, 'CONDITION_FAILED'),
          severity: enumValue(request, SEVERITY, 'INFO'),
          executionReason: enumValue(request, EXECUTION_REASON, 'CANCELLED'),
          message: 'The execution was cancelled.',
        };
    }
  })();
  const project = /^projects\/([^/]+)\//.exec(execution.name)?.[1] ?? '';
  return {
    name: execution.name,
    uid: execution.uid,
    generation: '1',
    createTime: iso(execution.createdAt),
    startTime: iso(execution.startedAt),
    ...(done ? { completionTime: iso(execution.completedAt) } : {}),
    updateTime: iso(execution.completedAt ?? execution.startedAt),
    launchStage: 'GA',
    job: execution.job.name,
    parallelism: 1,
    taskCount: 1,
    template: {
      containers: [{ image: execution.job.image, env: execution.env }],
      maxRetries: execution.job.maxRetries,
      timeout: `${execution.timeoutSeconds}s`,
    },
    conditions: [
      {
        type: 'ResourcesAvailable',
        state: enumValue(request, CONDITION_STATE, 'CONDITION_SUCCEEDED'),
      },
      { type: 'Started', state: enumValue(request, CONDITION_STATE, 'CONDITION_SUCCEEDED') },
      completed,
    ],
    runningCount: done ? 0 : 1,
    succeededCount: execution.state === 'succeeded' ? 1 : 0,
    failedCount: execution.state === 'failed' || execution.state === 'timed-out' ? 1 : 0,
    cancelledCount: execution.state === 'cancelled' ? 1 : 0,
    retriedCount: execution.retried > 0 ? 1 : 0,
    logUri: `https://console.cloud.google.com/logs/viewer?project=${project}&advancedFilter=resource.type%3D%22cloud_run_job%22%0Alabels.%22run.googleapis.com/execution_name%22%3D%22${execution.name.split('/').pop() ?? ''}%22`,
    etag: `"${createHash('sha1').update(`${execution.name}:${execution.state}`).digest('hex').slice(0, 16)}"`,
  };
}

/** The execution's one task: its retries and how its last attempt ended. */
function renderTask(execution: SimExecution, request: SandboxRequest): Record<string, unknown> {
  const short = execution.name.split('/').pop() ?? '';
  const done = execution.state !== 'running';
  const exitCode =
    execution.state === 'succeeded'
      ? 0
      : done
        ? (execution.lastExitCode ?? 1)
        : execution.lastExitCode;
  const state =
    execution.state === 'running'
      ? 'CONDITION_PENDING'
      : execution.state === 'succeeded'
        ? 'CONDITION_SUCCEEDED'
        : 'CONDITION_FAILED';
  return {
    name: `${execution.name}/tasks/${short}-task0`,
    uid: createHash('sha1').update(`${execution.name}/task0`).digest('hex').slice(0, 32),
    generation: '1',
    createTime: iso(execution.createdAt),
    scheduledTime: iso(execution.createdAt),
    startTime: iso(execution.attemptStartedAt),
    ...(done ? { completionTime: iso(execution.completedAt) } : {}),
    updateTime: iso(execution.completedAt ?? execution.attemptStartedAt),
    job: execution.job.name,
    execution: short,
    containers: [{ image: execution.job.image, env: execution.env }],
    maxRetries: execution.job.maxRetries,
    timeout: `${execution.timeoutSeconds}s`,
    conditions: [{ type: 'Completed', state: enumValue(request, CONDITION_STATE, state) }],
    index: 0,
    retried: execution.retried,
    ...(exitCode === undefined
      ? {}
      : {
          lastAttemptResult: {
            status:
              exitCode === 0
                ? { code: 0 }
                : { code: 2, message: 'The container exited with an error.' },
            exitCode,
          },
        }),
    logUri: `https://console.cloud.google.com/logs/viewer?project=${/^projects\/([^/]+)\//.exec(execution.name)?.[1] ?? ''}`,
  };
}

function renderOperation(
  sandbox: Sandbox,
  name: string,
  request: SandboxRequest,
): Record<string, unknown> {
  const operation = cloudRunState(sandbox).operations.get(name);
  if (!operation) notFound(name);
  const execution = cloudRunState(sandbox).executions.get(operation.execution);
  if (!execution) notFound(operation.execution);
  const body = {
    '@type': 'type.googleapis.com/google.cloud.run.v2.Execution',
    ...renderExecution(execution, request),
  };
  const done = operation.kind === 'cancel' || execution.state !== 'running';
  const failed = execution.state === 'failed' || execution.state === 'timed-out';
  return {
    name,
    metadata: body,
    done,
    ...(done && !failed && operation.kind === 'run' ? { response: body } : {}),
    ...(done && operation.kind === 'cancel' ? { response: body } : {}),
    ...(done && failed && operation.kind === 'run'
      ? { error: { code: 9, message: 'Execution failed.' } }
      : {}),
  };
}

function finish(sandbox: Sandbox, execution: SimExecution, state: SimExecution['state']): void {
  if (execution.state !== 'running') return;
  execution.state = state;
  execution.completedAt = sandbox.clock.nowMs();
}

/** One attempt of the execution's task from `startMs`: a planned failure is retried if it may be. */
function runAttempt(
  sandbox: Sandbox,
  execution: SimExecution,
  plan: ExecutionPlan,
  startMs: number,
): void {
  execution.attemptStartedAt = startMs;
  const timeoutAt = startMs + execution.timeoutSeconds * 1000;
  const endAt = startMs + plan.durationSeconds * 1000;
  if (execution.retried < (plan.failedAttempts ?? 0) && endAt < timeoutAt) {
    sandbox.clock.schedule(endAt, () => {
      if (execution.state !== 'running') return;
      execution.lastExitCode = 1;
      if (execution.retried >= execution.job.maxRetries) {
        finish(sandbox, execution, 'failed');
        return;
      }
      execution.retried++;
      runAttempt(sandbox, execution, plan, endAt);
    });
  } else if (plan.outcome === 'hang' || endAt >= timeoutAt) {
    sandbox.clock.schedule(timeoutAt, () => finish(sandbox, execution, 'timed-out'));
  } else {
    sandbox.clock.schedule(endAt, () =>
      finish(sandbox, execution, plan.outcome === 'succeed' ? 'succeeded' : 'failed'),
    );
  }
}

function newOperation(
  sandbox: Sandbox,
  project: string,
  region: string,
  execution: string,
  kind: 'run' | 'cancel',
): string {
  const state = cloudRunState(sandbox);
  const name = `projects/${project}/locations/${region}/operations/${createHash('sha1').update(`${execution}:${kind}:${++state.seq}`).digest('hex').slice(0, 32)}`;
  state.operations.set(name, { execution, kind });
  return name;
}

function durationSeconds(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const seconds =
    typeof value === 'string'
      ? Number(/^(\d+(?:\.\d+)?)s$/.exec(value)?.[1])
      : Number((value as { seconds?: unknown }).seconds);
  if (!Number.isFinite(seconds) || seconds <= 0)
    fail(400, "Invalid value for field 'overrides.timeout'");
  return seconds;
}

function executionOf(sandbox: Sandbox, request: SandboxRequest): SimExecution {
  const { project, location, job, execution } = request.params as Record<string, string>;
  const name = `${jobName(project as string, location as string, job as string)}/executions/${execution}`;
  const found = cloudRunState(sandbox).executions.get(name);
  if (!found) notFound(name);
  return found;
}

const routes = [
  route<Sandbox>(
    'run.jobs.run',
    'POST',
    '/v2/projects/{project}/locations/{location}/jobs/{job}:run',
    (request, sandbox) => {
      const { project, location, job } = request.params as Record<string, string>;
      const state = cloudRunState(sandbox);
      const sim = state.jobs.get(jobName(project as string, location as string, job as string));
      if (!sim) notFound(jobName(project as string, location as string, job as string));
      const body = asRecord(request.body ?? {});
      const overrides = (body.overrides ?? {}) as {
        containerOverrides?: Array<{ env?: Array<{ name?: unknown; value?: unknown }> }>;
        timeout?: unknown;
      };
      const containers = overrides.containerOverrides ?? [];
      if (containers.length > 1) fail(400, 'The sandbox job has one container');
      const env = new Map(Object.entries(sim.env));
      for (const entry of containers[0]?.env ?? []) {
        if (typeof entry.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(entry.name))
          fail(400, "Invalid value for field 'overrides.containerOverrides.env.name'");
        env.set(entry.name, typeof entry.value === 'string' ? entry.value : '');
      }
      const now = sandbox.clock.nowMs();
      sim.executions++;
      const suffix = createHash('sha1')
        .update(`${sim.fullName}:${sim.executions}:${now}`)
        .digest('hex')
        .slice(0, 5);
      const name = `${sim.fullName}/executions/${sim.name}-${suffix}`;
      const execution: SimExecution = {
        name,
        job: sim,
        uid: createHash('sha1').update(name).digest('hex').slice(0, 32),
        createdAt: now,
        startedAt: now,
        completedAt: undefined,
        timeoutSeconds: durationSeconds(overrides.timeout) ?? sim.timeoutSeconds,
        env: [...env].map(([n, value]) => ({ name: n, value })),
        state: 'running',
        operation: '',
        retried: 0,
        attemptStartedAt: now,
        lastExitCode: undefined,
      };
      state.executions.set(name, execution);
      execution.operation = newOperation(
        sandbox,
        project as string,
        location as string,
        name,
        'run',
      );
      const plan = state.plans.get(sim.fullName)?.shift() ?? {
        outcome: sim.outcome,
        durationSeconds: sim.durationSeconds,
      };
      runAttempt(sandbox, execution, plan, now);
      return { body: renderOperation(sandbox, execution.operation, request) };
    },
  ),
  route<Sandbox>(
    'run.executions.get',
    'GET',
    '/v2/projects/{project}/locations/{location}/jobs/{job}/executions/{execution}',
    (request, sandbox) => ({ body: renderExecution(executionOf(sandbox, request), request) }),
  ),
  route<Sandbox>(
    'run.executions.list',
    'GET',
    '/v2/projects/{project}/locations/{location}/jobs/{job}/executions',
    (request, sandbox) => {
      const { project, location, job } = request.params as Record<string, string>;
      const parent = jobName(project as string, location as string, job as string);
      if (!cloudRunState(sandbox).jobs.has(parent)) notFound(parent);
      // Newest first, as Cloud Run lists them.
      const all = [...cloudRunState(sandbox).executions.values()]
        .filter((e) => e.job.fullName === parent)
        .sort((a, b) => b.createdAt - a.createdAt || b.name.localeCompare(a.name))
        .map((e) => renderExecution(e, request));
      const { items, nextPageToken } = page(all, request.query, {
        sizeParam: 'pageSize',
        maxSize: 100,
      });
      return { body: { executions: items, ...(nextPageToken ? { nextPageToken } : {}) } };
    },
  ),
  route<Sandbox>(
    'run.tasks.list',
    'GET',
    '/v2/projects/{project}/locations/{location}/jobs/{job}/executions/{execution}/tasks',
    (request, sandbox) => ({
      body: { tasks: [renderTask(executionOf(sandbox, request), request)] },
    }),
  ),
  route<Sandbox>(
    'run.executions.cancel',
    'POST',
    '/v2/projects/{project}/locations/{location}/jobs/{job}/executions/{execution}:cancel',
    (request, sandbox) => {
      const execution = executionOf(sandbox, request);
      if (execution.state !== 'running') {
        fail(400, `Execution ${execution.name} has already completed`, 'failedPrecondition');
      }
      finish(sandbox, execution, 'cancelled');
      const { project, location } = request.params as Record<string, string>;
      const operation = newOperation(
        sandbox,
        project as string,
        location as string,
        execution.name,
        'cancel',
      );
      return { body: renderOperation(sandbox, operation, request) };
    },
  ),
  route<Sandbox>(
    'run.operations.get',
    'GET',
    '/v2/projects/{project}/locations/{location}/operations/{operation}',
    (request, sandbox) => {
      const { project, location, operation } = request.params as Record<string, string>;
      return {
        body: renderOperation(
          sandbox,
          `projects/${project}/locations/${location}/operations/${operation}`,
          request,
        ),
      };
    },
  ),
];

/** The jobs of fixtures/runs/cloud-run-jobs.json (the demo's Cloud Run pipeline). */
export function fixtureCloudRunJobs(): CloudRunJobFixture[] {
  return JSON.parse(
    readFileSync(repositoryPath('fixtures/runs/cloud-run-jobs.json'), 'utf8'),
  ) as CloudRunJobFixture[];
}

/** The Cloud Run module; the fixture's jobs are declared when the sandbox starts. */
export const cloudRunModule: SandboxModule = {
  name: 'cloud-run',
  routes,
  start(sandbox) {
    for (const job of fixtureCloudRunJobs()) addCloudRunJob(sandbox, job);
  },
};
