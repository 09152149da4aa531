/**
 * The reusable batch VM: a stopped VM whose startup script (deploy/vm/startup.sh) reads the run
 * keys from its metadata, runs `make -- TARGET`, writes markers under the results prefix and
 * shuts itself down. Which run holds the VM is decided by its claim (vm-claim.ts), written
 * with the run keys under the metadata fingerprint: of concurrent starts exactly one wins.
 * A pipeline with several candidate VMs has each start read them all and take the idle one with
 * the lowest recent preemption rate (pick-candidate.ts); a start that loses the write to another
 * reads them all again, so two starts never take one VM. Everything after the start (status,
 * log, resume, stop, release) acts on the VM the run names as its resource.
 */
import type { ComputeFleet, VmDetail } from '../adapters/compute.js';
import { parseGsUri, type ObjectStore } from '../adapters/storage.js';
import { DAY_MS, type Clock } from '../core/clock.js';
import {
  isPreconditionFailed,
  isTransient,
  PermanentError,
  TransientError,
} from '../core/errors.js';
import { LABEL } from '../core/labels.js';
import type { Logger } from '../core/logger.js';
import { vmKey, type VmRef } from '../core/vm.js';
import { apiMessage } from './api-message.js';
import type { VmPipeline } from './config.js';
import type {
  Observation,
  Placed,
  RunExecutor,
  RunLog,
  StartHooks,
  StartOutcome,
} from './executor.js';
import type { PreemptionRates } from '../preemptions/preemption-rates.js';
import { MARKERS, planVmStatus, TIMINGS, type VmObservation } from './plan-status.js';
import { requestIdFor, RUN_METADATA } from './run-id.js';
import { timestampOf } from './run-ledger.js';
import { attemptOf, vmResource, type RunRecord } from './run-record.js';
import {
  machineFamilyOf,
  pickCandidate,
  RATE_WINDOW_DAYS,
  type CandidateLook,
  type Placement,
  type ZoneRate,
} from './pick-candidate.js';
import {
  CLAIM_KEY,
  formatClaim,
  needsHolderStatus,
  parseClaim,
  planClaim,
  type ClaimDecision,
} from './vm-claim.js';

const ERROR_TEXT_BYTES = 2048;
const TIMINGS_BYTES = 4096;
/** Reads and fingerprinted writes of the claim before a start or stop gives up on a busy VM. */
const CLAIM_ATTEMPTS = 5;

export interface VmExecutorDeps {
  /** Recent preemptions per zone and machine family (unset: every candidate has no history). */
  rates?: Pick<PreemptionRates, 'since'>;
  fleet: Pick<
    ComputeFleet,
    | 'read'
    | 'mergeMetadata'
    | 'updateLabels'
    | 'limitRunTime'
    | 'start'
    | 'stop'
    | 'listOperations'
    | 'serialOutput'
  >;
  store: Pick<ObjectStore, 'list' | 'readHead' | 'stat'>;
  clock: Clock;
  logger: Logger;
}

/** One candidate VM as a start found it. */
interface Look {
  readonly ref: VmRef;
  readonly instance: VmDetail | undefined;
  /** What the claim rules say of it; undefined when the VM is missing. */
  readonly decision: ClaimDecision | undefined;
}

export class VmExecutor implements RunExecutor {
  /** The pipeline's VMs, in the order it lists them. */
  private readonly refs: readonly VmRef[];

  constructor(
    private readonly pipeline: VmPipeline,
    private readonly deps: VmExecutorDeps,
  ) {
    this.refs = pipeline.candidates.map((c) => ({
      project: pipeline.project,
      zone: c.zone,
      name: c.instance,
    }));
  }

  /**
   * The VM the run took, as its resource names it (none before a start took one); a VM the
   * pipeline has since stopped listing is still the run's, within the pipeline's project.
   */
  private refOf(run: RunRecord): VmRef | undefined {
    const listed = this.refs.find(
      (ref) => vmResource(ref.project, ref.zone, ref.name) === run.resource,
    );
    if (listed) return listed;
    const [, project, zone, name] = /^vm:([^/]+)\/([^/]+)\/([^/{},]+)$/.exec(run.resource) ?? [];
    return project === this.pipeline.project && zone && name ? { project, zone, name } : undefined;
  }

  private heldBy(run: RunRecord): VmRef {
    const ref = this.refOf(run);
    if (!ref) {
      throw new PermanentError(
        `Run ${run.runId} is on ${run.resource}, not a VM of pipeline ${this.pipeline.name}`,
      );
    }
    return ref;
  }

  describeStart(run: RunRecord): string[] {
    const [only] = this.refs;
    const vm = only && this.refs.length === 1 ? vmKey(only) : 'the chosen VM';
    const keys = Object.values(RUN_METADATA).filter(
      (key) => key !== RUN_METADATA.source || run.source !== undefined,
    );
    return [
      ...(run.source ? [`pin ${run.source} to its current generation`] : []),
      ...(this.refs.length > 1
        ? [
            `choose among ${this.refs.map(vmKey).join(', ')} the idle VM with the fewest preemptions per 100 Spot VM-hours in ${RATE_WINDOW_DAYS} days`,
          ]
        : []),
      `set metadata ${[CLAIM_KEY, ...keys.filter((k) => k !== RUN_METADATA.attempt)].join(', ')} on ${vm} under its fingerprint`,
      `set label ${LABEL.run}=${run.runId} on ${vm}`,
      `set scheduling.maxRunDuration=${this.pipeline.maxRunHours * 3600}s (terminationAction STOP) on ${vm}`,
      `start ${vm} with requestId ${requestIdFor(run.runId, 'start')}`,
    ];
  }

  /**
   * The run's own source pinned to the generation it has now, so that a later upload under the
   * same name cannot change what the run executes; a missing object refuses the start.
   */
  private async pinSource(source: string): Promise<string> {
    const { bucket, path } = parseGsUri(source);
    const version = await this.deps.store.stat(bucket, path);
    if (!version) throw new PermanentError(`The source ${source} does not exist`);
    return `${source}#${version.generation}`;
  }

  async start(run: RunRecord, hooks: StartHooks): Promise<StartOutcome> {
    const { fleet, logger } = this.deps;
    let pinned: string | undefined;
    let rates: readonly ZoneRate[] | undefined;
    for (let attempt = 1; ; attempt++) {
      const looks = await this.lookAtCandidates(run, hooks);
      // A start repeated (same Idempotency-Key) finds its own claim and carries on there.
      let target = looks.find(
        (l) => l.decision?.kind === 'resume' || l.decision?.kind === 'started',
      );
      let placement = run.placement;
      if (!target) {
        if (this.refs.length > 1) rates ??= await this.recentRates();
        const picked = this.pick(looks, rates ?? []);
        if (picked.kind === 'busy') return picked;
        target = picked.target;
        placement = picked.placement;
      }
      const { ref, instance, decision } = target as Look & { instance: VmDetail };
      const placed = {
        resource: vmResource(ref.project, ref.zone, ref.name),
        placement,
      };
      if (decision?.kind === 'busy') return decision;
      // A resumed start keeps the generation its claim already wrote.
      const claimed = instance.metadata.get(RUN_METADATA.source);
      const source = (): string | undefined =>
        run.source === undefined ? undefined : (pinned ?? claimed);
      if (decision?.kind === 'started') {
        return {
          kind: 'started',
          status: 'RUNNING',
          startedAt: timestampOf(instance.vm.startedAt),
          source: source(),
          ...placed,
        };
      }
      if (decision?.kind === 'claim') {
        if (run.source !== undefined) pinned ??= await this.pinSource(run.source);
        try {
          await fleet.mergeMetadata(
            ref,
            (current) =>
              new Map([
                ...current,
                [
                  CLAIM_KEY,
                  formatClaim({ runId: run.runId, since: this.deps.clock.now(), stopping: false }),
                ],
                ...this.runKeys(run),
                ...(pinned ? [[RUN_METADATA.source, pinned] as const] : []),
              ]),
            instance,
          );
        } catch (error) {
          if (!isPreconditionFailed(error)) throw error;
          if (attempt >= CLAIM_ATTEMPTS) {
            return {
              kind: 'busy',
              activeRunId: undefined,
              reason: 'other writers keep changing the VM metadata',
            };
          }
          // Someone else wrote first: read again and decide on what they wrote.
          logger.info('The batch VM metadata changed underneath; reading it again', {
            runId: run.runId,
            vm: ref.name,
            attempt,
          });
          continue;
        }
      }
      const outcome = await this.launch(run, ref, instance, hooks, placed);
      return outcome.kind === 'started' ? { ...outcome, source: source(), ...placed } : outcome;
    }
  }

  /** Every candidate as it is now, with what the claim rules say of it. */
  private async lookAtCandidates(run: RunRecord, hooks: StartHooks): Promise<Look[]> {
    const looks: Look[] = [];
    // One after another: a candidate's holder check may look at another run.
    for (const ref of this.refs) {
      const instance = await this.deps.fleet.read(ref);
      const decision = instance ? await this.decideClaim(run, instance, hooks) : undefined;
      looks.push({ ref, instance, decision });
    }
    return looks;
  }

  /** The idle candidate to claim, or busy (the single VM's own answer when there is one). */
  private pick(
    looks: readonly Look[],
    rates: readonly ZoneRate[],
  ):
    | { kind: 'target'; target: Look; placement: Placement | undefined }
    | Extract<StartOutcome, { kind: 'busy' }> {
    if (looks.every((l) => !l.instance)) {
      const [only] = this.refs;
      throw new PermanentError(
        only && this.refs.length === 1
          ? `The batch VM ${only.name} of pipeline ${this.pipeline.name} does not exist`
          : `None of the candidate VMs of pipeline ${this.pipeline.name} exists`,
      );
    }
    const [single] = looks;
    if (single && looks.length === 1) {
      return { kind: 'target', target: single, placement: undefined };
    }
    const { chosen, placement } = pickCandidate(looks.map(candidateLook), rates);
    const target = chosen === undefined ? undefined : looks[chosen];
    if (target) return { kind: 'target', target, placement };
    const busy = looks.flatMap((l) => (l.decision?.kind === 'busy' ? [l.decision] : []));
    return {
      kind: 'busy',
      activeRunId: busy.find((b) => b.activeRunId)?.activeRunId,
      reason: `every candidate VM is busy (${placement.candidates
        .map((c) => `${c.zone}/${c.instance}: ${c.reason}`)
        .join('; ')})`,
      placement,
    };
  }

  /** Recent preemptions of the candidates' zones, as the ledger's view counts them. */
  private async recentRates(): Promise<readonly ZoneRate[]> {
    if (!this.deps.rates) return [];
    const since = new Date(this.deps.clock.now().getTime() - RATE_WINDOW_DAYS * DAY_MS);
    return this.deps.rates.since([...new Set(this.refs.map((r) => r.zone))], since);
  }

  private async read(ref: VmRef): Promise<VmDetail> {
    const instance = await this.deps.fleet.read(ref);
    if (!instance) {
      throw new PermanentError(
        `The batch VM ${ref.name} of pipeline ${this.pipeline.name} does not exist`,
      );
    }
    return instance;
  }

  private async decideClaim(
    run: RunRecord,
    instance: VmDetail,
    hooks: StartHooks,
  ): Promise<ClaimDecision> {
    const { metadata, vm } = instance;
    const seen = {
      status: vm.status,
      claim: parseClaim(metadata.get(CLAIM_KEY)),
      runKeysFor: metadata.get(RUN_METADATA.runId),
      runLabel: vm.labels[LABEL.run],
      lastStartAt: timestampOf(vm.startedAt),
    };
    const holderActive =
      seen.claim && needsHolderStatus(run.runId, seen)
        ? await hooks.holderActive(seen.claim.runId)
        : undefined;
    return planClaim(run.runId, { ...seen, holderActive }, this.deps.clock.now());
  }

  /** The VM is claimed for the run: record it, label it, bound it and start it. */
  private async launch(
    run: RunRecord,
    ref: VmRef,
    instance: VmDetail,
    hooks: StartHooks,
    placed: Placed,
  ): Promise<StartOutcome> {
    const { fleet, logger } = this.deps;
    await hooks.claimed(this.refs.length > 1 ? placed : undefined);
    // Seeded with the read above: the metadata write changed only the metadata fingerprint.
    await fleet.updateLabels(
      ref,
      (labels) =>
        labels[LABEL.run] === run.runId ? undefined : { ...labels, [LABEL.run]: run.runId },
      instance.vm,
    );
    const unbounded = await this.bound(run, instance);
    // A cancel may have taken the claim back meanwhile; a VM started without run keys would idle.
    const now = await this.read(ref);
    if (parseClaim(now.metadata.get(CLAIM_KEY))?.runId !== run.runId) {
      throw new PermanentError(`The batch VM ${ref.name} was taken back before it started`);
    }
    await fleet.start(ref, requestIdFor(run.runId, 'start'));
    logger.info('Batch VM started', { runId: run.runId, vm: ref.name, unbounded });
    return { kind: 'started', status: 'RUNNING', startedAt: this.deps.clock.now(), unbounded };
  }

  /** Sets maxRunDuration (Compute stops the VM at the deadline); a refusal leaves the deadline to status reads. */
  private async bound(run: RunRecord, instance: VmDetail): Promise<string | undefined> {
    try {
      await this.deps.fleet.limitRunTime(
        instance,
        { maxRunSeconds: Math.round(this.pipeline.maxRunHours * 3600), terminationAction: 'STOP' },
        requestIdFor(run.runId, 'scheduling'),
      );
      return undefined;
    } catch (error) {
      if (isTransient(error)) throw error;
      const reason = apiMessage(error);
      this.deps.logger.warn('maxRunDuration not set; the deadline is enforced on status reads', {
        runId: run.runId,
        vm: instance.vm.name,
        error,
      });
      return reason;
    }
  }

  async observe(run: RunRecord, now: Date): Promise<Observation> {
    const { fleet, store } = this.deps;
    const ref = this.heldBy(run);
    const instance = await fleet.read(ref);
    const markers = new Set<string>();
    let errorText: string | undefined;
    let timings: string | undefined;
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
      if (markers.has(MARKERS.error) || markers.has(MARKERS.success)) {
        timings = await store.readHead(bucket, `${path}${TIMINGS}`, TIMINGS_BYTES);
      }
    }
    const status = instance?.vm.status;
    let preemptedAt: Date | undefined;
    const stopped = status === undefined || status === 'TERMINATED' || status === 'STOPPED';
    if (stopped && !markers.has(MARKERS.success) && !markers.has(MARKERS.error)) {
      // Only a preemption of the attempt under way counts (an earlier one was handled).
      const attemptStart = attemptOf(run) > 1 ? run.resumeAt : run.startedAt;
      preemptedAt = await this.preemptedSince(ref, attemptStart ?? run.requestedAt);
    }
    const observation: VmObservation = {
      status,
      runLabel: instance?.vm.labels[LABEL.run],
      lastStartAt: timestampOf(instance?.vm.startedAt),
      lastStopAt: timestampOf(instance?.vm.stoppedAt),
      markers,
      errorText: errorText?.replace(/[^\P{Cc}\n\t]/gu, ''),
      preemptedAt,
      timings,
    };
    const decision = planVmStatus(run, observation, now);
    const from = decision.startedAt ?? run.startedAt;
    const usage =
      instance && from
        ? { machine: instance.vm, from, until: decision.finishedAt ?? now }
        : undefined;
    return { decision, usage };
  }

  /**
   * The VM's serial console from `offset` on, while the VM's last boot was the run's (its label
   * and a start after the request); a VM that has moved on to another run has nothing for it.
   */
  async readLog(run: RunRecord, offset: number): Promise<RunLog> {
    const ref = this.refOf(run);
    if (!ref) return { kind: 'none', next: offset };
    const instance = await this.deps.fleet.read(ref);
    const bootedAt = timestampOf(instance?.vm.startedAt);
    const ours =
      instance?.vm.labels[LABEL.run] === run.runId &&
      bootedAt !== undefined &&
      bootedAt.getTime() >= run.requestedAt.getTime();
    if (!ours) return { kind: 'none', next: offset };
    const output = await this.deps.fleet.serialOutput(ref, offset);
    return { kind: 'console', contents: output.contents, start: output.start, next: output.next };
  }

  /** The run keys a claim writes and each resumed attempt writes again. */
  private runKeys(run: RunRecord): [string, string][] {
    return [
      [RUN_METADATA.runId, run.runId],
      [RUN_METADATA.target, run.target],
      [RUN_METADATA.resultsPrefix, run.resultsPrefix ?? ''],
      [RUN_METADATA.deadline, String(Math.floor(run.deadline.getTime() / 1000))],
      [RUN_METADATA.telemetryInterval, String(this.pipeline.telemetryIntervalSeconds)],
    ];
  }

  /**
   * The next attempt of a preempted run: while the VM is still claimed for the run and stopped,
   * its run keys are written again with the attempt and it is started with a request id of that
   * attempt, so a repeated resume is one start.
   */
  async resume(run: RunRecord, attempt: number): Promise<Date> {
    const { fleet, logger } = this.deps;
    // The VM the run holds, never another candidate: its disk and claim are the run's.
    const ref = this.heldBy(run);
    for (let tries = 1; ; tries++) {
      const instance = await this.read(ref);
      const { metadata, vm } = instance;
      if (parseClaim(metadata.get(CLAIM_KEY))?.runId !== run.runId) {
        throw new PermanentError(`The batch VM ${ref.name} is no longer claimed for the run`);
      }
      if (vm.status === 'RUNNING') return timestampOf(vm.startedAt) ?? this.deps.clock.now();
      if (vm.status !== 'TERMINATED' && vm.status !== 'STOPPED') {
        throw new TransientError(`The batch VM ${ref.name} is ${vm.status}, not stopped yet`);
      }
      try {
        await fleet.mergeMetadata(
          ref,
          (current) =>
            new Map([
              ...current,
              ...this.runKeys(run),
              ...(run.source?.includes('#') ? [[RUN_METADATA.source, run.source] as const] : []),
              [RUN_METADATA.attempt, String(attempt)],
            ]),
          instance,
        );
      } catch (error) {
        if (!isPreconditionFailed(error) || tries >= CLAIM_ATTEMPTS) throw error;
        continue;
      }
      await fleet.start(ref, requestIdFor(run.runId, `start-${attempt}`));
      logger.info('Batch VM started again for the next attempt', {
        runId: run.runId,
        vm: ref.name,
        attempt,
      });
      return this.deps.clock.now();
    }
  }

  private async preemptedSince(ref: VmRef, since: Date): Promise<Date | undefined> {
    const operations = await this.deps.fleet.listOperations(
      ref.project,
      ref.zone,
      'operationType = "compute.instances.preempted"',
    );
    const times = operations
      .filter((op) => op.targetName === ref.name)
      .map((op) => timestampOf(op.insertTime))
      .filter((t): t is Date => t !== undefined && t.getTime() >= since.getTime())
      .sort((a, b) => a.getTime() - b.getTime());
    return times[0];
  }

  /**
   * Stops the VM only while it still belongs to the run: the claim is first marked as stopping
   * under the fingerprint (a start that read the VM meanwhile fails its write), then the VM is
   * stopped and the claim released. A VM not booted yet only has its claim and run keys taken
   * back, so that no later boot runs the run.
   */
  async stop(run: RunRecord, why: 'cancel' | 'timeout'): Promise<void> {
    const { fleet } = this.deps;
    const ref = this.heldBy(run);
    for (let attempt = 1; ; attempt++) {
      const instance = await fleet.read(ref);
      if (!instance) return;
      const { metadata, vm } = instance;
      const claim = parseClaim(metadata.get(CLAIM_KEY));
      if (vm.status === 'TERMINATED') {
        if (claim?.runId !== run.runId && metadata.get(RUN_METADATA.runId) !== run.runId) return;
      } else if (claim ? claim.runId !== run.runId : vm.labels[LABEL.run] !== run.runId) {
        throw new PermanentError(`The batch VM ${ref.name} is not running run ${run.runId}`);
      }
      try {
        if (vm.status === 'TERMINATED') {
          await fleet.mergeMetadata(ref, (current) => withoutRun(current, run.runId), instance);
          return;
        }
        if (claim && !claim.stopping) {
          await fleet.mergeMetadata(
            ref,
            (current) =>
              new Map([...current, [CLAIM_KEY, formatClaim({ ...claim, stopping: true })]]),
            instance,
          );
        }
      } catch (error) {
        if (!isPreconditionFailed(error) || attempt >= CLAIM_ATTEMPTS) throw error;
        continue;
      }
      await fleet.stop(ref, requestIdFor(run.runId, why));
      await this.takeBack(
        run,
        ref,
        ({ metadata }) => parseClaim(metadata.get(CLAIM_KEY))?.runId === run.runId,
      );
      return;
    }
  }

  /**
   * After the run's end: takes back run keys the VM never booted with, so that no later boot
   * runs the run. Keys the VM booted with stay (the VM cannot write its own metadata): its
   * startup script recorded the run on its disk and never runs it again, and the next start
   * writes its own keys over them. The claim is left for the next start to take over (the ledger
   * says the run is over), so that a release never invalidates the read of a start under way.
   */
  async release(run: RunRecord): Promise<void> {
    const ref = this.refOf(run);
    if (!ref) return;
    await this.takeBack(run, ref, ({ metadata, vm }) => {
      if (metadata.get(RUN_METADATA.runId) !== run.runId) return false;
      const claim = parseClaim(metadata.get(CLAIM_KEY));
      const booted = timestampOf(vm.startedAt);
      return !claim || claim.runId !== run.runId || !booted || booted < claim.since;
    });
  }

  /** Removes the run's claim and run keys while `holds` says they are there. */
  private async takeBack(
    run: RunRecord,
    ref: VmRef,
    holds: (instance: VmDetail) => boolean,
  ): Promise<void> {
    const { fleet } = this.deps;
    for (let attempt = 1; ; attempt++) {
      const instance = await fleet.read(ref);
      if (!instance || !holds(instance)) return;
      try {
        await fleet.mergeMetadata(ref, (current) => withoutRun(current, run.runId), instance);
        return;
      } catch (error) {
        if (!isPreconditionFailed(error) || attempt >= CLAIM_ATTEMPTS) throw error;
      }
    }
  }
}

/** The metadata without the run's claim and run keys (another run's are left alone). */
function withoutRun(current: ReadonlyMap<string, string>, runId: string): Map<string, string> {
  const keysForRun = current.get(RUN_METADATA.runId) === runId;
  const runKeys = new Set<string>(Object.values(RUN_METADATA));
  return new Map(
    [...current].filter(([key, value]) => {
      if (key === CLAIM_KEY) return parseClaim(value)?.runId !== runId;
      return !(keysForRun && runKeys.has(key));
    }),
  );
}

/** A candidate as the pure pick sees it: its zone, family and whether it can be taken now. */
function candidateLook(look: Look): CandidateLook {
  const { ref, instance, decision } = look;
  const base = { zone: ref.zone, instance: ref.name };
  if (!instance) {
    return {
      ...base,
      machineFamily: undefined,
      unavailable: { kind: 'missing', reason: 'the VM does not exist' },
    };
  }
  const machineFamily = machineFamilyOf(instance.vm.machineType);
  if (decision?.kind !== 'busy') return { ...base, machineFamily };
  const kind = instance.vm.status === 'TERMINATED' ? 'busy' : 'not-terminated';
  return {
    ...base,
    machineFamily,
    unavailable: {
      kind,
      reason: decision.activeRunId
        ? `${decision.reason} (run ${decision.activeRunId})`
        : decision.reason,
    },
  };
}
