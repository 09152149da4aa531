import {
  ADMITTED,
  capWarningMessage,
  type Admission,
  type CapNotice,
} from '../caps/cap-admission.js';
import type { Request } from '@google-cloud/functions-framework';
import type { Notifier, PostedMessage, SlackMessage } from '../adapters/slack.js';
import { HOUR_MS, type Clock } from '../core/clock.js';
import { settleAll } from '../core/concurrency.js';
import { isTransient } from '../core/errors.js';
import type { HttpLogic, HttpReply } from '../core/handlers.js';
import type { Logger } from '../core/logger.js';
import type { PriceLookup } from '../core/pricing.js';
import { runApiDocument } from './api-document.js';
import { apiMessage } from './api-message.js';
import { authenticate, invokablePipelines, mayInvoke, type Caller } from './authorize.js';
import type { Pipeline, RunsConfig } from './config.js';
import type { RunExecutor, RunUsage } from './executor.js';
import {
  bodyTooLarge,
  idempotencyKeyOf,
  isJson,
  parseListQuery,
  parseStartRequest,
  requestHash,
  routeRequest,
  type StartRequest,
} from './request.js';
import { planCost, type RecordedCostReader } from './run-cost.js';
import { hashKey, newRunId, resultsPrefixOf, runIdForKey } from './run-id.js';
import type { RunLedger } from './run-ledger.js';
import { finishedMessage, startedMessage } from './run-messages.js';
import {
  isActive,
  jobResource,
  vmResource,
  type RunCost,
  type RunRecord,
  type RunStatus,
} from './run-record.js';
import { statusUrlOf, viewOf } from './run-view.js';

/**
 * The run trigger: `POST /runs` starts a run of an allow-listed pipeline and target,
 * `GET /runs/{runId}` reports it (and notices its end), `GET /runs` lists recent runs,
 * `POST /runs/{runId}:cancel` stops it; `GET /openapi.json` describes all of it. Every run is a series of snapshots in the `runs`
 * table; every decision is one snapshot and one log line.
 */
export interface TriggerRunDeps {
  readonly ledger: Pick<RunLedger, 'append' | 'latest' | 'recent'>;
  readonly costs: Pick<RecordedCostReader, 'forRun'>;
  readonly prices: PriceLookup;
  readonly notifier: Notifier;
  readonly executorFor: (pipeline: Pipeline) => RunExecutor;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly newRunId?: () => string;
  /** Whether the Spot caps the pipeline's VM or job falls in let it start (none: always). */
  readonly admission?: (pipeline: Pipeline, now: Date) => Promise<Admission>;
}

/** How far back the listing looks. */
const LIST_LOOKBACK_MS = 90 * 24 * HOUR_MS;
const REFRESH_CONCURRENCY = 4;

function reply(status: number, body: unknown, headers?: Record<string, string>): HttpReply {
  return headers ? { status, body, headers } : { status, body };
}

function keyReused(runId: string): HttpReply {
  return reply(422, { error: 'This Idempotency-Key was used for a different request', runId });
}

function resourceOf(pipeline: Pipeline): string {
  return pipeline.executor === 'vm'
    ? vmResource(pipeline.project, pipeline.zone, pipeline.instance)
    : jobResource(pipeline.project, pipeline.region, pipeline.job);
}

function sameStatus(a: RunRecord, b: RunRecord): boolean {
  return (
    a.status === b.status &&
    a.startedAt?.getTime() === b.startedAt?.getTime() &&
    a.execution === b.execution
  );
}

interface Refreshed {
  readonly record: RunRecord;
  readonly usage: RunUsage | undefined;
  /** Whether this look recorded the run's end, and with it the cost it carries. */
  readonly ended: boolean;
}

export class RunService {
  private readonly newRunId: () => string;
  private readonly refreshing = new Map<string, Promise<Refreshed>>();
  /** Runs this instance is starting right now (their ledger rows may still be on the way). */
  private readonly launching = new Set<string>();
  private readonly checking = new Map<string, Promise<boolean | undefined>>();
  /** Keyed starts in flight: a concurrent repeat of one shares its reply. */
  private readonly starting = new Map<string, { hash: string; reply: Promise<HttpReply> }>();

  constructor(
    private readonly deps: TriggerRunDeps,
    private readonly config: RunsConfig,
  ) {
    this.newRunId = deps.newRunId ?? (() => newRunId());
  }

  private statusUrl(runId: string): string {
    return statusUrlOf(this.config.publicUrl, runId);
  }

  private view(record: RunRecord): ReturnType<typeof viewOf> {
    return viewOf(record, this.config.publicUrl);
  }

  private async notify(message: SlackMessage, runId: string): Promise<PostedMessage | undefined> {
    try {
      return await this.deps.notifier.post(message);
    } catch (error) {
      this.deps.logger.warn('Slack message about a run was not sent', { runId, error });
      return undefined;
    }
  }

  async start(request: StartRequest, key: string | undefined, caller: string): Promise<HttpReply> {
    const hash = requestHash(request);
    // A dry run never takes the key's run id, so switching dry-run off later starts the run; its
    // random id has no earlier record to look up.
    const keyed = key && !this.config.dryRun ? key : undefined;
    if (!keyed) return this.startRun(request, { runId: this.newRunId(), hash, key }, caller);
    const runId = runIdForKey(request.pipeline.name, caller, keyed);
    const inFlight = this.starting.get(runId);
    if (inFlight) {
      if (inFlight.hash !== hash) return keyReused(runId);
      return inFlight.reply;
    }
    const started = this.startRun(request, { runId, hash, key: keyed, keyed }, caller).finally(() =>
      this.starting.delete(runId),
    );
    this.starting.set(runId, { hash, reply: started });
    return started;
  }

  private async startRun(
    request: StartRequest,
    ids: { runId: string; hash: string; key: string | undefined; keyed?: string },
    caller: string,
  ): Promise<HttpReply> {
    const { ledger, logger, clock } = this.deps;
    const { pipeline } = request;
    const { runId, hash, key, keyed } = ids;
    const now = clock.now();
    const log = logger.child({ runId, pipeline: pipeline.name, target: request.target, caller });

    const earlier = keyed ? await ledger.latest(runId) : undefined;
    if (earlier && earlier.requestHash !== hash) {
      log.warn('Idempotency-Key reused for a different request; refused');
      return keyReused(runId);
    }
    if (earlier && earlier.status !== 'STARTING') {
      log.info('Repeated request; returning the same run', { status: earlier.status });
      return reply(202, this.view(await this.current(earlier)), {
        'Idempotent-Replayed': 'true',
        Location: this.statusUrl(runId),
      });
    }
    if (earlier) log.info('Repeated request for a run still starting; resuming it');
    const record = earlier ?? this.newRecord(request, { runId, hash, key, caller, now });

    const admission =
      pipeline.ignoreSpotCaps || !this.deps.admission
        ? ADMITTED
        : await this.deps.admission(pipeline, now);
    if (admission.refused) return this.refuseOverCap(record, admission.refused);
    const capWarnings = admission.warnings.length > 0 ? { capWarnings: admission.warnings } : {};
    const executor = this.deps.executorFor(pipeline);
    if (this.config.dryRun) {
      const planned: RunRecord = {
        ...record,
        status: 'DRY_RUN',
        finishedAt: now,
        detail: 'dry run',
      };
      const plan = executor.describeStart(planned);
      await ledger.append(planned, 'dry-run');
      log.notice('Dry run: the run was planned, nothing was started', { plan });
      return reply(200, { dryRun: true, plan, ...this.view(planned), ...capWarnings });
    }
    return this.launch(record, executor, log, admission.warnings);
  }

  private newRecord(
    request: StartRequest,
    ids: { runId: string; hash: string; key: string | undefined; caller: string; now: Date },
  ): RunRecord {
    const { pipeline } = request;
    return {
      runId: ids.runId,
      pipeline: pipeline.name,
      executor: pipeline.executor,
      target: request.target,
      params: request.params,
      status: 'STARTING',
      caller: ids.caller,
      idempotencyKey: ids.key ? hashKey(ids.key) : undefined,
      requestHash: ids.hash,
      resource: resourceOf(pipeline),
      requestedAt: ids.now,
      startedAt: undefined,
      finishedAt: undefined,
      deadline: new Date(ids.now.getTime() + pipeline.maxRunHours * HOUR_MS),
      execution: undefined,
      resultsPrefix: pipeline.bucket ? resultsPrefixOf(pipeline.bucket, ids.runId) : undefined,
      logsUri: undefined,
      exitMarker: undefined,
      detail: undefined,
      cost: undefined,
      slackChannel: undefined,
      slackTs: undefined,
    };
  }

  /**
   * Starts the run on its executor: STARTING is recorded once the resource is ours, RUNNING (or
   * STARTING, for an execution still pending) once it started. A permanent failure is recorded
   * as FAILED; a transient one leaves STARTING for a retry with the same Idempotency-Key.
   */
  private async launch(
    record: RunRecord,
    executor: RunExecutor,
    log: Logger,
    capWarnings: readonly CapNotice[],
  ): Promise<HttpReply> {
    this.launching.add(record.runId);
    try {
      return await this.launchOn(record, executor, log, capWarnings);
    } finally {
      this.launching.delete(record.runId);
    }
  }

  private async launchOn(
    record: RunRecord,
    executor: RunExecutor,
    log: Logger,
    capWarnings: readonly CapNotice[],
  ): Promise<HttpReply> {
    const { ledger, clock } = this.deps;
    let outcome;
    try {
      outcome = await executor.start(record, {
        claimed: () => ledger.append(record, 'requested'),
        holderActive: (holder) => this.isActive(holder),
      });
    } catch (error) {
      if (isTransient(error)) throw error;
      await this.release(executor, record);
      const failed: RunRecord = {
        ...record,
        status: 'FAILED',
        finishedAt: clock.now(),
        detail: apiMessage(error),
      };
      await ledger.append(failed, 'start-failed');
      log.error('The run could not be started', { error });
      await this.notify(finishedMessage(failed), record.runId);
      return reply(422, { error: 'The run could not be started', ...this.view(failed) });
    }
    if (outcome.kind === 'busy') return this.refuse(record, outcome.activeRunId, outcome.reason);

    let started: RunRecord = {
      ...record,
      status: outcome.status,
      startedAt: outcome.startedAt ?? record.startedAt,
      execution: outcome.execution ?? record.execution,
      logsUri: outcome.logsUri ?? record.logsUri,
      detail: outcome.unbounded
        ? `no maxRunDuration (${outcome.unbounded}); the deadline is enforced on status reads`
        : undefined,
    };
    const where = started.resource.replace(/^(vm|job):/, '');
    const statusUrl = this.statusUrl(record.runId);
    const posted = await this.notify(startedMessage(started, where, statusUrl), record.runId);
    if (posted) started = { ...started, slackChannel: posted.channel, slackTs: posted.ts };
    await ledger.append(started, 'started');
    log.notice('Run started', {
      status: started.status,
      resource: started.resource,
      execution: started.execution,
    });
    if (capWarnings.length > 0) {
      log.warn('Run started under a Spot cap forecast to cross a tier', { capWarnings });
      await this.notify(capWarningMessage(started, capWarnings), record.runId);
      return reply(202, { ...this.view(started), capWarnings }, { Location: statusUrl });
    }
    return reply(202, this.view(started), { Location: statusUrl });
  }

  /** A start refused because a Spot cap it falls in is at or over its shedding tier. */
  private async refuseOverCap(record: RunRecord, cap: CapNotice): Promise<HttpReply> {
    const refused: RunRecord = {
      ...record,
      runId: this.newRunId(),
      status: 'REFUSED',
      finishedAt: this.deps.clock.now(),
      detail: `over Spot cap: ${cap.message}`,
    };
    await this.deps.ledger.append(refused, 'refused');
    this.deps.logger.warn('Run refused: a Spot cap is at its shedding tier', {
      pipeline: record.pipeline,
      caller: record.caller,
      refusedRunId: refused.runId,
      cap: cap.cap,
      spend: cap.spend,
      capAmount: cap.capAmount,
    });
    return reply(409, {
      error: cap.message,
      cap: cap.cap,
      spend: cap.spend,
      capAmount: cap.capAmount,
      currency: cap.currency,
      resetsAt: cap.resetsAt,
    });
  }

  /**
   * Whether a run is active once looked at; undefined when the ledger has no row of it.
   * Concurrent starts that find the same holder share one look.
   */
  private isActive(runId: string): Promise<boolean | undefined> {
    if (this.launching.has(runId)) return Promise.resolve(true);
    const inFlight = this.checking.get(runId);
    if (inFlight) return inFlight;
    const check = this.lookUpActive(runId).finally(() => this.checking.delete(runId));
    this.checking.set(runId, check);
    return check;
  }

  private async lookUpActive(runId: string): Promise<boolean | undefined> {
    const latest = await this.deps.ledger.latest(runId);
    if (!latest) return undefined;
    if (!isActive(latest.status)) return false;
    const { record } = await this.refresh(latest);
    return isActive(record.status);
  }

  /** Gives the run's resource up; a failure only delays the next start until the claim is seen as stale. */
  private async release(executor: RunExecutor, record: RunRecord): Promise<void> {
    try {
      await executor.release(record);
    } catch (error) {
      this.deps.logger.warn('The run did not give up its VM claim', {
        runId: record.runId,
        error,
      });
    }
  }

  private async refuse(
    record: RunRecord,
    activeRunId: string | undefined,
    reason: string,
  ): Promise<HttpReply> {
    // A refusal gets its own id: a retry with the same Idempotency-Key may still start the run later.
    const refused: RunRecord = {
      ...record,
      runId: this.newRunId(),
      status: 'REFUSED',
      finishedAt: this.deps.clock.now(),
      detail: `busy: ${reason}${activeRunId ? ` (run ${activeRunId})` : ''}`,
    };
    await this.deps.ledger.append(refused, 'refused');
    this.deps.logger.warn('Run refused: the VM is busy', {
      pipeline: record.pipeline,
      caller: record.caller,
      refusedRunId: refused.runId,
      activeRunId,
      reason,
    });
    return reply(409, {
      error: `The pipeline's VM is busy: ${reason}`,
      activeRunId: activeRunId ?? null,
    });
  }

  /** The run as it is now: active runs are looked at (and their end recorded), others read. */
  private async current(record: RunRecord): Promise<RunRecord> {
    const { record: refreshed, usage, ended } = await this.refresh(record);
    if (ended) return refreshed;
    return { ...refreshed, cost: await this.costOf(refreshed, usage) };
  }

  /**
   * Looks at an active run and records a status change (and the end, with its cost, and the
   * Slack message); a run past its deadline that is still running is stopped.
   */
  async refresh(record: RunRecord): Promise<Refreshed> {
    // Reads that overlap (a listing and a status read of the same run) share one look, so the
    // end of a run is recorded and announced once per function instance.
    const inFlight = this.refreshing.get(record.runId);
    if (inFlight) return inFlight;
    const look = this.look(record).finally(() => this.refreshing.delete(record.runId));
    this.refreshing.set(record.runId, look);
    return look;
  }

  private async look(record: RunRecord): Promise<Refreshed> {
    const pipeline = this.config.pipelines.get(record.pipeline);
    if (!isActive(record.status) || !pipeline || pipeline.executor !== record.executor) {
      return { record, usage: undefined, ended: false };
    }
    const { clock, logger } = this.deps;
    const executor = this.deps.executorFor(pipeline);
    const now = clock.now();
    const { decision, usage } = await executor.observe(record, now);
    const log = logger.child({ runId: record.runId, pipeline: record.pipeline });
    if (decision.stopVm) {
      if (this.config.dryRun)
        log.notice('Dry run: the run is past its deadline; the VM would be stopped');
      else await executor.stop(record, 'timeout');
    }
    const final = !isActive(decision.status);
    let next: RunRecord = {
      ...record,
      status: decision.status,
      startedAt: decision.startedAt ?? record.startedAt,
      finishedAt: final ? (decision.finishedAt ?? now) : undefined,
      exitMarker: decision.exitMarker ?? record.exitMarker,
      logsUri: decision.logsUri ?? record.logsUri,
      detail: decision.detail ?? record.detail,
      execution: decision.execution ?? record.execution,
    };
    if (sameStatus(record, next)) return { record: next, usage, ended: false };
    if (final) next = { ...next, cost: await this.costOf(next, usage) };
    await this.deps.ledger.append(next, decision.stopVm ? 'timed-out' : 'observed');
    log.notice('Run status changed', { from: record.status, to: next.status, detail: next.detail });
    if (final) {
      await this.release(executor, next);
      await this.notify(finishedMessage(next), record.runId);
    }
    return { record: next, usage, ended: final };
  }

  /** Recorder rows for the run plus uptime × price for what they do not cover yet. */
  private async costOf(
    record: RunRecord,
    usage: RunUsage | undefined,
  ): Promise<RunCost | undefined> {
    if (record.executor !== 'vm') return undefined;
    try {
      const recorded = await this.deps.costs.forRun(record.runId);
      if (usage) {
        const rate = await this.deps.prices.rate(usage.machine);
        return planCost({ recorded, rate, from: usage.from, until: usage.until });
      }
      if (recorded && record.finishedAt && recorded.coveredUntil >= record.finishedAt) {
        return planCost({ recorded, rate: undefined, from: undefined, until: undefined });
      }
      return (
        record.cost ?? planCost({ recorded, rate: undefined, from: undefined, until: undefined })
      );
    } catch (error) {
      this.deps.logger.warn('The run cost could not be worked out', { runId: record.runId, error });
      return record.cost;
    }
  }

  async get(runId: string, visible: (pipeline: string) => boolean): Promise<HttpReply> {
    const record = await this.deps.ledger.latest(runId);
    if (!record || !visible(record.pipeline)) return reply(404, { error: 'No such run' });
    return reply(200, this.view(await this.current(record)));
  }

  async list(options: { pipelines: readonly string[]; limit: number }): Promise<HttpReply> {
    const now = this.deps.clock.now();
    const records = await this.deps.ledger.recent({
      pipelines: options.pipelines,
      limit: options.limit,
      since: new Date(now.getTime() - LIST_LOOKBACK_MS),
    });
    const outcomes = await settleAll(records, REFRESH_CONCURRENCY, (r) => this.refresh(r));
    const runs = outcomes.map((outcome, i) => {
      if (outcome.status === 'fulfilled') return outcome.value.record;
      const stale = records[i] as RunRecord;
      this.deps.logger.warn('A run could not be looked at; listing its last recorded status', {
        runId: stale.runId,
        error: outcome.reason,
      });
      return stale;
    });
    return reply(200, { runs: runs.map((r) => this.view(r)) });
  }

  async cancel(
    runId: string,
    caller: string,
    visible: (pipeline: string) => boolean,
  ): Promise<HttpReply> {
    const record = await this.deps.ledger.latest(runId);
    if (!record || !visible(record.pipeline)) return reply(404, { error: 'No such run' });
    const { record: current, usage } = await this.refresh(record);
    const pipeline = this.config.pipelines.get(current.pipeline);
    if (!isActive(current.status) || !pipeline) {
      return reply(409, { error: 'The run is not active', runId, status: current.status });
    }
    const log = this.deps.logger.child({ runId, pipeline: current.pipeline, caller });
    if (this.config.dryRun) {
      log.notice('Dry run: the run would be cancelled');
      return reply(200, { dryRun: true, ...this.view(current) });
    }
    await this.deps.executorFor(pipeline).stop(current, 'cancel');
    const now = this.deps.clock.now();
    let cancelled: RunRecord = {
      ...current,
      status: 'CANCELLED' satisfies RunStatus,
      finishedAt: now,
      detail: `cancelled by ${caller}`,
    };
    cancelled = {
      ...cancelled,
      cost: await this.costOf(cancelled, usage ? { ...usage, until: now } : undefined),
    };
    await this.deps.ledger.append(cancelled, 'cancelled');
    log.notice('Run cancelled');
    await this.notify(finishedMessage(cancelled), runId);
    return reply(202, this.view(cancelled));
  }
}

/** The HTTP logic of `triggerRun`: routing and the request edge, then the run service. */
export function makeTriggerRun(deps: TriggerRunDeps, config: RunsConfig): HttpLogic {
  const service = new RunService(deps, config);
  const forbidden = (pipeline: string, caller: Caller): HttpReply => {
    deps.logger.warn('Caller refused: not an invoker of the pipeline', {
      pipeline,
      caller: caller.email,
    });
    return reply(403, { error: `You are not an invoker of pipeline ${pipeline}` });
  };
  return async (request: Request): Promise<HttpReply> => {
    const headers = request.headers as Record<string, unknown>;
    if (bodyTooLarge(headers, request.rawBody)) {
      return reply(413, { error: 'The request body is too large' });
    }
    const route = routeRequest(request.method, request.path);
    // The API's description is no secret; Cloud Run IAM still decides who reaches it.
    if (route.kind === 'api-document') return reply(200, runApiDocument(config.publicUrl));
    const authentication = authenticate(request.headers, config.audiences);
    if (!authentication.ok) {
      deps.logger.warn('Caller refused: not authenticated', {
        reason: authentication.reason,
        method: request.method,
        path: request.path,
      });
      return reply(
        401,
        { error: 'Call with an identity token issued for this function' },
        { 'WWW-Authenticate': 'Bearer' },
      );
    }
    const { caller } = authentication;
    // A run of a pipeline the caller may not invoke is, to them, no run at all.
    const visible = (name: string): boolean => {
      const pipeline = config.pipelines.get(name);
      return pipeline !== undefined && mayInvoke(pipeline, caller);
    };
    switch (route.kind) {
      case 'not-found':
        return reply(404, { error: 'Not found' });
      case 'method-not-allowed':
        return reply(405, { error: 'Method not allowed' }, { Allow: route.allow.join(', ') });
      case 'start': {
        if (!isJson(headers))
          return reply(415, { error: 'Send the run request as application/json' });
        const start = parseStartRequest(request.body, config.pipelines);
        if (!mayInvoke(start.pipeline, caller)) return forbidden(start.pipeline.name, caller);
        const key = idempotencyKeyOf(headers);
        return service.start(start, key, caller.email);
      }
      case 'list': {
        const { pipeline, limit } = parseListQuery(request.query, config.pipelines);
        if (pipeline !== undefined && !visible(pipeline)) return forbidden(pipeline, caller);
        const pipelines = pipeline ? [pipeline] : invokablePipelines(config.pipelines, caller);
        return service.list({ pipelines, limit });
      }
      case 'get':
        return service.get(route.runId, visible);
      case 'cancel':
        return service.cancel(route.runId, caller.email, visible);
    }
  };
}
