/**
 * `recordPreemption`: a CloudEvent function on the Pub/Sub topic a Logging sink fills with the
 * `compute.instances.preempted` system event entries of the governed projects (see
 * `preemption-event.ts` for why a sink and not an audit log trigger). Deploy it with `--retry`:
 * only transient failures are rethrown for Pub/Sub to redeliver, and a redelivery records and
 * restarts nothing twice. The same topic brings Cloud Scheduler's resume tick, on which every
 * active run of the VM pipelines is looked at through the run observer: the runs whose backoff is
 * over start their next attempt, and a preemption whose event was lost is noticed and handled as
 * the event would have. The hourly recorder builds the same recorder for its backstop.
 */
import type { CloudEvent } from '@google-cloud/functions-framework';
import { commonAdapters, type Runtime } from '../adapters/runtime.js';
import { DAY_MS } from '../core/clock.js';
import { commonSettings, readConfig, type CommonConfig } from '../core/config.js';
import { settleAll } from '../core/concurrency.js';
import { isTransient, TransientError } from '../core/errors.js';
import { eventHandler } from '../core/handlers.js';
import type { PriceLookup } from '../core/pricing.js';
import { SpotCostLedger } from '../recorder/spot-cost-ledger.js';
import { instanceKey, latestSnapshots } from '../recorder/vm-attributes.js';
import type { HeldRun, PreemptionNotice, VmDetails } from './preemption.js';
import { parseRecordPreemptionEvent } from './preemption-event.js';
import { PreemptionLedger } from './preemption-ledger.js';
import {
  createPreemptionRecorder,
  type PreemptionDeps,
  type PreemptionRecorder,
} from './record-preemptions.js';
import { ObjectStore } from '../adapters/storage.js';
import { readResumeConfig, type Pipeline } from '../runs/config.js';
import { runObserverFor } from '../runs/entry.js';
import { isResumeDue } from '../runs/plan-resume.js';
import { attemptAt } from '../runs/run-resumption.js';
import type { RunObserver } from '../runs/run-observer.js';
import { RunLedger } from '../runs/run-ledger.js';
import { ACTIVE_STATUSES, attemptOf, vmResource } from '../runs/run-record.js';

export interface PreemptionEntryOverrides {
  /** Defaults to the pricing engine (Cloud Billing Catalog with the bundled price book). */
  readonly prices?: PriceLookup;
}

/** The inventory snapshots looked back through for a VM Compute no longer has. */
const INVENTORY_LOOKBACK_MS = 2 * DAY_MS;

/** The recorder of preemptions, wired from the common settings and the runtime's clients. */
export function createPreemptionRecorderFor(
  runtime: Runtime,
  config: CommonConfig,
  prices: PriceLookup,
): PreemptionRecorder {
  const { fleet, ledger } = commonAdapters(runtime, config);
  const { clients, logger, clock } = runtime;
  const spotLedger = new SpotCostLedger(ledger);
  const runsConfig = readResumeConfig(runtime.env);
  const runs = runsConfig
    ? preemptedRuns(runtime, runObserverFor(runtime, config, runsConfig, prices), {
        ledger: new RunLedger(ledger, clock),
        store: new ObjectStore(() => clients.storage(), { logger }),
        pipelines: runsConfig.pipelines,
      })
    : undefined;
  return createPreemptionRecorder({
    ...(runs ? { runs } : {}),
    fleet,
    inventory: {
      async lastSeen(project, vmId, at): Promise<VmDetails | undefined> {
        // inventoryHistory reads a day before its start: two days back in all.
        const history = await spotLedger.inventoryHistory(
          [project],
          new Date(at.getTime() - INVENTORY_LOOKBACK_MS / 2),
          at,
        );
        const snapshot = latestSnapshots(history).get(instanceKey(project, vmId));
        if (!snapshot) return undefined;
        return {
          machineType: snapshot.machineType,
          provisioningModel: snapshot.provisioningModel,
          gpus: snapshot.gpus,
          labels: snapshot.labels,
          runningSince: undefined,
          source: 'inventory',
        };
      },
    },
    prices,
    ledger: new PreemptionLedger(ledger),
    operations: {
      async list(project, since): Promise<PreemptionNotice[]> {
        return (await fleet.listPreempted(project, since)).map((op) => ({
          project: op.project,
          zone: op.zone,
          vmName: op.vmName,
          vmId: op.vmId,
          preemptedAt: op.preemptedAt,
          operationId: op.name,
          seenBy: 'zone-operation',
        }));
      },
    },
    clock,
    logger,
    config: { projects: config.projects },
  });
}

/** Lists checkpoint objects of a run: the last one before a preemption bounds the lost time. */
const CHECKPOINTS_LISTED = 1000;
/** Active runs (running, claimed or waiting out a backoff) are looked for this far back. */
const ACTIVE_LOOKBACK_MS = 7 * DAY_MS;
/** The most active runs one tick looks at, and how many of them at once. */
const ACTIVE_LISTED = 1000;
const LOOKS_AT_ONCE = 4;

/** The runs port of the preemption recorder, on the run trigger's observer and ledger. */
function preemptedRuns(
  runtime: Runtime,
  observer: RunObserver,
  deps: {
    ledger: RunLedger;
    store: ObjectStore;
    pipelines: ReadonlyMap<string, Pipeline>;
  },
): NonNullable<PreemptionDeps['runs']> {
  const { logger, clock } = runtime;
  return {
    async held(runId, notice): Promise<HeldRun | 'elsewhere' | undefined> {
      const at = notice.preemptedAt;
      const record = await deps.ledger.latest(runId);
      if (!record) return undefined;
      if (record.resource !== vmResource(notice.project, notice.zone, notice.vmName)) {
        logger.warn('A preempted VM is labelled for a run that does not run on it', {
          runId,
          vm: notice.vmName,
        });
        return 'elsewhere';
      }
      const pipeline = deps.pipelines.get(record.pipeline);
      let checkpointAt: Date | undefined;
      if (pipeline?.bucket) {
        const objects = await deps.store.list(
          pipeline.bucket,
          `runs/${runId}/checkpoint/`,
          CHECKPOINTS_LISTED,
        );
        const times = objects
          .map((o) => (o.updated ? Date.parse(o.updated) : NaN))
          .filter((t) => Number.isFinite(t) && t <= at.getTime());
        if (times.length > 0) checkpointAt = new Date(Math.max(...times));
      }
      const attempt = attemptAt(record, at);
      return { runId, attempt: attempt.attempt, checkpointAt, attemptStartedAt: attempt.startedAt };
    },
    async interrupted(preemption): Promise<void> {
      const { run, notice } = preemption;
      if (!run) return;
      // The VM's label names the run; the run must also name the VM (and exist).
      const record = await deps.ledger.latest(run.runId);
      if (record?.resource !== vmResource(notice.project, notice.zone, notice.vmName)) return;
      await observer.preempted(run.runId, notice.preemptedAt);
    },
    async resumeDue(): Promise<number> {
      const now = clock.now();
      // Cloud Run jobs retry their own tasks; only a VM's preemption needs a look.
      const vmPipelines = [...deps.pipelines].filter(([, p]) => p.executor === 'vm');
      const listed = (
        await deps.ledger.recent({
          pipelines: vmPipelines.map(([name]) => name),
          limit: ACTIVE_LISTED,
          since: new Date(now.getTime() - ACTIVE_LOOKBACK_MS),
          statuses: ACTIVE_STATUSES,
        })
      ).filter((r) => r.status !== 'PREEMPTED_RETRYING' || isResumeDue(r, now));
      // Each look is the one a reader's GET makes: a preemption whose event was lost is noticed,
      // a run whose backoff is over starts its next attempt, an end is recorded.
      const outcomes = await settleAll(listed, LOOKS_AT_ONCE, async (run) => {
        // Read again just before acting: a cancel since the listing wins.
        const record = (await deps.ledger.latest(run.runId)) ?? run;
        const { record: looked } = await observer.refresh(record);
        return attemptOf(looked) > attemptOf(record);
      });
      const retryable: string[] = [];
      outcomes.forEach((outcome, i) => {
        if (outcome.status === 'fulfilled') return;
        const runId = listed[i]?.runId;
        // One run that cannot be looked at now does not hold the others back.
        if (isTransient(outcome.reason)) retryable.push(runId ?? '');
        logger.error('An active run could not be looked at on the tick', {
          runId,
          error: outcome.reason,
        });
      });
      if (retryable.length > 0) {
        throw new TransientError(`Runs the tick looked at failed: ${retryable.join(', ')}`);
      }
      return outcomes.filter((o) => o.status === 'fulfilled' && o.value).length;
    },
  };
}

export async function buildRecordPreemption(
  runtime: Runtime,
  overrides: PreemptionEntryOverrides = {},
): Promise<(event: CloudEvent<unknown>) => Promise<void>> {
  const config = readConfig(commonSettings, runtime.env);
  // The pricing engine is loaded only when no lookup is given (tests and the demo give one).
  const prices =
    overrides.prices ??
    (await import('../pricing/index.js')).createPriceLookupFor(runtime, {
      project: config.projects[0] as string,
    });
  const recorder = createPreemptionRecorderFor(runtime, config, prices);
  return eventHandler<unknown>(runtime.logger, async (event) => {
    const input = parseRecordPreemptionEvent(event);
    if (input.kind === 'resume-due') await recorder.resumeDue();
    else await recorder.record([input.notice]);
  });
}
