/**
 * A pipeline packaged as a Cloud Run Job: each run is one execution, told its run id, target
 * and results prefix through fixed environment variables, plus the allow-listed overrides the
 * request chose. The job's task timeout is the run's maximum duration. Each retry of a failed
 * task (the job's maxRetries) is an attempt of the run.
 */
import type { RunJobs } from '../adapters/run-jobs.js';
import type { Logger } from '../core/logger.js';
import type { CloudRunPipeline } from './config.js';
import type { Observation, RunExecutor, RunLog, StartHooks, StartOutcome } from './executor.js';
import { planExecutionStatus, START_GRACE_MS } from './plan-status.js';
import { RUN_ENV } from './run-id.js';
import type { RunRecord } from './run-record.js';

export class CloudRunExecutor implements RunExecutor {
  private readonly job: string;

  constructor(
    private readonly pipeline: CloudRunPipeline,
    private readonly deps: {
      jobs: Pick<RunJobs, 'run' | 'get' | 'cancel' | 'findByEnv' | 'taskAttempts'>;
      logger: Logger;
    },
  ) {
    this.job = `projects/${pipeline.project}/locations/${pipeline.region}/jobs/${pipeline.job}`;
  }

  private envOf(run: RunRecord): Record<string, string> {
    return {
      ...run.params,
      [RUN_ENV.runId]: run.runId,
      [RUN_ENV.target]: run.target,
      ...(run.resultsPrefix ? { [RUN_ENV.resultsPrefix]: run.resultsPrefix } : {}),
    };
  }

  describeStart(run: RunRecord): string[] {
    return [
      `run ${this.job} with ${Object.keys(this.envOf(run)).sort().join(', ')} and a ${this.pipeline.maxRunHours * 3600}s task timeout`,
    ];
  }

  async start(run: RunRecord, hooks: StartHooks): Promise<StartOutcome> {
    await hooks.claimed();
    const execution = await this.deps.jobs.run({
      job: this.job,
      env: this.envOf(run),
      timeoutSeconds: Math.round(this.pipeline.maxRunHours * 3600),
      marker: { name: RUN_ENV.runId, value: run.runId },
    });
    this.deps.logger.info('Cloud Run execution started', {
      runId: run.runId,
      execution: execution.name,
    });
    const decision = planExecutionStatus(run, execution, execution.createdAt ?? run.requestedAt);
    return {
      kind: 'started',
      status: decision.status,
      startedAt: decision.startedAt ?? execution.createdAt,
      execution: execution.name,
      logsUri: execution.logUri,
    };
  }

  /** An execution's console is in Cloud Logging: the caller gets its link. */
  readLog(run: RunRecord): Promise<RunLog> {
    return Promise.resolve({ kind: 'link', link: run.logsUri });
  }

  async observe(run: RunRecord, now: Date): Promise<Observation> {
    const execution = run.execution
      ? await this.deps.jobs.get(run.execution)
      : await this.deps.jobs.findByEnv(this.job, RUN_ENV.runId, run.runId);
    if (
      !execution &&
      !run.execution &&
      now.getTime() - run.requestedAt.getTime() < START_GRACE_MS
    ) {
      return { decision: { status: run.status }, usage: undefined };
    }
    // Only an execution with a retried task has attempts worth a read of its tasks.
    const attempts =
      execution && execution.retriedTasks > 0
        ? await this.deps.jobs.taskAttempts(execution.name)
        : undefined;
    const decision = { ...planExecutionStatus(run, execution, now), attempts };
    return {
      decision: execution && !run.execution ? { ...decision, execution: execution.name } : decision,
      usage: undefined,
    };
  }

  async stop(run: RunRecord): Promise<void> {
    const execution =
      run.execution ?? (await this.deps.jobs.findByEnv(this.job, RUN_ENV.runId, run.runId))?.name;
    if (execution) await this.deps.jobs.cancel(execution);
  }

  /** Executions are separate resources: there is nothing to give up. */
  release(): Promise<void> {
    return Promise.resolve();
  }
}
