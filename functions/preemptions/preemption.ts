/**
 * A Spot preemption as costguard records it, and the pure decisions about it: which notices
 * are new (a preemption is seen twice, as the system event and as Compute's zone operation, and
 * events are delivered at least once), and what the run time it cut short cost.
 */
import { HOUR_MS } from '../core/clock.js';
import { LABEL } from '../core/labels.js';
import type { HourlyRate, PriceSource } from '../core/pricing.js';
import { regionOfZone, type AttachedGpu, type ProvisioningModel } from '../core/vm.js';

/** One sighting of a preemption: the system event, or Compute's `compute.instances.preempted` operation. */
export interface PreemptionNotice {
  readonly project: string;
  readonly zone: string;
  readonly vmName: string;
  readonly vmId: string;
  readonly preemptedAt: Date;
  /** The preemption's operation (`systemevent-…`): the log entry's `operation.id`, the operation's name. */
  readonly operationId: string;
  readonly seenBy: 'event' | 'zone-operation';
}

/** A preemption already in the ledger. */
export interface KnownPreemption {
  readonly key: string;
  readonly project: string;
  readonly zone: string;
  readonly vmId: string;
  readonly operationId: string;
  readonly preemptedAt: Date;
}

/**
 * Sightings of one VM this close together are one preemption even if their operation ids
 * differ: the event's timestamp and the operation's start are seconds apart, and a VM cannot be
 * started again and preempted anew in that time.
 */
export const SAME_PREEMPTION_MS = 2 * 60_000;

/** The row key: the same for the event and the zone operation of one preemption. */
export function preemptionKey(notice: Omit<KnownPreemption, 'key' | 'preemptedAt'>): string {
  return `${notice.project}/${notice.zone}/${notice.vmId}/${notice.operationId}`;
}

function isSame(a: Omit<KnownPreemption, 'key'>, b: Omit<KnownPreemption, 'key'>): boolean {
  if (a.project !== b.project || a.zone !== b.zone || a.vmId !== b.vmId) return false;
  return (
    a.operationId === b.operationId ||
    Math.abs(a.preemptedAt.getTime() - b.preemptedAt.getTime()) < SAME_PREEMPTION_MS
  );
}

export interface NoticeVerdict {
  readonly notice: PreemptionNotice;
  /** The key of the preemption this notice is (a known one's, or its own when new). */
  readonly key: string;
  readonly isNew: boolean;
}

/**
 * Which notices are preemptions the ledger does not hold yet. A notice that matches a known
 * preemption, or one earlier in the same batch, is a repeat and records nothing.
 */
export function classifyNotices(
  notices: readonly PreemptionNotice[],
  known: readonly KnownPreemption[],
): NoticeVerdict[] {
  const seen: KnownPreemption[] = [...known];
  return notices.map((notice) => {
    const match = seen.find((k) => isSame(k, notice));
    if (match) return { notice, key: match.key, isNew: false };
    const key = preemptionKey(notice);
    seen.push({ ...notice, key });
    return { notice, key, isNew: true };
  });
}

/** What is known of the preempted VM: from Compute, else the ledger's last inventory snapshot. */
export interface VmDetails {
  readonly machineType: string | undefined;
  readonly provisioningModel: ProvisioningModel | undefined;
  readonly gpus: readonly AttachedGpu[];
  readonly labels: Readonly<Record<string, string>>;
  /** The VM's last start before the preemption (Compute's lastStartTimestamp). */
  readonly runningSince: Date | undefined;
  readonly source: 'compute' | 'inventory' | 'none';
}

/** The run the VM held when it was preempted, as the run ledger knows it. */
export interface HeldRun {
  readonly runId: string;
  readonly attempt: number;
  /** The run's last checkpoint in this attempt, if the pipeline wrote one. */
  readonly checkpointAt: Date | undefined;
  /** When that attempt started: the VM may have started again since (a late event). */
  readonly attemptStartedAt?: Date | undefined;
}

export interface Preemption {
  readonly key: string;
  readonly notice: PreemptionNotice;
  readonly region: string;
  readonly vm: VmDetails;
  readonly run: HeldRun | undefined;
  /** Where the lost run time starts: the last checkpoint, else the VM's last start. */
  readonly lostSince: Date | undefined;
  readonly lostSeconds: number | undefined;
  readonly rate: HourlyRate | undefined;
  readonly lostCost: number | undefined;
}

export const UNKNOWN_PRICE: PriceSource = 'unknown';

/** The run time a preemption cut short and what it cost at the VM's hourly rate. */
export function planPreemption(
  key: string,
  notice: PreemptionNotice,
  vm: VmDetails,
  run: HeldRun | undefined,
  rate: HourlyRate | undefined,
): Preemption {
  const at = notice.preemptedAt.getTime();
  const candidates = [vm.runningSince, run?.attemptStartedAt, run?.checkpointAt]
    .filter((d): d is Date => d !== undefined && d.getTime() <= at)
    .map((d) => d.getTime());
  const lostSince = candidates.length > 0 ? new Date(Math.max(...candidates)) : undefined;
  const lostSeconds = lostSince ? (at - lostSince.getTime()) / 1000 : undefined;
  const priced = rate && rate.source !== UNKNOWN_PRICE ? rate : undefined;
  return {
    key,
    notice,
    region: regionOfZone(notice.zone),
    vm,
    run,
    lostSince,
    lostSeconds,
    rate,
    lostCost:
      priced && lostSeconds !== undefined
        ? Math.round(((priced.hourly * lostSeconds * 1000) / HOUR_MS) * 1e6) / 1e6
        : undefined,
  };
}

/** The run a VM holds: its `costguard-run` label. */
export function runLabelOf(labels: Readonly<Record<string, string>>): string | undefined {
  return labels[LABEL.run];
}
