/**
 * What a Spot preemption does to the run its VM held, decided without I/O. A pipeline with
 * `resume: {maxAttempts, backoffSeconds}` gets its run back: PREEMPTED_RETRYING, then the VM is
 * started again for the next attempt once the backoff has passed; after the last attempt the
 * run is FAILED with the reason. Without `resume` the run ends PREEMPTED, as before. The
 * verdicts are keyed by attempt, so the same preemption seen twice changes nothing the second time.
 */
export interface ResumePolicy {
  readonly maxAttempts: number;
  readonly backoffSeconds: number;
}

/** The run as far as a preemption concerns it. */
export interface InterruptedRun {
  readonly status: string;
  /** The attempt under way (1 for a run never resumed). */
  readonly attempt: number;
  /** When the current attempt's VM started. */
  readonly attemptStartedAt: Date | undefined;
}

export type ResumeVerdict =
  | { readonly kind: 'retry'; readonly attempt: number; readonly resumeAt: Date }
  | { readonly kind: 'fail'; readonly detail: string }
  | { readonly kind: 'end'; readonly detail: string }
  | { readonly kind: 'ignore'; readonly reason: string };

/** Statuses in which a preemption of the run's VM interrupts the run. */
const INTERRUPTIBLE = new Set(['STARTING', 'RUNNING']);

export function planResume(
  run: InterruptedRun,
  preemptedAt: Date,
  policy: ResumePolicy | undefined,
): ResumeVerdict {
  if (!INTERRUPTIBLE.has(run.status)) {
    return { kind: 'ignore', reason: `the run is ${run.status}` };
  }
  if (run.attemptStartedAt && preemptedAt.getTime() < run.attemptStartedAt.getTime()) {
    return { kind: 'ignore', reason: `the preemption was before attempt ${run.attempt} started` };
  }
  if (!policy) {
    return { kind: 'end', detail: 'the VM was preempted; the pipeline does not resume runs' };
  }
  if (run.attempt >= policy.maxAttempts) {
    return {
      kind: 'fail',
      detail: `the VM was preempted on attempt ${run.attempt} of ${policy.maxAttempts}; no attempts left`,
    };
  }
  return {
    kind: 'retry',
    attempt: run.attempt + 1,
    resumeAt: new Date(preemptedAt.getTime() + policy.backoffSeconds * 1000),
  };
}

/** Whether a run waiting out its backoff is due to start its next attempt. */
export function isResumeDue(
  run: { readonly status: string; readonly resumeAt?: Date | undefined },
  now: Date,
): boolean {
  return (
    run.status === 'PREEMPTED_RETRYING' &&
    run.resumeAt !== undefined &&
    now.getTime() >= run.resumeAt.getTime()
  );
}

/** `3 h 12 m`, `45 m`, `20 s`: how long an attempt ran before it was preempted. */
export function formatRunTime(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  if (total < 60) return `${total} s`;
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  return hours > 0 ? `${hours} h ${minutes} m` : `${minutes} m`;
}

/** The reply in the run's Slack thread for one preemption. */
export function preemptionReply(
  ranSeconds: number | undefined,
  zone: string,
  verdict: ResumeVerdict,
  policy: ResumePolicy | undefined,
): string {
  const after = ranSeconds === undefined ? '' : ` after ${formatRunTime(ranSeconds)}`;
  const head = `preempted${after} in ${zone}`;
  switch (verdict.kind) {
    case 'retry':
      return `${head}; resuming, attempt ${verdict.attempt} of ${policy?.maxAttempts ?? verdict.attempt}`;
    case 'fail':
      return `${head}; ${verdict.detail}: FAILED`;
    case 'end':
      return `${head}; the run ends PREEMPTED (its pipeline has no resume)`;
    case 'ignore':
      return `${head}; ${verdict.reason}, nothing to resume`;
  }
}
