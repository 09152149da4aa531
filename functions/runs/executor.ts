/**
 * What runs a pipeline: the reusable batch VM or a Cloud Run Job. Starting is idempotent for a
 * given run id (a repeat picks up where the first attempt stopped), observing never changes
 * anything, and stopping is asked for by the caller (cancel) or by a decision (timeout).
 */
import type { PricedMachine } from '../core/pricing.js';
import type { Placement } from './pick-candidate.js';
import type { StatusDecision } from './plan-status.js';
import type { RunRecord, RunStatus } from './run-record.js';

export type StartOutcome =
  | ({
      readonly kind: 'started';
      readonly status: RunStatus;
      readonly startedAt: Date | undefined;
      readonly execution?: string | undefined;
      readonly logsUri?: string | undefined;
      /** Why the run is not bounded by the platform, when it is not (the deadline still is). */
      readonly unbounded?: string | undefined;
      /** The run's own source pinned to the generation it runs (`gs://…#GENERATION`). */
      readonly source?: string | undefined;
    } & Partial<Placed>)
  | {
      readonly kind: 'busy';
      readonly activeRunId: string | undefined;
      readonly reason: string;
      /** Why no candidate VM could be taken (pipelines with several). */
      readonly placement?: Placement | undefined;
    };

/** The VM a start took for the run, and why that one. */
export interface Placed {
  readonly resource: string;
  readonly placement: Placement | undefined;
}

export interface StartHooks {
  /**
   * Called once the resource is ours for this run, before anything is started on it; with the
   * VM taken when the pipeline has candidates to choose from.
   */
  claimed(placed?: Placed): Promise<void>;
  /**
   * Whether another run that holds the resource is still active, as the ledger (and a look at
   * the run) says; undefined when the ledger has no row of it yet.
   */
  holderActive(runId: string): Promise<boolean | undefined>;
}

/** Machine time a run has used, for the cost estimate. */
export interface RunUsage {
  readonly machine: PricedMachine;
  readonly from: Date;
  readonly until: Date;
}

export interface Observation {
  readonly decision: StatusDecision;
  readonly usage: RunUsage | undefined;
}

/** The next part of a run's console, or where its log is kept. */
export type RunLog =
  | {
      readonly kind: 'console';
      readonly contents: string;
      /** Where `contents` begins: after the offset asked for when older output is gone. */
      readonly start: number;
      readonly next: number;
    }
  | { readonly kind: 'link'; readonly link: string | undefined }
  /** Nothing to read for the run: its VM has not booted for it yet, or has moved on to another run. */
  | { readonly kind: 'none'; readonly next: number };

export interface RunExecutor {
  /** The run's console from `offset` on (batch VM), or where its log is (Cloud Run). */
  readLog(run: RunRecord, offset: number): Promise<RunLog>;
  /** The steps a start would take, for dry runs and logs. */
  describeStart(run: RunRecord): string[];
  start(run: RunRecord, hooks: StartHooks): Promise<StartOutcome>;
  observe(run: RunRecord, now: Date): Promise<Observation>;
  stop(run: RunRecord, why: 'cancel' | 'timeout'): Promise<void>;
  /** Gives the resource up after the run's end, if the run still holds it. */
  release(run: RunRecord): Promise<void>;
  /**
   * Starts the run's resource again for its next attempt after a preemption (batch VMs only);
   * idempotent per attempt. Returns when the attempt started.
   */
  resume?(run: RunRecord, attempt: number): Promise<Date>;
}
