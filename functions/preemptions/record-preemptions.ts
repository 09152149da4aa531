/**
 * Preemptions seen, counted and priced. `record` takes notices (parsed at the edge from the
 * system event, or read from Compute's zone operations by `sweep`, the hourly backstop), keeps
 * those of governed projects, decides which are new against the ledger, reads what the VM was
 * (Compute, else the ledger's inventory) and its price, plans each preemption's lost run time
 * and cost, appends them, hands each to the runs it interrupted, and reports.
 */
import { HOUR_MS, type Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { HourlyRate, PriceLookup } from '../core/pricing.js';
import { regionOfZone, type Vm } from '../core/vm.js';
import {
  classifyNotices,
  planPreemption,
  runLabelOf,
  type HeldRun,
  type KnownPreemption,
  type Preemption,
  type PreemptionNotice,
  type VmDetails,
} from './preemption.js';

export interface PreemptionDeps {
  readonly fleet: {
    get(ref: { project: string; zone: string; name: string }): Promise<Vm | undefined>;
  };
  /** The VM's last inventory snapshot before `at`, for a VM Compute no longer has. */
  readonly inventory: {
    lastSeen(project: string, vmId: string, at: Date): Promise<VmDetails | undefined>;
  };
  readonly prices: PriceLookup;
  readonly ledger: {
    known(projects: readonly string[], from: Date, to: Date): Promise<KnownPreemption[]>;
    write(preemptions: readonly Preemption[], recordedAt: Date): Promise<void>;
  };
  /** Compute's preemption operations of a project since a time (the backstop's source). */
  readonly operations: { list(project: string, since: Date): Promise<PreemptionNotice[]> };
  /** The run a VM held, and what happens to it once its preemption is recorded. */
  readonly runs?: {
    /**
     * The run a VM's `costguard-run` label names, as of the preemption; `elsewhere` when that
     * run does not run on the VM (a label copied onto another VM attributes nothing to it).
     */
    held(runId: string, notice: PreemptionNotice): Promise<HeldRun | 'elsewhere' | undefined>;
    interrupted(preemption: Preemption): Promise<void>;
    /**
     * Looks at every active run: those whose backoff is over start their next attempt, and a
     * preemption no event brought is noticed; returns how many runs started a next attempt.
     */
    resumeDue(): Promise<number>;
  };
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: PreemptionConfig;
}

export interface PreemptionConfig {
  /** The governed projects: preemptions elsewhere are not recorded. */
  readonly projects: readonly string[];
}

export interface PreemptionReport {
  readonly seen: number;
  /** Preemptions appended to the ledger by this call. */
  readonly recorded: string[];
  /** Notices of preemptions the ledger already held (a repeated event, or event and operation). */
  readonly repeats: number;
  /** Notices of VMs outside the governed projects: nothing is recorded or changed for them. */
  readonly ignored: number;
}

/** How far around a notice the ledger is read for the preemption it may already hold. */
const KNOWN_MARGIN_MS = HOUR_MS;

function detailsFromCompute(vm: Vm): VmDetails {
  return {
    machineType: vm.machineType,
    provisioningModel: vm.provisioningModel,
    gpus: vm.gpus,
    labels: vm.labels,
    runningSince: vm.startedAt ? new Date(vm.startedAt) : undefined,
    source: 'compute',
  };
}

const NO_DETAILS: VmDetails = {
  machineType: undefined,
  provisioningModel: undefined,
  gpus: [],
  labels: {},
  runningSince: undefined,
  source: 'none',
};

export interface PreemptionRecorder {
  /** Records the preemptions among the notices that the ledger does not hold yet. */
  record(notices: readonly PreemptionNotice[]): Promise<PreemptionReport>;
  /**
   * The backstop: the preemption operations since `since` of the given projects (every governed
   * project by default), recorded where the event was missed; then the runs whose backoff is
   * over resume. A project that cannot be read is logged and left to the next run.
   */
  sweep(
    since: Date,
    projects?: readonly string[],
  ): Promise<PreemptionReport & { failedProjects: string[]; resumed: number }>;
  /**
   * The tick Cloud Scheduler publishes to recordPreemption's topic: every active run is looked
   * at, so a run whose backoff is over starts its next attempt and a preemption whose event was
   * lost is handled as the event would have; returns how many runs started a next attempt.
   */
  resumeDue(): Promise<number>;
}

export function createPreemptionRecorder(deps: PreemptionDeps): PreemptionRecorder {
  const { logger, config } = deps;

  /** Reads what the VM was, the run it held and its price: everything the plan needs. */
  const describe = async (key: string, notice: PreemptionNotice): Promise<Preemption> => {
    const live = await deps.fleet.get({
      project: notice.project,
      zone: notice.zone,
      name: notice.vmName,
    });
    const vm =
      live && live.id === notice.vmId
        ? detailsFromCompute(live)
        : ((await deps.inventory.lastSeen(notice.project, notice.vmId, notice.preemptedAt)) ??
          NO_DETAILS);
    const runId = runLabelOf(vm.labels);
    const held = runId === undefined ? undefined : await deps.runs?.held(runId, notice);
    const run =
      runId === undefined || held === 'elsewhere'
        ? undefined
        : (held ?? { runId, attempt: 1, checkpointAt: undefined });
    let rate: HourlyRate | undefined;
    if (vm.machineType && vm.provisioningModel) {
      rate = await deps.prices.rate({
        region: regionOfZone(notice.zone),
        machineType: vm.machineType,
        provisioningModel: vm.provisioningModel,
        gpus: vm.gpus,
      });
    }
    return planPreemption(key, notice, vm, run, rate);
  };

  const record = async (notices: readonly PreemptionNotice[]): Promise<PreemptionReport> => {
    const governed = notices.filter((n) => config.projects.includes(n.project));
    for (const n of notices.filter((x) => !governed.includes(x))) {
      logger.warn('Preemption of a VM outside the governed projects; not recorded', {
        project: n.project,
        vm: n.vmName,
      });
    }
    if (governed.length === 0) {
      return { seen: notices.length, recorded: [], repeats: 0, ignored: notices.length };
    }
    const times = governed.map((n) => n.preemptedAt.getTime());
    const known = await deps.ledger.known(
      [...new Set(governed.map((n) => n.project))],
      new Date(Math.min(...times) - KNOWN_MARGIN_MS),
      new Date(Math.max(...times) + KNOWN_MARGIN_MS),
    );
    const verdicts = classifyNotices(governed, known);
    const fresh = verdicts.filter((v) => v.isNew);
    const preemptions: Preemption[] = [];
    for (const { key, notice } of fresh) preemptions.push(await describe(key, notice));
    // The run first, then the row: a delivery retried after a failure in between finds no row,
    // and the run side recognises the preemption it already handled (keyed by run and attempt).
    for (const p of preemptions) if (p.run) await deps.runs?.interrupted(p);
    await deps.ledger.write(preemptions, deps.clock.now());
    for (const p of preemptions) {
      logger.notice('Spot VM preempted', {
        preemptionKey: p.key,
        project: p.notice.project,
        zone: p.notice.zone,
        vm: p.notice.vmName,
        seenBy: p.notice.seenBy,
        runId: p.run?.runId,
        attempt: p.run?.attempt,
        lostSeconds: p.lostSeconds,
        lostCost: p.lostCost,
        currency: p.rate?.currency,
      });
    }
    for (const v of verdicts.filter((x) => !x.isNew)) {
      logger.info('Preemption already recorded; nothing to do', {
        preemptionKey: v.key,
        seenBy: v.notice.seenBy,
      });
    }
    return {
      seen: notices.length,
      recorded: preemptions.map((p) => p.key),
      repeats: verdicts.length - fresh.length,
      ignored: notices.length - governed.length,
    };
  };

  const sweep = async (
    since: Date,
    projects: readonly string[] = config.projects,
  ): Promise<PreemptionReport & { failedProjects: string[]; resumed: number }> => {
    const notices: PreemptionNotice[] = [];
    const failedProjects: string[] = [];
    for (const project of projects) {
      try {
        notices.push(...(await deps.operations.list(project, since)));
      } catch (error) {
        failedProjects.push(project);
        logger.error('Could not list the preemptions of a project; the next run reads them', {
          project,
          error,
        });
      }
    }
    const report = await record(notices);
    // Runs waiting out a backoff that no one has looked at since: their next attempt starts now.
    const resumed = await resumeDue();
    return { ...report, failedProjects, resumed };
  };

  const resumeDue = async (): Promise<number> => {
    const resumed = (await deps.runs?.resumeDue()) ?? 0;
    if (resumed > 0) logger.info('Runs resumed after their backoff', { resumed });
    return resumed;
  };

  return { record, sweep, resumeDue };
}
