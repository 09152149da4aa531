/**
 * Cloud Run Jobs (`@google-cloud/run` v2): start an execution with environment overrides and
 * a timeout, read an execution and its tasks' retries, cancel one. `runJob` has no request id, so a retry after an
 * ambiguous failure first looks for an execution that already carries the run's marker
 * variable instead of starting a second one.
 */
import type { ExecutionsClient, JobsClient, TasksClient } from '@google-cloud/run';
import type { google } from '@google-cloud/run/build/protos/protos.js';
import { isNotFound, TransientError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { timestampMillis, type ProtoTimestamp } from './timestamp.js';
import { loggedRetries, withRetry, type RetryOptions } from '../core/retry.js';

type IExecution = google.cloud.run.v2.IExecution;
type ICondition = google.cloud.run.v2.ICondition;
type ITask = google.cloud.run.v2.ITask;

export interface ExecutionCompletion {
  /** `CONDITION_SUCCEEDED`, `CONDITION_FAILED`, `CONDITION_PENDING`, ... */
  readonly state: string;
  /** `CANCELLED`, `NON_ZERO_EXIT_CODE`, ... when the platform gives one. */
  readonly reason: string | undefined;
  readonly message: string | undefined;
}

export interface ExecutionSummary {
  /** `projects/P/locations/R/jobs/J/executions/E` */
  readonly name: string;
  readonly createdAt: Date | undefined;
  readonly startedAt: Date | undefined;
  readonly completedAt: Date | undefined;
  readonly running: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly cancelled: number;
  /** Tasks retried at least once (`retriedCount`): only then are the tasks worth reading. */
  readonly retriedTasks: number;
  /** The execution's `Completed` condition. */
  readonly completion: ExecutionCompletion | undefined;
  readonly logUri: string | undefined;
  /** The environment of its first container, overrides included. */
  readonly env: Readonly<Record<string, string>>;
}

export interface RunJobsClients {
  jobs(): Promise<Pick<JobsClient, 'runJob'>>;
  executions(): Promise<
    Pick<ExecutionsClient, 'getExecution' | 'cancelExecution' | 'listExecutions'>
  >;
  tasks(): Promise<Pick<TasksClient, 'listTasks'>>;
}

/** How far an execution's task retries went: Cloud Run retries a failed task up to maxRetries. */
export interface TaskAttempts {
  /** The attempt under way, or the last one made, of the most retried task (1 + its retries). */
  readonly attempt: number;
  /** The attempts that task may make (1 + its maxRetries), when Cloud Run says. */
  readonly maxAttempts: number | undefined;
  /** The exit code of that task's last finished attempt, when it has one. */
  readonly lastExitCode: number | undefined;
}

/** The attempts of the most retried task; an execution without tasks is on its first attempt. */
export function taskAttemptsOf(tasks: readonly ITask[]): TaskAttempts {
  const most = [...tasks].sort((a, b) => (b.retried ?? 0) - (a.retried ?? 0))[0];
  const exit = most?.lastAttemptResult?.exitCode;
  return {
    attempt: 1 + (most?.retried ?? 0),
    maxAttempts: typeof most?.maxRetries === 'number' ? most.maxRetries + 1 : undefined,
    lastExitCode: typeof exit === 'number' ? exit : undefined,
  };
}

function timeOf(value: ProtoTimestamp): Date | undefined {
  const ms = timestampMillis(value);
  return ms > 0 ? new Date(ms) : undefined;
}

// With `enum-encoding=int` (which the client asks for) an operation's metadata keeps enums as
// numbers; these are the values of Condition.State and Condition.ExecutionReason.
const CONDITION_STATES = [
  'STATE_UNSPECIFIED',
  'CONDITION_PENDING',
  'CONDITION_RECONCILING',
  'CONDITION_FAILED',
  'CONDITION_SUCCEEDED',
];
const EXECUTION_REASONS = [
  'EXECUTION_REASON_UNDEFINED',
  'JOB_STATUS_SERVICE_POLLING_ERROR',
  'NON_ZERO_EXIT_CODE',
  'CANCELLED',
  'CANCELLING',
  'DELETED',
  'DELAYED_START_PENDING',
];

function enumText(value: unknown, names: readonly string[]): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = /^\d+$/.test(String(value)) ? names[Number(value)] : String(value);
  return text === undefined || text === '' || /_UNDEFINED$|_UNSPECIFIED$/.test(text)
    ? undefined
    : text;
}

function completionOf(
  conditions: readonly ICondition[] | null | undefined,
): ExecutionCompletion | undefined {
  const completed = (conditions ?? []).find((c) => c.type === 'Completed');
  if (!completed) return undefined;
  return {
    state: enumText(completed.state, CONDITION_STATES) ?? 'CONDITION_PENDING',
    reason: enumText(completed.executionReason, EXECUTION_REASONS),
    message: completed.message || undefined,
  };
}

export function toExecutionSummary(execution: IExecution): ExecutionSummary {
  const container = execution.template?.containers?.[0];
  return {
    name: execution.name ?? '',
    createdAt: timeOf(execution.createTime),
    startedAt: timeOf(execution.startTime),
    completedAt: timeOf(execution.completionTime),
    running: execution.runningCount ?? 0,
    succeeded: execution.succeededCount ?? 0,
    failed: execution.failedCount ?? 0,
    cancelled: execution.cancelledCount ?? 0,
    retriedTasks: execution.retriedCount ?? 0,
    completion: completionOf(execution.conditions),
    logUri: execution.logUri || undefined,
    env: Object.fromEntries(
      (container?.env ?? [])
        .filter((e) => typeof e.name === 'string' && typeof e.value === 'string')
        .map((e) => [e.name as string, e.value as string]),
    ),
  };
}

export interface RunJobRequest {
  /** `projects/P/locations/R/jobs/J` */
  readonly job: string;
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  /** The variable and value that identify this run's execution, to find it after a retry. */
  readonly marker: { readonly name: string; readonly value: string };
}

export class RunJobs {
  constructor(
    private readonly clients: RunJobsClients,
    private readonly options: { logger: Logger; retry?: RetryOptions; scanLimit?: number },
  ) {}

  private retry<T>(what: string, operation: (attempt: number) => Promise<T>): Promise<T> {
    return withRetry(operation, loggedRetries(this.options.logger, what, this.options.retry));
  }

  /**
   * Starts an execution, or returns the one that already carries the marker: a retried
   * request (here, or by the caller after a start whose record was not written) never starts
   * the job twice. runJob takes no request id, so the marker is looked for before every call.
   */
  async run(request: RunJobRequest): Promise<ExecutionSummary> {
    const jobs = await this.clients.jobs();
    return this.retry(`runJob ${request.job}`, async () => {
      // Unretried here: this whole attempt is what the retry repeats.
      const existing = await this.scanByEnv(request.job, request.marker.name, request.marker.value);
      if (existing) return existing;
      const [operation] = await jobs.runJob({
        name: request.job,
        overrides: {
          containerOverrides: [
            { env: Object.entries(request.env).map(([name, value]) => ({ name, value })) },
          ],
          timeout: { seconds: request.timeoutSeconds },
        },
      });
      const execution = operation.metadata as IExecution | null;
      if (!execution?.name) {
        throw new TransientError(`runJob ${request.job} returned no execution`);
      }
      return toExecutionSummary(execution);
    });
  }

  async get(name: string): Promise<ExecutionSummary | undefined> {
    const executions = await this.clients.executions();
    try {
      const [execution] = await this.retry(`getExecution ${name}`, () =>
        executions.getExecution({ name }),
      );
      return toExecutionSummary(execution);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** How far the execution's task retries went (one page of tasks: a run's job has few). */
  async taskAttempts(execution: string): Promise<TaskAttempts> {
    const tasks = await this.clients.tasks();
    const [page] = await this.retry(`listTasks ${execution}`, () =>
      tasks.listTasks({ parent: execution, pageSize: 100 }, { autoPaginate: false }),
    );
    return taskAttemptsOf(page);
  }

  /** Asks Cloud Run to cancel the execution; the execution reports CANCELLED once it has. */
  async cancel(name: string): Promise<void> {
    const executions = await this.clients.executions();
    await this.retry(`cancelExecution ${name}`, () => executions.cancelExecution({ name }));
  }

  /** The newest execution (of the most recent ones) whose environment has `name=value`. */
  findByEnv(job: string, name: string, value: string): Promise<ExecutionSummary | undefined> {
    return this.retry(`listExecutions ${job}`, () => this.scanByEnv(job, name, value));
  }

  private async scanByEnv(
    job: string,
    name: string,
    value: string,
  ): Promise<ExecutionSummary | undefined> {
    const executions = await this.clients.executions();
    const [page] = await executions.listExecutions(
      { parent: job, pageSize: this.options.scanLimit ?? 50 },
      { autoPaginate: false },
    );
    return page.map(toExecutionSummary).find((e) => e.env[name] === value);
  }
}
