/**
 * Looking at runs: an active run's executor is asked how it is doing, a status change is
 * recorded (the end with its cost, its release and its Slack message), and a run past its
 * deadline is stopped. Looks that overlap share one, so an end is recorded and announced once
 * per function instance. The run service reads every run through here.
 */
import {
  postBestEffort,
  type Notifier,
  type PostedMessage,
  type SlackMessage,
} from '../adapters/slack.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { PriceLookup } from '../core/pricing.js';
import type { Pipeline, RunsConfig } from './config.js';
import type { RunExecutor, RunUsage } from './executor.js';
import { planCost, runSpans, type RecordedCostReader } from './run-cost.js';
import type { RunLedger } from './run-ledger.js';
import { finishedMessage, taskRetryReplies } from './run-messages.js';
import { attemptOf, isActive, type RunCost, type RunRecord } from './run-record.js';
import { createRunResumption } from './run-resumption.js';
import { observedRecord, statusChanged } from './run-transitions.js';

export interface RunObserverDeps {
  readonly ledger: Pick<RunLedger, 'append' | 'latest'>;
  readonly costs: Pick<RecordedCostReader, 'forRun'>;
  readonly prices: PriceLookup;
  readonly notifier: Notifier;
  readonly executorFor: (pipeline: Pipeline) => RunExecutor;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface Refreshed {
  readonly record: RunRecord;
  readonly usage: RunUsage | undefined;
  /** Whether this look recorded the run's end, and with it the cost it carries. */
  readonly ended: boolean;
}

export interface RunObserver {
  /** Looks at an active run and records what changed; other runs come back as they are. */
  refresh(record: RunRecord): Promise<Refreshed>;
  /** The run as it is now, with its cost so far. */
  current(record: RunRecord): Promise<RunRecord>;
  /** Whether a run is active once looked at; undefined when the ledger has no row of it. */
  isActive(runId: string): Promise<boolean | undefined>;
  /** Marks a run as being started by this instance while `task` runs (its rows may lag). */
  whileLaunching<T>(runId: string, task: () => Promise<T>): Promise<T>;
  /** Recorder rows for the run plus uptime × price for what they do not cover yet. */
  costOf(record: RunRecord, usage: RunUsage | undefined): Promise<RunCost | undefined>;
  /** Gives the run's resource up; a failure only delays the next start until the claim is stale. */
  release(executor: RunExecutor, record: RunRecord): Promise<void>;
  /** Posts about a run; a failure is logged, never fatal. */
  notify(message: SlackMessage, runId: string): Promise<PostedMessage | undefined>;
  /**
   * The VM of the run was preempted at `at`: the run resumes, fails or ends (run-resumption.ts);
   * a run waiting out its backoff starts its next attempt once due. Undefined: no such run.
   */
  preempted(runId: string, at: Date): Promise<RunRecord | undefined>;
}

/** Calls that overlap on one key share the first one's promise. */
function sharedByKey<T>(): (key: string, task: () => Promise<T>) => Promise<T> {
  const inFlight = new Map<string, Promise<T>>();
  return (key, task) => {
    const running = inFlight.get(key);
    if (running) return running;
    const started = task().finally(() => inFlight.delete(key));
    inFlight.set(key, started);
    return started;
  };
}

export function createRunObserver(deps: RunObserverDeps, config: RunsConfig): RunObserver {
  const { ledger, clock, logger } = deps;
  const launching = new Set<string>();
  const sharedLook = sharedByKey<Refreshed>();
  const sharedCheck = sharedByKey<boolean | undefined>();

  const notify = async (message: SlackMessage, runId: string) =>
    (
      await postBestEffort(deps.notifier, logger, message, {
        message: 'Slack message about a run was not sent',
        level: 'warn',
        context: { runId },
      })
    ).posted;

  const release = async (executor: RunExecutor, record: RunRecord): Promise<void> => {
    try {
      await executor.release(record);
    } catch (error) {
      logger.warn('The run did not give up its VM claim', { runId: record.runId, error });
    }
  };

  const costOf = async (
    record: RunRecord,
    usage: RunUsage | undefined,
  ): Promise<RunCost | undefined> => {
    if (record.executor !== 'vm') return undefined;
    const unpriced = { rate: undefined, spans: [] };
    try {
      const recorded = await deps.costs.forRun(record.runId);
      if (usage) {
        const rate = await deps.prices.rate(usage.machine);
        return planCost({ recorded, rate, spans: runSpans(record, usage.from, usage.until) });
      }
      if (recorded && record.finishedAt && recorded.coveredUntil >= record.finishedAt) {
        return planCost({ recorded, ...unpriced });
      }
      return record.cost ?? planCost({ recorded, ...unpriced });
    } catch (error) {
      logger.warn('The run cost could not be worked out', { runId: record.runId, error });
      return record.cost;
    }
  };

  const resumption = createRunResumption({
    ...deps,
    notify,
    release,
    costOf: (record) => costOf(record, undefined),
    config,
  });

  const look = async (record: RunRecord): Promise<Refreshed> => {
    const pipeline = config.pipelines.get(record.pipeline);
    if (!isActive(record.status) || !pipeline || pipeline.executor !== record.executor) {
      return { record, usage: undefined, ended: false };
    }
    if (record.status === 'PREEMPTED_RETRYING') {
      return { record: await resumption.resumeIfDue(record), usage: undefined, ended: false };
    }
    const executor = deps.executorFor(pipeline);
    const now = clock.now();
    const { decision, usage } = await executor.observe(record, now);
    // A preemption the event did not bring: the run resumes as the pipeline says.
    if (decision.status === 'PREEMPTED' && pipeline.executor === 'vm' && pipeline.resume) {
      const next = await resumption.interrupted(record, decision.finishedAt ?? now);
      return { record: next, usage, ended: !isActive(next.status) };
    }
    const log = logger.child({ runId: record.runId, pipeline: record.pipeline });
    if (decision.stopVm) {
      if (config.dryRun)
        log.notice('Dry run: the run is past its deadline; the VM would be stopped');
      else await executor.stop(record, 'timeout');
    }
    let next = observedRecord(record, decision, now);
    if (!statusChanged(record, next)) return { record: next, usage, ended: false };
    const final = !isActive(next.status);
    if (final) next = { ...next, cost: await costOf(next, usage) };
    await ledger.append(next, decision.stopVm ? 'timed-out' : 'observed');
    log.notice('Run status changed', {
      from: record.status,
      to: next.status,
      attempt: attemptOf(next),
      detail: next.detail,
    });
    if (decision.attempts && attemptOf(next) > attemptOf(record)) {
      for (const reply of taskRetryReplies(next, attemptOf(record), decision.attempts)) {
        await notify(reply, record.runId);
      }
    }
    if (final) {
      await release(executor, next);
      await notify(finishedMessage(next), record.runId);
    }
    return { record: next, usage, ended: final };
  };

  const refresh = (record: RunRecord): Promise<Refreshed> =>
    sharedLook(record.runId, () => look(record));

  return {
    refresh,
    async current(record) {
      const { record: refreshed, usage, ended } = await refresh(record);
      if (ended) return refreshed;
      return { ...refreshed, cost: await costOf(refreshed, usage) };
    },
    isActive(runId) {
      if (launching.has(runId)) return Promise.resolve(true);
      return sharedCheck(runId, async () => {
        const latest = await ledger.latest(runId);
        if (!latest) return undefined;
        if (!isActive(latest.status)) return false;
        return isActive((await refresh(latest)).record.status);
      });
    },
    async whileLaunching(runId, task) {
      launching.add(runId);
      try {
        return await task();
      } finally {
        launching.delete(runId);
      }
    },
    costOf,
    release,
    notify,
    async preempted(runId, at) {
      const latest = await ledger.latest(runId);
      if (!latest) return undefined;
      const look = async (): Promise<Refreshed> => {
        const next = await resumption.interrupted(latest, at);
        const resumed = await resumption.resumeIfDue(next);
        return { record: resumed, usage: undefined, ended: !isActive(resumed.status) };
      };
      return (await sharedLook(runId, look)).record;
    },
  };
}
