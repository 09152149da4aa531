/**
 * Who holds the batch VM. A run holds it from the moment its claim is written into the VM's
 * metadata (in the same setMetadata as its run keys, under the fingerprint read just before, so
 * of concurrent starts exactly one succeeds) until the run's end or cancellation releases it.
 * The startup script writes nothing back (the VM needs no right on itself) and records on its
 * disk each run it began, so it never runs one twice; claim and run keys stay until a cancel or
 * the next start replaces them, so a finished run's TERMINATED VM is taken over only once that
 * run is known to be over, and whether the VM booted for the run is told by its last start being
 * after the claim.
 *
 * The value is `RUN_ID ISO_TIME` or, while a cancel or timeout stop is under way,
 * `RUN_ID ISO_TIME stopping`: a stop marks the claim first (again under the fingerprint), so no
 * start can take the VM between the stop's check and the stop itself.
 */
import { RUN_ID } from './run-id.js';

export const CLAIM_KEY = 'costguard-claim';

/** How long a claim of a run the ledger does not know yet (its first row may be in flight) holds. */
export const UNKNOWN_CLAIM_HOLD_MS = 5 * 60_000;
/** How long a stop marker holds when the stop that set it never finished (its caller crashed). */
export const STOPPING_CLAIM_HOLD_MS = 15 * 60_000;

export interface Claim {
  readonly runId: string;
  readonly since: Date;
  readonly stopping: boolean;
}

const CLAIM_VALUE =
  /^(run-[0-9a-f]{20}) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3})?Z)( stopping)?$/;

export function formatClaim(claim: Claim): string {
  return `${claim.runId} ${claim.since.toISOString()}${claim.stopping ? ' stopping' : ''}`;
}

/** The claim in a metadata value; anything malformed counts as no claim (only costguard writes it). */
export function parseClaim(value: string | undefined): Claim | undefined {
  const match = value === undefined ? null : CLAIM_VALUE.exec(value);
  if (!match || !RUN_ID.test(match[1] as string)) return undefined;
  const since = new Date(match[2] as string);
  if (Number.isNaN(since.getTime())) return undefined;
  return { runId: match[1] as string, since, stopping: match[3] !== undefined };
}

/** What the VM looked like when a start read it. */
export interface ClaimObservation {
  readonly status: string;
  readonly claim: Claim | undefined;
  /** The run id in the run keys (present from the claim until a cancel or the next claim). */
  readonly runKeysFor: string | undefined;
  /** When the VM last started (Compute's lastStartTimestamp), where known. */
  readonly lastStartAt: Date | undefined;
  readonly runLabel: string | undefined;
  /** Whether the ledger says the run holding the claim is active (undefined: it has no row yet). */
  readonly holderActive: boolean | undefined;
}

export type ClaimDecision =
  /** Write our claim and run keys under the fingerprint just read. */
  | { readonly kind: 'claim' }
  /** The claim is ours and the VM has not booted for the run: label, bound and start it. */
  | { readonly kind: 'resume' }
  /** The claim is ours and the VM started for the run already: never start it twice. */
  | { readonly kind: 'started' }
  | { readonly kind: 'busy'; readonly activeRunId: string | undefined; readonly reason: string };

/** Whether a start needs to ask the ledger about the claim's holder before deciding. */
export function needsHolderStatus(
  runId: string,
  vm: Omit<ClaimObservation, 'holderActive'>,
): boolean {
  return (
    vm.status === 'TERMINATED' &&
    vm.claim !== undefined &&
    vm.claim.runId !== runId &&
    !vm.claim.stopping
  );
}

export function planClaim(runId: string, vm: ClaimObservation, now: Date): ClaimDecision {
  const { claim, status } = vm;
  if (claim?.runId === runId) {
    const bootedForRun =
      vm.lastStartAt !== undefined && vm.lastStartAt.getTime() >= claim.since.getTime();
    return vm.runKeysFor === runId && status === 'TERMINATED' && !bootedForRun
      ? { kind: 'resume' }
      : { kind: 'started' };
  }
  if (status !== 'TERMINATED') {
    return {
      kind: 'busy',
      activeRunId: claim?.runId ?? vm.runLabel ?? vm.runKeysFor,
      reason: `the VM is ${status}`,
    };
  }
  if (!claim) return { kind: 'claim' };
  const age = now.getTime() - claim.since.getTime();
  if (claim.stopping) {
    return age < STOPPING_CLAIM_HOLD_MS
      ? { kind: 'busy', activeRunId: claim.runId, reason: `run ${claim.runId} is being stopped` }
      : { kind: 'claim' };
  }
  if (vm.holderActive === true || (vm.holderActive === undefined && age < UNKNOWN_CLAIM_HOLD_MS)) {
    return { kind: 'busy', activeRunId: claim.runId, reason: 'the VM is claimed by another run' };
  }
  return { kind: 'claim' };
}
