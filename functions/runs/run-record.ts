/**
 * A run as the ledger keeps it: every event appends a complete snapshot of the run, and the
 * current state is the latest snapshot (highest status rank, then event order). Status names
 * are the API's; DRY_RUN and REFUSED record decisions that started nothing. A resumed run's
 * snapshots of a later attempt come after all of an earlier attempt's.
 */
import type { Placement } from './pick-candidate.js';

export const ACTIVE_STATUSES = ['STARTING', 'RUNNING', 'PREEMPTED_RETRYING'] as const;

export type ActiveStatus = (typeof ACTIVE_STATUSES)[number];
export type FinalStatus = 'SUCCEEDED' | 'FAILED' | 'PREEMPTED' | 'CANCELLED' | 'TIMED_OUT';
export type RunStatus = ActiveStatus | FinalStatus | 'DRY_RUN' | 'REFUSED';

export type Executor = 'vm' | 'cloud-run-job';

/** What happened, in the order a run goes through it; breaks ties between snapshots. */
export const RUN_EVENTS = {
  requested: 1,
  refused: 1,
  'dry-run': 1,
  started: 2,
  observed: 3,
  'start-failed': 4,
  cancelled: 4,
  'timed-out': 4,
  /** The VM was preempted: the run waits to resume, or ends (FAILED, PREEMPTED). */
  preempted: 3,
  /** The VM was started again for the run's next attempt. */
  resumed: 2,
} as const;

export type RunEvent = keyof typeof RUN_EVENTS;

export function isActive(status: RunStatus): status is ActiveStatus {
  return (ACTIVE_STATUSES as readonly string[]).includes(status);
}

export interface RunCost {
  readonly amount: number;
  readonly currency: string;
  /** `recorder`: the hourly recorder's rows; `estimate`: uptime × price; or both. */
  readonly source: 'recorder' | 'recorder+estimate' | 'estimate';
}

export interface RunRecord {
  readonly runId: string;
  readonly pipeline: string;
  readonly executor: Executor;
  readonly target: string;
  readonly params: Readonly<Record<string, string>>;
  readonly status: RunStatus;
  /** Who asked: the email (or subject) of the verified identity token, else `anonymous`. */
  readonly caller: string;
  /** sha256 of the Idempotency-Key, when the request had one. */
  readonly idempotencyKey: string | undefined;
  /** sha256 of the request's pipeline, target and params, to refuse a key reused for another. */
  readonly requestHash: string;
  /** `vm:PROJECT/ZONE/INSTANCE` or `job:projects/P/locations/R/jobs/J`. */
  readonly resource: string;
  readonly requestedAt: Date;
  readonly startedAt: Date | undefined;
  readonly finishedAt: Date | undefined;
  readonly deadline: Date;
  /** The Cloud Run execution name. */
  readonly execution: string | undefined;
  readonly resultsPrefix: string | undefined;
  readonly logsUri: string | undefined;
  /** `_SUCCESS` or `startup_error.txt` when the VM left one. */
  readonly exitMarker: string | undefined;
  readonly detail: string | undefined;
  readonly cost: RunCost | undefined;
  /** The run's own source, `gs://BUCKET/src/NAME.tar.gz#GENERATION` once pinned (else the pipeline's). */
  readonly source?: string | undefined;
  /** Seconds per phase of the batch VM's startup script (fetch, apt, pip, make, upload, total). */
  readonly phases?: Readonly<Record<string, number>> | undefined;
  /** The Slack message that announced the start, to thread the outcome under it. */
  readonly slackChannel: string | undefined;
  readonly slackTs: string | undefined;
  /** The attempt under way or last made (1 until a preempted run is resumed). */
  readonly attempt?: number | undefined;
  /** PREEMPTED_RETRYING: when the next attempt starts; after a resume, when the attempt started. */
  readonly resumeAt?: Date | undefined;
  /** Each attempt before the current one: when its VM started and when it was preempted. */
  readonly earlierAttempts?: readonly AttemptSpan[] | undefined;
  /** Which candidate VM the run took and why (pipelines with several candidates). */
  readonly placement?: Placement | undefined;
}

export interface AttemptSpan {
  readonly attempt: number;
  readonly startedAt: Date;
  readonly endedAt: Date;
}

/** The attempt of a run: 1 for a run never resumed (and for rows from before resume existed). */
export function attemptOf(record: Pick<RunRecord, 'attempt'>): number {
  return record.attempt ?? 1;
}

export function vmResource(project: string, zone: string, instance: string): string {
  return `vm:${project}/${zone}/${instance}`;
}

export function jobResource(project: string, region: string, job: string): string {
  return `job:projects/${project}/locations/${region}/jobs/${job}`;
}
