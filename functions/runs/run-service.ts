/**
 * The run service: starts a run of an allow-listed pipeline and target, reports runs (and
 * notices their end), lists recent runs and cancels one. Each operation answers with a domain
 * outcome (started, replayed, over-cap, busy, not-allowed, not-found, …) that the HTTP edge
 * (`http.ts`) or any other caller turns into its own reply. Every run is a series of snapshots
 * in the `runs` table; every decision is one snapshot and one log line.
 */
import {
  ADMITTED,
  capWarningMessage,
  type Admission,
  type CapNotice,
} from '../caps/cap-admission.js';
import { HOUR_MS } from '../core/clock.js';
import { settleAll } from '../core/concurrency.js';
import { isTransient } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { apiMessage } from './api-message.js';
import type { Pipeline, RunsConfig } from './config.js';
import { maskSecrets } from '../core/redact.js';
import type { RunExecutor, RunLog } from './executor.js';
import { requestHash, type StartRequest } from './request.js';
import { newRunId, runIdForKey } from './run-id.js';
import type { RunLedger } from './run-ledger.js';
import { finishedMessage, startedMessage } from './run-messages.js';
import { createRunObserver, type RunObserverDeps } from './run-observer.js';
import { isActive, type RunRecord } from './run-record.js';
import { busyDetail, endedRecord, newRunRecord, startedRecord } from './run-transitions.js';
import { statusUrlOf } from './run-view.js';

/**
 * Who asks: an HTTP caller (the identity token's email), a Slack user, or costguard itself.
 * `id` is what the run records as its caller and a cancel as who cancelled it.
 */
export interface Actor {
  readonly id: string;
  readonly via: 'http' | 'slack' | 'system';
}

export interface RunServiceDeps extends RunObserverDeps {
  readonly ledger: Pick<RunLedger, 'append' | 'latest' | 'recent'>;
  /**
   * Whether the actor may start, see and cancel runs of the pipeline; throws when that cannot
   * be known (a group's membership could not be checked), which refuses the request.
   */
  readonly mayAct: (actor: Actor, pipeline: Pipeline) => boolean | Promise<boolean>;
  readonly newRunId?: () => string;
  /** Whether the Spot caps the pipeline's VM or job falls in let it start (none: always). */
  readonly admission?: (pipeline: Pipeline, now: Date) => Promise<Admission>;
}

export type StartRunOutcome =
  | {
      readonly kind: 'started';
      readonly run: RunRecord;
      readonly capWarnings: readonly CapNotice[];
    }
  | { readonly kind: 'replayed'; readonly run: RunRecord }
  | {
      readonly kind: 'dry-run';
      readonly run: RunRecord;
      readonly plan: string[];
      readonly capWarnings: readonly CapNotice[];
    }
  | { readonly kind: 'not-allowed'; readonly pipeline: string }
  | { readonly kind: 'key-reused'; readonly runId: string }
  | { readonly kind: 'over-cap'; readonly cap: CapNotice }
  | { readonly kind: 'busy'; readonly activeRunId: string | undefined; readonly reason: string }
  | { readonly kind: 'start-failed'; readonly run: RunRecord };

export type GetRunOutcome =
  { readonly kind: 'found'; readonly run: RunRecord } | { readonly kind: 'not-found' };

export type ListRunsOutcome =
  | { readonly kind: 'listed'; readonly runs: readonly RunRecord[] }
  | { readonly kind: 'not-allowed'; readonly pipeline: string };

export type CancelRunOutcome =
  | { readonly kind: 'cancelled'; readonly run: RunRecord }
  | { readonly kind: 'dry-run'; readonly run: RunRecord }
  | { readonly kind: 'not-active'; readonly run: RunRecord }
  | { readonly kind: 'not-found' };

/** The next part of a run's console for a caller, cleaned for a terminal. */
export type RunLogOutcome =
  | { readonly kind: 'found'; readonly run: RunRecord; readonly log: RunLog }
  | { readonly kind: 'not-found' };

export interface StartCommand {
  readonly request: StartRequest;
  /** The Idempotency-Key: a repeat with it gets the same run. */
  readonly key: string | undefined;
  readonly actor: Actor;
}

export interface RunService {
  start(command: StartCommand): Promise<StartRunOutcome>;
  get(runId: string, actor: Actor): Promise<GetRunOutcome>;
  /** Recent runs of one pipeline, or of every pipeline the actor may see. */
  list(
    query: { pipeline: string | undefined; limit: number },
    actor: Actor,
  ): Promise<ListRunsOutcome>;
  cancel(runId: string, actor: Actor): Promise<CancelRunOutcome>;
  /** The run's console from byte `offset` on (batch VM), or where its log is (Cloud Run). */
  log(runId: string, actor: Actor, offset: number): Promise<RunLogOutcome>;
}

/** How far back the listing looks. */
const LIST_LOOKBACK_MS = 90 * 24 * HOUR_MS;
const REFRESH_CONCURRENCY = 4;

export function createRunService(deps: RunServiceDeps, config: RunsConfig): RunService {
  const { ledger, clock, logger } = deps;
  const observer = createRunObserver(deps, config);
  const nextRunId = deps.newRunId ?? (() => newRunId());
  /** Keyed starts in flight: a concurrent repeat of one shares its outcome. */
  const starting = new Map<string, { hash: string; outcome: Promise<StartRunOutcome> }>();

  /** The run's record if the actor may see it (a run it may not see is, to it, no run at all). */
  const visibleRun = async (runId: string, actor: Actor): Promise<RunRecord | undefined> => {
    const record = await ledger.latest(runId);
    const pipeline = record && config.pipelines.get(record.pipeline);
    return pipeline && (await deps.mayAct(actor, pipeline)) ? record : undefined;
  };

  /** A refusal gets its own id: a retry with the same Idempotency-Key may still start the run. */
  const refuse = async (record: RunRecord, detail: string): Promise<RunRecord> => {
    const refused = endedRecord({ ...record, runId: nextRunId() }, 'REFUSED', detail, clock.now());
    await ledger.append(refused, 'refused');
    return refused;
  };

  const startRun = async (
    request: StartRequest,
    ids: { runId: string; hash: string; key: string | undefined; keyed: boolean },
    actor: Actor,
  ): Promise<StartRunOutcome> => {
    const { pipeline } = request;
    const { runId, hash, key, keyed } = ids;
    const now = clock.now();
    const log = logger.child({
      runId,
      pipeline: pipeline.name,
      target: request.target,
      caller: actor.id,
    });

    const earlier = keyed ? await ledger.latest(runId) : undefined;
    if (earlier && earlier.requestHash !== hash) {
      log.warn('Idempotency-Key reused for a different request; refused');
      return { kind: 'key-reused', runId };
    }
    if (earlier && earlier.status !== 'STARTING') {
      log.info('Repeated request; returning the same run', { status: earlier.status });
      return { kind: 'replayed', run: await observer.current(earlier) };
    }
    if (earlier) log.info('Repeated request for a run still starting; resuming it');
    const record = earlier ?? newRunRecord(request, { runId, hash, key, caller: actor.id, now });

    const admission =
      pipeline.ignoreSpotCaps || !deps.admission ? ADMITTED : await deps.admission(pipeline, now);
    if (admission.refused) {
      const cap = admission.refused;
      const refused = await refuse(record, `over Spot cap: ${cap.message}`);
      logger.warn('Run refused: a Spot cap is at its shedding tier', {
        pipeline: record.pipeline,
        caller: record.caller,
        refusedRunId: refused.runId,
        cap: cap.cap,
        spend: cap.spend,
        capAmount: cap.capAmount,
      });
      return { kind: 'over-cap', cap };
    }
    const executor = deps.executorFor(pipeline);
    if (config.dryRun) {
      const planned = endedRecord(record, 'DRY_RUN', 'dry run', now);
      const plan = executor.describeStart(planned);
      await ledger.append(planned, 'dry-run');
      log.notice('Dry run: the run was planned, nothing was started', { plan });
      return { kind: 'dry-run', run: planned, plan, capWarnings: admission.warnings };
    }
    return observer.whileLaunching(runId, () => launch(record, executor, log, admission.warnings));
  };

  /**
   * Starts the run on its executor: STARTING is recorded once the resource is ours, RUNNING (or
   * STARTING, for an execution still pending) once it started. A permanent failure is recorded
   * as FAILED; a transient one leaves STARTING for a retry with the same Idempotency-Key.
   */
  const launch = async (
    requested: RunRecord,
    executor: RunExecutor,
    log: Logger,
    capWarnings: readonly CapNotice[],
  ): Promise<StartRunOutcome> => {
    // Once claimed, the run names the VM it took.
    let record = requested;
    let outcome;
    try {
      outcome = await executor.start(record, {
        claimed: async (placed) => {
          if (placed) record = { ...record, ...placed };
          await ledger.append(record, 'requested');
        },
        holderActive: (holder) => observer.isActive(holder),
      });
    } catch (error) {
      if (isTransient(error)) throw error;
      await observer.release(executor, record);
      const failed = endedRecord(record, 'FAILED', apiMessage(error), clock.now());
      await ledger.append(failed, 'start-failed');
      log.error('The run could not be started', { error });
      await observer.notify(finishedMessage(failed), record.runId);
      return { kind: 'start-failed', run: failed };
    }
    if (outcome.kind === 'busy') {
      const { activeRunId, reason } = outcome;
      const refused = await refuse(
        { ...record, placement: outcome.placement ?? record.placement },
        busyDetail(reason, activeRunId),
      );
      logger.warn('Run refused: the VM is busy', {
        pipeline: record.pipeline,
        caller: record.caller,
        refusedRunId: refused.runId,
        activeRunId,
        reason,
      });
      return { kind: 'busy', activeRunId, reason };
    }
    let started = startedRecord(record, outcome);
    const where = started.resource.replace(/^(vm|job):/, '');
    const statusUrl = statusUrlOf(config.publicUrl, record.runId);
    const posted = await observer.notify(startedMessage(started, where, statusUrl), record.runId);
    if (posted) started = { ...started, slackChannel: posted.channel, slackTs: posted.ts };
    await ledger.append(started, 'started');
    log.notice('Run started', {
      status: started.status,
      resource: started.resource,
      execution: started.execution,
    });
    if (capWarnings.length > 0) {
      log.warn('Run started under a Spot cap forecast to cross a tier', { capWarnings });
      await observer.notify(capWarningMessage(started, capWarnings), record.runId);
    }
    return { kind: 'started', run: started, capWarnings };
  };

  return {
    async start({ request, key, actor }) {
      if (!(await deps.mayAct(actor, request.pipeline))) {
        return { kind: 'not-allowed', pipeline: request.pipeline.name };
      }
      const hash = requestHash(request);
      // A dry run never takes the key's run id, so switching dry-run off later starts the run;
      // its random id has no earlier record to look up.
      const keyed = key && !config.dryRun ? key : undefined;
      if (!keyed) return startRun(request, { runId: nextRunId(), hash, key, keyed: false }, actor);
      const runId = runIdForKey(request.pipeline.name, actor.id, keyed);
      const inFlight = starting.get(runId);
      if (inFlight) {
        return inFlight.hash === hash ? inFlight.outcome : { kind: 'key-reused', runId };
      }
      const outcome = startRun(request, { runId, hash, key: keyed, keyed: true }, actor).finally(
        () => starting.delete(runId),
      );
      starting.set(runId, { hash, outcome });
      return outcome;
    },

    async get(runId, actor) {
      const record = await visibleRun(runId, actor);
      if (!record) return { kind: 'not-found' };
      return { kind: 'found', run: await observer.current(record) };
    },

    async list({ pipeline, limit }, actor) {
      const mayList = async (p: Pipeline | undefined): Promise<boolean> =>
        !!p && (await deps.mayAct(actor, p));
      if (pipeline !== undefined && !(await mayList(config.pipelines.get(pipeline)))) {
        return { kind: 'not-allowed', pipeline };
      }
      const pipelines: string[] = [];
      for (const p of pipeline ? [] : config.pipelines.values()) {
        if (await mayList(p)) pipelines.push(p.name);
      }
      if (pipeline) pipelines.push(pipeline);
      const records = await ledger.recent({
        pipelines,
        limit,
        since: new Date(clock.now().getTime() - LIST_LOOKBACK_MS),
      });
      const looks = await settleAll(records, REFRESH_CONCURRENCY, (r) => observer.refresh(r));
      const runs = looks.map((look, i) => {
        if (look.status === 'fulfilled') return look.value.record;
        const stale = records[i] as RunRecord;
        logger.warn('A run could not be looked at; listing its last recorded status', {
          runId: stale.runId,
          error: look.reason,
        });
        return stale;
      });
      return { kind: 'listed', runs };
    },

    async log(runId, actor, offset) {
      const record = await visibleRun(runId, actor);
      if (!record) return { kind: 'not-found' };
      const pipeline = config.pipelines.get(record.pipeline);
      if (!pipeline || pipeline.executor !== record.executor) {
        return { kind: 'found', run: record, log: { kind: 'none', next: offset } };
      }
      const log = await deps.executorFor(pipeline).readLog(record, offset);
      if (log.kind !== 'console') return { kind: 'found', run: record, log };
      // Terminal control sequences are dropped and anything token-shaped is masked: the console
      // reaches a person's terminal and the saved transcript.
      const contents = maskSecrets(log.contents.replace(/[^\P{Cc}\n\t]/gu, ''));
      return { kind: 'found', run: record, log: { ...log, contents } };
    },

    async cancel(runId, actor) {
      const record = await visibleRun(runId, actor);
      if (!record) return { kind: 'not-found' };
      const { record: current, usage } = await observer.refresh(record);
      const pipeline = config.pipelines.get(current.pipeline);
      if (!isActive(current.status) || !pipeline) return { kind: 'not-active', run: current };
      const log = logger.child({ runId, pipeline: current.pipeline, caller: actor.id });
      if (config.dryRun) {
        log.notice('Dry run: the run would be cancelled');
        return { kind: 'dry-run', run: current };
      }
      await deps.executorFor(pipeline).stop(current, 'cancel');
      const now = clock.now();
      const ended = endedRecord(current, 'CANCELLED', `cancelled by ${actor.id}`, now);
      const cost = await observer.costOf(ended, usage ? { ...usage, until: now } : undefined);
      const cancelled = { ...ended, cost };
      await ledger.append(cancelled, 'cancelled');
      log.notice('Run cancelled');
      await observer.notify(finishedMessage(cancelled), runId);
      return { kind: 'cancelled', run: cancelled };
    },
  };
}
