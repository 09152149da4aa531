/**
 * Names the run trigger writes into other systems. Every one is built from allow-listed or
 * generated values only, never from request text, so none can become a shell word, a metadata
 * key or a path. `deploy/vm/startup.sh` checks the same patterns again on the VM.
 */
import { nameBasedUuid } from '../core/request-id.js';
import { createHash, randomBytes } from 'node:crypto';

/** A run id: also a label value, a metadata value and one path segment of the results prefix. */
export const RUN_ID = /^run-[0-9a-f]{20}$/;

/** A make target: no leading `-` (an option), no `=` (a variable), no shell or path characters. */
export const TARGET = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A pipeline name as configured and as requested. */
export const PIPELINE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** The fixed metadata keys of a run on the batch VM, and nothing else is ever written. */
export const RUN_METADATA = {
  runId: 'costguard-run-id',
  target: 'costguard-target',
  resultsPrefix: 'costguard-results-prefix',
  /** The run's deadline in seconds since the epoch: the VM stops make there even without maxRunDuration. */
  deadline: 'costguard-deadline',
  /** `gs://BUCKET/src/NAME.tar.gz#GENERATION`: the run's own source (absent: the pipeline's). */
  source: 'costguard-run-source',
  /** Seconds between the `[vmstat]`/`[mpstat]` lines on the VM's console (0: none). */
  telemetryInterval: 'costguard-telemetry-interval',
  /** The attempt of a resumed run (2, 3, ...): absent for the first. */
  attempt: 'costguard-attempt',
} as const;

/**
 * A per-run source object: a gzip tarball under a bucket's `src/`, in names that need no
 * quoting; the same pattern as deploy/vm/startup.sh.
 */
export const SOURCE_OBJECT =
  /^gs:\/\/[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]\/src\/(?:[A-Za-z0-9._-]+\/){0,8}[A-Za-z0-9._-]{1,200}\.(?:tar\.gz|tgz)$/;

/** The fixed environment variables of a run in a Cloud Run Job execution. */
export const RUN_ENV = {
  runId: 'COSTGUARD_RUN_ID',
  target: 'COSTGUARD_TARGET',
  resultsPrefix: 'COSTGUARD_RESULTS_PREFIX',
} as const;

/** A fresh run id from the given random bytes (crypto by default). */
export function newRunId(random: () => Buffer = () => randomBytes(10)): string {
  return `run-${random().toString('hex').slice(0, 20)}`;
}

/**
 * The run id a request with an `Idempotency-Key` always gets, so that a repeat (even a
 * concurrent one) names the same run and finds it in the ledger or on the VM. The key is the
 * caller's own: another caller using the same key neither replays nor blocks that run.
 */
export function runIdForKey(pipeline: string, caller: string, key: string): string {
  const digest = createHash('sha256')
    .update(`${pipeline}\u0000${caller}\u0000${key}`)
    .digest('hex');
  return `run-${digest.slice(0, 20)}`;
}

/** A hash of the key for the ledger; the key itself may be something the caller keeps secret. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * A Compute `requestId` (a UUID) derived from the run and the step, so a retried start, stop
 * or scheduling change is recognised by Compute as the same request.
 */
export function requestIdFor(runId: string, step: string): string {
  return nameBasedUuid(`costguard/run/${runId}/${step}`);
}

/** `gs://BUCKET/results/RUN_ID/`: where the run's markers, logs and outputs land. */
export function resultsPrefixOf(bucket: string, runId: string): string {
  return `gs://${bucket}/results/${runId}/`;
}
