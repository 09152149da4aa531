import type { protos } from '@google-cloud/compute';
import { metadataOf, toVm, type ComputeFleet } from '../adapters/compute.js';
import { parseGsUri, type ObjectStore } from '../adapters/storage.js';
import type { Clock } from '../core/clock.js';
import { isPreconditionFailed, isTransient, PermanentError } from '../core/errors.js';
import { LABEL } from '../core/labels.js';
import type { Logger } from '../core/logger.js';
import { vmKey, type VmRef } from '../core/vm.js';
import { apiMessage } from './api-message.js';
import type { VmPipeline } from './config.js';
import type { Observation, RunExecutor, StartHooks, StartOutcome } from './executor.js';
import { MARKERS, planVmStatus, type VmObservation } from './plan-status.js';
import { requestIdFor, RUN_METADATA } from './run-id.js';
import { timestampOf } from './run-ledger.js';
import type { RunRecord } from './run-record.js';

/**
 * The reusable batch VM: a stopped VM whose startup script (deploy/vm/startup.sh) reads the run
 * keys from its metadata, runs `make -- TARGET`, writes markers under the results prefix and
 * shuts itself down. Writing the run keys under the metadata fingerprint is the lock: a
 * concurrent writer makes the write fail with 412, which is reported as busy.
 */
type IInstance = protos.google.cloud.compute.v1.IInstance;

const ERROR_TEXT_BYTES = 2048;

export interface VmExecutorDeps {
  fleet: Pick<
    ComputeFleet,
    | 'getRaw'
    | 'mergeMetadata'
    | 'updateLabels'
    | 'setScheduling'
    | 'start'
    | 'stop'
    | 'listOperations'
  >;
  store: Pick<ObjectStore, 'list' | 'readHead'>;
  clock: Clock;
  logger: Logger;
}

export class VmExecutor implements RunExecutor {
  private readonly ref: VmRef;

  constructor(
    private readonly pipeline: VmPipeline,
    private readonly deps: VmExecutorDeps,
  ) {
    this.ref = { project: pipeline.project, zone: pipeline.zone, name: pipeline.instance };
  }

  describeStart(run: RunRecord): string[] {
    const vm = vmKey(this.ref);
    return [
      `set metadata ${Object.values(RUN_METADATA).join(', ')} on ${vm} under its fingerprint`,
      `set label ${LABEL.run}=${run.runId} on ${vm}`,
      `set scheduling.maxRunDuration=${this.pipeline.maxRunHours * 3600}s (terminationAction STOP) on ${vm}`,
      `start ${vm} with requestId ${requestIdFor(run.runId, 'start')}`,
    ];
  }

  async start(run: RunRecord, hooks: StartHooks): Promise<StartOutcome> {
    const { fleet, logger } = this.deps;
    const instance = await fleet.getRaw(this.ref);
    if (!instance) {
      throw new PermanentError(
        `The batch VM ${this.ref.name} of pipeline ${this.pipeline.name} does not exist`,
      );
    }
    const metadata = metadataOf(instance);
    const status = instance.status ?? 'UNKNOWN';
    const claimedEarlier = metadata.get(RUN_METADATA.runId) === run.runId;
    const labelled = instance.labels?.[LABEL.run] === run.runId;
    if (labelled && !claimedEarlier) {
      // The VM booted for this run already (the script clears the keys at boot): never twice.
      return {
        kind: 'started',
        status: 'RUNNING',
        startedAt: timestampOf(instance.lastStartTimestamp),
      };
    }
    if (claimedEarlier && status !== 'TERMINATED') {
      // An earlier attempt for this very run got as far as starting the VM.
      return {
        kind: 'started',
        status: 'RUNNING',
        startedAt: timestampOf(instance.lastStartTimestamp),
      };
    }
    if (status !== 'TERMINATED') {
      return {
        kind: 'busy',
        activeRunId: instance.labels?.[LABEL.run] ?? metadata.get(RUN_METADATA.runId),
        reason: `the VM is ${status}`,
      };
    }
    if (!claimedEarlier) {
      try {
        await fleet.mergeMetadata(
          this.ref,
          (current) =>
            new Map([
              ...current,
              [RUN_METADATA.runId, run.runId],
              [RUN_METADATA.target, run.target],
              [RUN_METADATA.resultsPrefix, run.resultsPrefix ?? ''],
            ]),
          instance,
        );
      } catch (error) {
        if (!isPreconditionFailed(error)) throw error;
        return {
          kind: 'busy',
          activeRunId: undefined,
          reason: 'another writer changed the VM metadata',
        };
      }
    }
    await hooks.claimed();
    // Seeded with the read above: the metadata write changed only the metadata fingerprint.
    await fleet.updateLabels(
      this.ref,
      (labels) =>
        labels[LABEL.run] === run.runId ? undefined : { ...labels, [LABEL.run]: run.runId },
      { labels: instance.labels ?? {}, labelFingerprint: instance.labelFingerprint ?? '' },
    );
    const unbounded = await this.bound(run, instance);
    await fleet.start(this.ref, requestIdFor(run.runId, 'start'));
    logger.info('Batch VM started', { runId: run.runId, vm: this.ref.name, unbounded });
    return { kind: 'started', status: 'RUNNING', startedAt: this.deps.clock.now(), unbounded };
  }

  /** Sets maxRunDuration (Compute stops the VM at the deadline); a refusal leaves the deadline to status reads. */
  private async bound(run: RunRecord, instance: IInstance): Promise<string | undefined> {
    try {
      await this.deps.fleet.setScheduling(
        this.ref,
        {
          ...(instance.scheduling ?? {}),
          maxRunDuration: { seconds: Math.round(this.pipeline.maxRunHours * 3600) },
          instanceTerminationAction: 'STOP',
        },
        requestIdFor(run.runId, 'scheduling'),
      );
      return undefined;
    } catch (error) {
      if (isTransient(error)) throw error;
      const reason = apiMessage(error);
      this.deps.logger.warn('maxRunDuration not set; the deadline is enforced on status reads', {
        runId: run.runId,
        vm: this.ref.name,
        error,
      });
      return reason;
    }
  }

  async observe(run: RunRecord, now: Date): Promise<Observation> {
    const { fleet, store } = this.deps;
    const instance = await fleet.getRaw(this.ref);
    const markers = new Set<string>();
    let errorText: string | undefined;
    if (run.resultsPrefix) {
      const { bucket, path } = parseGsUri(run.resultsPrefix);
      // Each marker is looked up by its own name: a run's outputs may outnumber any listing page.
      const found = await Promise.all(
        Object.values(MARKERS).map(async (marker) =>
          (await store.list(bucket, `${path}${marker}`, 1)).some(
            (object) => object.name === `${path}${marker}`,
          )
            ? marker
            : undefined,
        ),
      );
      for (const marker of found) if (marker) markers.add(marker);
      if (markers.has(MARKERS.error)) {
        errorText = await store.readHead(bucket, `${path}${MARKERS.error}`, ERROR_TEXT_BYTES);
      }
    }
    const status = instance?.status ?? undefined;
    let preemptedAt: Date | undefined;
    const stopped = status === undefined || status === 'TERMINATED' || status === 'STOPPED';
    if (stopped && !markers.has(MARKERS.success) && !markers.has(MARKERS.error)) {
      preemptedAt = await this.preemptedSince(run.startedAt ?? run.requestedAt);
    }
    const observation: VmObservation = {
      status,
      runLabel: instance?.labels?.[LABEL.run],
      lastStartAt: timestampOf(instance?.lastStartTimestamp),
      lastStopAt: timestampOf(instance?.lastStopTimestamp),
      markers,
      errorText: errorText?.replace(/[^\P{Cc}\n\t]/gu, ''),
      preemptedAt,
    };
    const decision = planVmStatus(run, observation, now);
    const from = decision.startedAt ?? run.startedAt;
    const usage =
      instance && from
        ? { machine: toVm(this.ref.project, instance), from, until: decision.finishedAt ?? now }
        : undefined;
    return { decision, usage };
  }

  private async preemptedSince(since: Date): Promise<Date | undefined> {
    const operations = await this.deps.fleet.listOperations(
      this.ref.project,
      this.ref.zone,
      'operationType = "compute.instances.preempted"',
    );
    const times = operations
      .filter((op) => op.targetName === this.ref.name)
      .map((op) => timestampOf(op.insertTime))
      .filter((t): t is Date => t !== undefined && t.getTime() >= since.getTime())
      .sort((a, b) => a.getTime() - b.getTime());
    return times[0];
  }

  async stop(run: RunRecord, why: 'cancel' | 'timeout'): Promise<void> {
    const { fleet } = this.deps;
    const instance = await fleet.getRaw(this.ref);
    if (!instance) return;
    if (instance.status === 'TERMINATED') {
      // Not booted yet: take the run keys back so that no later boot runs it.
      if (metadataOf(instance).get(RUN_METADATA.runId) === run.runId) {
        const keys = new Set<string>(Object.values(RUN_METADATA));
        await fleet.mergeMetadata(
          this.ref,
          (current) => new Map([...current].filter(([key]) => !keys.has(key))),
          instance,
        );
      }
      return;
    }
    if (instance.labels?.[LABEL.run] !== run.runId) {
      throw new PermanentError(`The batch VM ${this.ref.name} is not running run ${run.runId}`);
    }
    await fleet.stop(this.ref, requestIdFor(run.runId, why));
  }
}
