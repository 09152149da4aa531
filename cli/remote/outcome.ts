/**
 * How a run's final status becomes the command's exit code and its last line: 0 only for a run
 * that succeeded, a distinct non-zero code per way of not succeeding (so a Makefile or CI can
 * tell a cancel from a failure), always with the reason.
 */
export const EXIT = {
  succeeded: 0,
  failed: 1,
  usage: 2,
  cancelled: 3,
  preempted: 4,
  timedOut: 5,
  notRun: 6,
  /** Ctrl-C with the run left running (128 + SIGINT, as shells report it). */
  leftRunning: 130,
} as const;

export interface Verdict {
  readonly exitCode: number;
  readonly line: string;
}

export function verdictOf(run: { runId: string; status: string; detail: string | null }): Verdict {
  const why = run.detail ? `: ${run.detail.split('\n')[0]}` : '';
  switch (run.status) {
    case 'SUCCEEDED':
      return { exitCode: EXIT.succeeded, line: `run ${run.runId} succeeded` };
    case 'FAILED':
      return { exitCode: EXIT.failed, line: `run ${run.runId} failed${why}` };
    case 'CANCELLED':
      return { exitCode: EXIT.cancelled, line: `run ${run.runId} was cancelled${why}` };
    case 'PREEMPTED':
      return { exitCode: EXIT.preempted, line: `run ${run.runId} was preempted${why}` };
    case 'TIMED_OUT':
      return { exitCode: EXIT.timedOut, line: `run ${run.runId} passed its deadline${why}` };
    default:
      return {
        exitCode: EXIT.notRun,
        line: `run ${run.runId} did not run (${run.status})${why}`,
      };
  }
}

/** `apt 12s, pip 40s, make 1h02m05s, total 1h03m` from the phase timings in seconds. */
export function describePhases(phases: Readonly<Record<string, number>>): string {
  const span = (seconds: number): string => {
    const s = Math.round(seconds);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = s % 60;
    if (h > 0) return `${h}h${String(m).padStart(2, '0')}m${String(rest).padStart(2, '0')}s`;
    if (m > 0) return `${m}m${String(rest).padStart(2, '0')}s`;
    return `${rest}s`;
  };
  return Object.entries(phases)
    .map(([phase, seconds]) => `${phase} ${span(seconds)}`)
    .join(', ');
}

/** Whether the run is still going (the API's active statuses). */
export function isActiveStatus(status: string): boolean {
  return status === 'STARTING' || status === 'RUNNING';
}
