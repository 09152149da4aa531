/**
 * The shedding path's act step, through the Compute and ledger ports: carry out a plan (the
 * intent on record first, then the stops with bounded concurrency, or nothing in dry run), and
 * settle an earlier attempt's decisions by the VMs' state now. What became of each VM is the
 * pure verdict of tier-verdicts.ts.
 */
import { inTurnsByProject, type ComputeFleet } from '../adapters/compute.js';
import type { Clock } from '../core/clock.js';
import { settleAll } from '../core/concurrency.js';
import { vmKey, type VmRef } from '../core/vm.js';
import type { EnforcementLedger, RecordedDecision, VmOutcome } from './enforcement-ledger.js';
import type { SheddingPlan } from './plan-shedding.js';
import type { ShedTrigger } from './shed-trigger.js';
import { stopRequestId } from './stop-request-id.js';
import {
  intentReason,
  plannedOutcome,
  recoveredOutcome,
  type RecoveredOutcome,
} from './tier-verdicts.js';
import { tierText } from './enforcement-ledger.js';

export interface TierStopsDeps {
  readonly fleet: Pick<ComputeFleet, 'stopAll' | 'get'>;
  readonly ledger: Pick<EnforcementLedger, 'recordDecisions'>;
  readonly clock: Clock;
  readonly dryRun: boolean;
  readonly stopConcurrency: number;
  /** Longest wait for the stops' operations (default the fleet's); later ones are UNCONFIRMED. */
  readonly waitMs?: number;
}

export interface TierStops {
  /** Carries out the plan; the outcomes are not recorded yet (the report step does that). */
  execute(trigger: ShedTrigger, plan: SheddingPlan): Promise<VmOutcome[]>;
  /** What became of an earlier attempt's decisions; the changed ones are to be recorded. */
  recover(decisions: readonly RecordedDecision[]): Promise<RecoveredOutcome[]>;
}

/** Intent rows per ledger write: one insert request's worth. */
const INTENTS_PER_WRITE = 500;

const NOT_RUNNING = new Set(['TERMINATED', 'STOPPED', 'STOPPING', 'SUSPENDED', 'SUSPENDING']);

const refOf = (d: RecordedDecision): VmRef => ({
  project: d.project,
  zone: d.zone,
  name: d.instance,
});

export function createTierStops(deps: TierStopsDeps): TierStops {
  const { dryRun, stopConcurrency } = deps;

  async function execute(t: ShedTrigger, plan: SheddingPlan): Promise<VmOutcome[]> {
    const tier = plan.tier.at;
    const planned = plan.decisions.map((d) => ({
      d,
      requestId:
        d.action === 'STOP'
          ? stopRequestId(t.id, t.periodStart, tierText(tier), d.vm, t.kind)
          : undefined,
    }));
    const stops = planned.filter((p) => p.requestId !== undefined);
    if (dryRun || stops.length === 0) {
      return planned.map(({ d, requestId }) => plannedOutcome(d, requestId, undefined, dryRun));
    }
    // Each stop's intent is on record before the stop is requested, so an attempt cut short
    // between the stops and their outcome rows still counts them against the tier's cap on a
    // retry. The intents are written a request's worth at a time, in the order the stops go out,
    // and each batch's stops start as soon as its rows are in, while the next batch is written.
    const ordered = inTurnsByProject(stops.map((p) => p.d.vm.project)).map(
      (i) => stops[i] as (typeof stops)[number],
    );
    const at = deps.clock.now();
    let previous = Promise.resolve();
    const written: Promise<void>[] = [];
    for (let i = 0; i < ordered.length; i += INTENTS_PER_WRITE) {
      const batch = ordered.slice(i, i + INTENTS_PER_WRITE);
      // After the batch before it; once one batch fails, the later ones are not written.
      previous = previous.then(() =>
        deps.ledger.recordDecisions(
          t,
          tier,
          batch.map(({ d, requestId }) => ({
            planned: d,
            requestId,
            transient: false,
            action: 'STOPPING',
            reason: intentReason(d.reason),
          })),
          { dryRun, at },
        ),
      );
      written.push(previous);
    }
    const intents = Promise.allSettled(written);
    const results = await deps.fleet.stopAll(
      ordered.map((p, i) => ({
        ref: p.d.vm,
        requestId: p.requestId as string,
        ready: written[Math.floor(i / INTENTS_PER_WRITE)],
      })),
      { requests: stopConcurrency, ...(deps.waitMs === undefined ? {} : { waitMs: deps.waitMs }) },
    );
    // Intents that could not be written: their stops were not requested; a retry finishes them.
    const unwritten = (await intents).find((w) => w.status === 'rejected');
    if (unwritten) throw unwritten.reason;
    const byKey = new Map(ordered.map((p, i) => [vmKey(p.d.vm), results[i]]));
    return planned.map(({ d, requestId }) =>
      plannedOutcome(d, requestId, byKey.get(vmKey(d.vm)), dryRun),
    );
  }

  /**
   * A stop an earlier attempt asked for (a STOPPING intent) is settled by the VM's state now;
   * a VM still running is stopped now, with the intent's requestId so Compute never stops it
   * twice. A decision it recorded stands.
   */
  async function recover(decisions: readonly RecordedDecision[]): Promise<RecoveredOutcome[]> {
    const pending = decisions.filter((d) => d.action === 'STOPPING');
    const seen = await settleAll(pending, stopConcurrency, (d) => deps.fleet.get(refOf(d)));
    const state = new Map(pending.map((d, i) => [vmKey(refOf(d)), seen[i]]));
    const restop = pending.filter((d) => {
      const read = state.get(vmKey(refOf(d)));
      return (
        read?.status === 'fulfilled' &&
        read.value !== undefined &&
        !NOT_RUNNING.has(read.value.status)
      );
    });
    const results =
      restop.length === 0
        ? []
        : await deps.fleet.stopAll(
            restop.map((d) => ({ ref: refOf(d), requestId: d.requestId as string })),
            { requests: stopConcurrency },
          );
    const restopped = new Map(restop.map((d, i) => [vmKey(refOf(d)), results[i]]));
    return decisions.map((d) =>
      recoveredOutcome(d, state.get(vmKey(refOf(d))), restopped.get(vmKey(refOf(d)))),
    );
  }

  return { execute, recover };
}
