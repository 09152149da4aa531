/**
 * Pure status decisions: what an active run's status is, given what the VM (or the Cloud Run
 * execution) looks like now. No I/O here; the executors gather the observation and carry out
 * the decision's action (stopping a VM past its deadline).
 */
import type { ExecutionSummary, TaskAttempts } from '../adapters/run-jobs.js';
import { maskSecrets } from '../core/redact.js';
import type { RunRecord, RunStatus } from './run-record.js';

export const MARKERS = {
  success: '_SUCCESS',
  error: 'startup_error.txt',
  buildLog: 'build.log',
} as const;

/** The startup script's phase timings, uploaded next to the markers. */
export const TIMINGS = 'timings.json';

/** How long a claimed VM may stay TERMINATED before the run counts as never started. */
export const START_GRACE_MS = 5 * 60_000;
/** Slack between a deadline and the stop that Compute's maxRunDuration makes. */
const DEADLINE_SLACK_MS = 60_000;

/**
 * What of startup_error.txt reaches the caller, the ledger and Slack: the step and exit code
 * line and the script's own reason, never build output (a startup script from before this rule
 * appended the end of build.log), with anything token-shaped masked.
 */
export function failureDetail(errorText: string | undefined): string {
  const lines = (errorText ?? '').split('\n');
  const end = lines.findIndex((line) => line.startsWith('---'));
  return maskSecrets(
    lines
      .slice(0, end === -1 ? 2 : Math.min(end, 2))
      .join('\n')
      .trim(),
  );
}

const PHASE_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const MAX_PHASES = 20;

/**
 * The phase timings the startup script uploads as timings.json (`{"fetch": 2, "make": 3600,
 * ...}`, whole seconds): only well-formed names and counts are kept; anything else is none.
 */
export function parsePhaseTimings(text: string | undefined): Record<string, number> | undefined {
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const entries = Object.entries(parsed as Record<string, unknown>).filter(
    (e): e is [string, number] =>
      PHASE_NAME.test(e[0]) &&
      Number.isInteger(e[1]) &&
      (e[1] as number) >= 0 &&
      (e[1] as number) < 1e8,
  );
  return entries.length > 0 ? Object.fromEntries(entries.slice(0, MAX_PHASES)) : undefined;
}

export interface VmObservation {
  /** Undefined when the VM no longer exists. */
  readonly status: string | undefined;
  /** The `costguard-run` label on the VM. */
  readonly runLabel: string | undefined;
  readonly lastStartAt: Date | undefined;
  readonly lastStopAt: Date | undefined;
  /** Object names under the run's results prefix, relative to it. */
  readonly markers: ReadonlySet<string>;
  /** The head of startup_error.txt, when there is one. */
  readonly errorText: string | undefined;
  /** When the VM was preempted after the run started, if it was. */
  readonly preemptedAt: Date | undefined;
  /** timings.json, when the script uploaded it. */
  readonly timings?: string | undefined;
}

export interface StatusDecision {
  readonly status: RunStatus;
  readonly startedAt?: Date | undefined;
  readonly finishedAt?: Date | undefined;
  readonly exitMarker?: string | undefined;
  readonly logsUri?: string | undefined;
  readonly detail?: string | undefined;
  /** The Cloud Run execution, when the observation found it by the run id. */
  readonly execution?: string | undefined;
  /** Stop the VM because the run is past its deadline and still running. */
  readonly stopVm?: 'timeout';
  /** The startup script's phase timings, once it uploaded them. */
  readonly phases?: Readonly<Record<string, number>> | undefined;
  /** How far the Cloud Run execution's task retries went, once a task was retried. */
  readonly attempts?: TaskAttempts | undefined;
}

const BOOTING = new Set(['PROVISIONING', 'STAGING', 'PENDING', 'REPAIRING']);

function after(date: Date | undefined, than: Date): boolean {
  return date !== undefined && date.getTime() >= than.getTime();
}

export function planVmStatus(run: RunRecord, vm: VmObservation, now: Date): StatusDecision {
  const buildLog = vm.markers.has(MARKERS.buildLog)
    ? `${run.resultsPrefix ?? ''}${MARKERS.buildLog}`
    : undefined;
  const finishedAt = vm.lastStopAt && after(vm.lastStopAt, run.requestedAt) ? vm.lastStopAt : now;
  const startedAt =
    run.startedAt ?? (after(vm.lastStartAt, run.requestedAt) ? vm.lastStartAt : undefined);

  // The markers are the script's own verdict and are written before it shuts the VM down.
  if (vm.markers.has(MARKERS.success)) {
    return {
      status: 'SUCCEEDED',
      startedAt,
      finishedAt,
      exitMarker: MARKERS.success,
      logsUri: buildLog,
      phases: parsePhaseTimings(vm.timings),
    };
  }
  if (vm.markers.has(MARKERS.error)) {
    return {
      status: 'FAILED',
      startedAt,
      finishedAt,
      exitMarker: MARKERS.error,
      logsUri: buildLog,
      detail: failureDetail(vm.errorText) || 'the startup script reported an error',
      phases: parsePhaseTimings(vm.timings),
    };
  }
  if (vm.preemptedAt) {
    return { status: 'PREEMPTED', startedAt, finishedAt: vm.preemptedAt, logsUri: buildLog };
  }
  if (vm.status === undefined) {
    return { status: 'FAILED', startedAt, finishedAt: now, detail: 'the VM no longer exists' };
  }
  const ours = vm.runLabel === run.runId;
  const startedForRun = after(vm.lastStartAt, run.requestedAt);
  if (vm.status === 'TERMINATED' || vm.status === 'STOPPED') {
    if (!startedForRun) {
      if (now.getTime() - run.requestedAt.getTime() < START_GRACE_MS) {
        return { status: run.status };
      }
      return { status: 'FAILED', finishedAt: now, detail: 'the VM was not started for this run' };
    }
    if (after(vm.lastStopAt, new Date(run.deadline.getTime() - DEADLINE_SLACK_MS))) {
      return {
        status: 'TIMED_OUT',
        startedAt,
        finishedAt,
        logsUri: buildLog,
        detail: 'the VM was stopped at the run deadline (maxRunDuration)',
      };
    }
    return {
      status: 'FAILED',
      startedAt,
      finishedAt,
      logsUri: buildLog,
      detail: 'the VM stopped without leaving a result marker',
    };
  }
  if (!ours && startedForRun) {
    return {
      status: 'FAILED',
      startedAt,
      finishedAt: now,
      detail: `the VM is now labelled for ${vm.runLabel ?? 'no run'}`,
    };
  }
  if (now.getTime() > run.deadline.getTime()) {
    return {
      status: 'TIMED_OUT',
      startedAt,
      finishedAt: now,
      logsUri: buildLog,
      detail: 'the run passed its deadline; costguard stopped the VM',
      stopVm: 'timeout',
    };
  }
  if (vm.status === 'RUNNING' && startedForRun) return { status: 'RUNNING', startedAt };
  if (BOOTING.has(vm.status)) return { status: 'STARTING' };
  // STOPPING, SUSPENDING and newer statuses: still busy; report what the ledger says.
  return { status: run.status, startedAt };
}

/** The status of a Cloud Run execution; a task that hit the job's timeout is TIMED_OUT. */
export function planExecutionStatus(
  run: RunRecord,
  execution: ExecutionSummary | undefined,
  now: Date,
): StatusDecision {
  if (!execution) {
    return { status: 'FAILED', finishedAt: now, detail: 'the execution no longer exists' };
  }
  const logsUri = execution.logUri;
  const startedAt = execution.startedAt ?? run.startedAt;
  const completion = execution.completion;
  const finishedAt = execution.completedAt ?? now;
  if (completion?.state === 'CONDITION_SUCCEEDED') {
    return { status: 'SUCCEEDED', startedAt, finishedAt, logsUri };
  }
  if (completion?.state === 'CONDITION_FAILED') {
    if (completion.reason === 'CANCELLED' || execution.cancelled > 0) {
      return {
        status: 'CANCELLED',
        startedAt,
        finishedAt,
        logsUri,
        detail: completion.message === undefined ? undefined : maskSecrets(completion.message),
      };
    }
    const timedOut =
      /timeout/i.test(completion.message ?? '') ||
      after(execution.completedAt, new Date(run.deadline.getTime() - DEADLINE_SLACK_MS));
    return {
      status: timedOut ? 'TIMED_OUT' : 'FAILED',
      startedAt,
      finishedAt,
      logsUri,
      detail:
        completion.message === undefined ? 'the execution failed' : maskSecrets(completion.message),
    };
  }
  if (execution.running > 0 || execution.succeeded > 0) {
    return { status: 'RUNNING', startedAt, logsUri };
  }
  return { status: 'STARTING', logsUri };
}
