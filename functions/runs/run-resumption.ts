/**
 * Runs that come back after a Spot preemption. `interrupted` takes the preemption of the VM a
 * run holds (from recordPreemption, the hourly backstop, or a status read that finds it) and
 * records what `planResume` decides: PREEMPTED_RETRYING until the backoff has passed, FAILED
 * after the last attempt, PREEMPTED for a pipeline without resume; each with a reply in the
 * run's Slack thread. `resumeIfDue` starts the next attempt once the backoff is over: called by
 * `interrupted` itself when the backoff is 0, and by every later look at the run (GET /runs/{id},
 * the listing, the busy check of a start, recordPreemption and the hourly recorder's backstop).
 * Both are keyed by the run's attempt, so a repeated preemption or look changes nothing.
 */
import type { PostedMessage, SlackMessage } from '../adapters/slack.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Pipeline, RunsConfig } from './config.js';
import type { RunExecutor } from './executor.js';
import { isResumeDue, planResume, preemptionReply } from './plan-resume.js';
import type { RunLedger } from './run-ledger.js';
import { finishedMessage } from './run-messages.js';
import { attemptOf, type RunCost, type RunRecord } from './run-record.js';

export interface RunResumptionDeps {
  readonly ledger: Pick<RunLedger, 'append'>;
  readonly executorFor: (pipeline: Pipeline) => RunExecutor;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly notify: (message: SlackMessage, runId: string) => Promise<PostedMessage | undefined>;
  readonly release: (executor: RunExecutor, record: RunRecord) => Promise<void>;
  readonly costOf: (record: RunRecord) => Promise<RunCost | undefined>;
  readonly config: Pick<RunsConfig, 'pipelines' | 'dryRun'>;
}

export interface RunResumption {
  /** Records a preemption of the run's VM at `preemptedAt`; returns the run as it is now. */
  interrupted(record: RunRecord, preemptedAt: Date): Promise<RunRecord>;
  /** Starts the next attempt of a run whose backoff is over; other runs come back as they are. */
  resumeIfDue(record: RunRecord): Promise<RunRecord>;
}

/** When the run's current attempt started: its first start, or the resume of a later attempt. */
export function attemptStartOf(
  record: Pick<RunRecord, 'attempt' | 'startedAt' | 'resumeAt'>,
): Date | undefined {
  return attemptOf(record) > 1 ? record.resumeAt : record.startedAt;
}

/**
 * The attempt under way at `at` and when it started: the current one, or for a time before it
 * began (an event that arrives after the run resumed) the earlier attempt that covered it.
 */
export function attemptAt(
  record: Pick<RunRecord, 'attempt' | 'startedAt' | 'resumeAt' | 'earlierAttempts'>,
  at: Date,
): { attempt: number; startedAt: Date | undefined } {
  const current = { attempt: attemptOf(record), startedAt: attemptStartOf(record) };
  if (!current.startedAt || current.startedAt.getTime() <= at.getTime()) return current;
  const earlier = (record.earlierAttempts ?? [])
    .filter((a) => a.startedAt.getTime() <= at.getTime())
    .at(-1);
  return earlier ? { attempt: earlier.attempt, startedAt: earlier.startedAt } : current;
}

function reply(record: RunRecord, text: string): SlackMessage {
  return {
    text: `Run ${record.runId} of ${record.pipeline}: ${text}`,
    ...(record.slackTs ? { threadTs: record.slackTs } : {}),
  };
}

export function createRunResumption(deps: RunResumptionDeps): RunResumption {
  const { ledger, clock, logger, config } = deps;

  const resumeIfDue = async (record: RunRecord): Promise<RunRecord> => {
    const pipeline = config.pipelines.get(record.pipeline);
    if (!pipeline || !isResumeDue(record, clock.now()) || config.dryRun) return record;
    const executor = deps.executorFor(pipeline);
    if (!executor.resume) return record;
    const attempt = attemptOf(record) + 1;
    const startedAt = await executor.resume(record, attempt);
    const resumed: RunRecord = {
      ...record,
      status: 'RUNNING',
      attempt,
      resumeAt: startedAt,
      detail: `attempt ${attempt} after a preemption`,
    };
    await ledger.append(resumed, 'resumed');
    logger.notice('Run resumed after a preemption', { runId: record.runId, attempt });
    return resumed;
  };

  const interrupted = async (record: RunRecord, preemptedAt: Date): Promise<RunRecord> => {
    const pipeline = config.pipelines.get(record.pipeline);
    const policy = pipeline?.executor === 'vm' ? pipeline.resume : undefined;
    const attemptStart = attemptStartOf(record);
    const verdict = planResume(
      { status: record.status, attempt: attemptOf(record), attemptStartedAt: attemptStart },
      preemptedAt,
      policy,
    );
    const log = logger.child({ runId: record.runId, pipeline: record.pipeline });
    if (verdict.kind === 'ignore') {
      log.info('Preemption of the run VM changes nothing', { reason: verdict.reason });
      return record;
    }
    const ran = attemptStart ? (preemptedAt.getTime() - attemptStart.getTime()) / 1000 : undefined;
    const text = preemptionReply(ran, record.resource.split('/')[1] ?? '', verdict, policy);
    if (verdict.kind === 'retry') {
      // The attempt's run time, so the cost estimate leaves out the notice and the backoff.
      const span = attemptStart
        ? [{ attempt: attemptOf(record), startedAt: attemptStart, endedAt: preemptedAt }]
        : [];
      const waiting: RunRecord = {
        ...record,
        status: 'PREEMPTED_RETRYING',
        resumeAt: verdict.resumeAt,
        earlierAttempts: [...(record.earlierAttempts ?? []), ...span],
        detail: text,
      };
      await ledger.append(waiting, 'preempted');
      log.notice('Run preempted; it resumes after the backoff', {
        attempt: attemptOf(record),
        resumeAt: verdict.resumeAt.toISOString(),
      });
      await deps.notify(reply(record, text), record.runId);
      return resumeIfDue(waiting);
    }
    const status = verdict.kind === 'fail' ? 'FAILED' : 'PREEMPTED';
    const ended: RunRecord = { ...record, status, finishedAt: preemptedAt, detail: verdict.detail };
    const final = { ...ended, cost: await deps.costOf(ended) };
    await ledger.append(final, 'preempted');
    log.notice('Run preempted; it ends', { status, attempt: attemptOf(record) });
    await deps.notify(reply(record, text), record.runId);
    if (pipeline) await deps.release(deps.executorFor(pipeline), final);
    await deps.notify(finishedMessage(final), record.runId);
    return final;
  };

  return { interrupted, resumeIfDue };
}
