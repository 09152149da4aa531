/**
 * The run's lifecycle as pure steps: each takes the run as recorded and what was just learnt
 * (a start outcome, an observation, a refusal, a cancel) and returns the next snapshot for the
 * ledger. Nothing here calls anything; the run service carries the snapshots out.
 */
import { HOUR_MS } from '../core/clock.js';
import type { Pipeline } from './config.js';
import type { StartOutcome } from './executor.js';
import type { StatusDecision } from './plan-status.js';
import { hashKey, resultsPrefixOf } from './run-id.js';
import { attemptOf, isActive, jobResource, vmResource, type RunRecord } from './run-record.js';
import type { StartRequest } from './request.js';

/**
 * What a new run of the pipeline runs on: its VM or job; for several candidate VMs, all of them
 * (`vm:PROJECT/{ZONE/INSTANCE,...}`) until a start takes one.
 */
export function resourceOf(pipeline: Pipeline): string {
  if (pipeline.executor !== 'vm')
    return jobResource(pipeline.project, pipeline.region, pipeline.job);
  const [only, ...more] = pipeline.candidates;
  if (only && more.length === 0) return vmResource(pipeline.project, only.zone, only.instance);
  const listed = pipeline.candidates.map((c) => `${c.zone}/${c.instance}`).join(',');
  return `vm:${pipeline.project}/{${listed}}`;
}

/** The first snapshot of a run: STARTING, its deadline and where its results will go. */
export function newRunRecord(
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
    source: request.source,
    phases: undefined,
  };
}

/** The run once its executor started it (RUNNING, or STARTING for an execution still pending). */
export function startedRecord(
  record: RunRecord,
  outcome: Extract<StartOutcome, { kind: 'started' }>,
): RunRecord {
  return {
    ...record,
    status: outcome.status,
    startedAt: outcome.startedAt ?? record.startedAt,
    execution: outcome.execution ?? record.execution,
    logsUri: outcome.logsUri ?? record.logsUri,
    source: outcome.source ?? record.source,
    resource: outcome.resource ?? record.resource,
    placement: outcome.placement ?? record.placement,
    detail: outcome.unbounded
      ? `no maxRunDuration (${outcome.unbounded}); the deadline is enforced on status reads`
      : undefined,
  };
}

/** A run that ended at `now` without running further: start failed, refused, dry run, cancelled. */
export function endedRecord(
  record: RunRecord,
  status: 'FAILED' | 'REFUSED' | 'DRY_RUN' | 'CANCELLED',
  detail: string,
  now: Date,
): RunRecord {
  return { ...record, status, finishedAt: now, detail };
}

/** The run as an observation decides it: final statuses carry their end time. */
export function observedRecord(record: RunRecord, decision: StatusDecision, now: Date): RunRecord {
  const final = !isActive(decision.status);
  return {
    ...record,
    status: decision.status,
    startedAt: decision.startedAt ?? record.startedAt,
    finishedAt: final ? (decision.finishedAt ?? now) : undefined,
    exitMarker: decision.exitMarker ?? record.exitMarker,
    logsUri: decision.logsUri ?? record.logsUri,
    detail: decision.detail ?? record.detail,
    execution: decision.execution ?? record.execution,
    phases: decision.phases ?? record.phases,
    // Each retry of a Cloud Run task is an attempt of the run.
    attempt: decision.attempts
      ? Math.max(decision.attempts.attempt, attemptOf(record))
      : record.attempt,
  };
}

/** Whether a look changed what the ledger holds (status, start, execution or attempt). */
export function statusChanged(before: RunRecord, after: RunRecord): boolean {
  return !(
    before.status === after.status &&
    before.startedAt?.getTime() === after.startedAt?.getTime() &&
    before.execution === after.execution &&
    attemptOf(before) === attemptOf(after)
  );
}

/** Why a busy VM refused a start, as the refusal records it. */
export function busyDetail(reason: string, activeRunId: string | undefined): string {
  return `busy: ${reason}${activeRunId ? ` (run ${activeRunId})` : ''}`;
}
