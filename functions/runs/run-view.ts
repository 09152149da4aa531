import type { Placement } from './pick-candidate.js';
import { iso } from './run-ledger.js';
import { attemptOf, type RunRecord } from './run-record.js';

/** A run as the API shows it: times as ISO text, where the logs are, and the cost so far. */
export interface RunView {
  runId: string;
  pipeline: string;
  executor: string;
  target: string;
  params: Record<string, string>;
  status: string;
  caller: string;
  requestedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  deadline: string;
  resultsPrefix: string | null;
  exitMarker: string | null;
  logs: { buildLog: string | null; execution: string | null };
  execution: string | null;
  detail: string | null;
  cost: { amount: number; currency: string; source: string } | null;
  source: string | null;
  phases: Record<string, number> | null;
  statusUrl: string;
  attempt: number;
  resumeAt: string | null;
  placement: Placement | null;
}

export function statusUrlOf(publicUrl: string, runId: string): string {
  return `${publicUrl}/runs/${runId}`;
}

export function viewOf(record: RunRecord, publicUrl: string): RunView {
  const execution = record.executor === 'cloud-run-job';
  return {
    runId: record.runId,
    pipeline: record.pipeline,
    executor: record.executor,
    target: record.target,
    params: { ...record.params },
    status: record.status,
    caller: record.caller,
    requestedAt: record.requestedAt.toISOString(),
    startedAt: iso(record.startedAt),
    finishedAt: iso(record.finishedAt),
    deadline: record.deadline.toISOString(),
    resultsPrefix: record.resultsPrefix ?? null,
    exitMarker: record.exitMarker ?? null,
    logs: {
      buildLog: !execution ? (record.logsUri ?? null) : null,
      execution: execution ? (record.logsUri ?? null) : null,
    },
    execution: record.execution ?? null,
    detail: record.detail ?? null,
    cost: record.cost ? { ...record.cost } : null,
    source: record.source ?? null,
    phases: record.phases ? { ...record.phases } : null,
    statusUrl: statusUrlOf(publicUrl, record.runId),
    attempt: attemptOf(record),
    resumeAt: iso(record.resumeAt),
    placement: record.placement ?? null,
  };
}
