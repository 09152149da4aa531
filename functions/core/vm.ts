/**
 * The VM as every capability sees it: the Compute instance reduced to what governance needs,
 * with names instead of resource URLs.
 */
/**
 * `scheduling.provisioningModel` as Compute reports it (legacy `preemptible` as PREEMPTIBLE).
 * FLEX_START (Dynamic Workload Scheduler) and RESERVATION_BOUND VMs are neither on-demand nor
 * Spot; they are recorded as such, and priced at the on-demand rate with a flagged price source.
 */
export const PROVISIONING_MODELS = [
  'SPOT',
  'STANDARD',
  'PREEMPTIBLE',
  'FLEX_START',
  'RESERVATION_BOUND',
] as const;
export type ProvisioningModel = (typeof PROVISIONING_MODELS)[number];

export interface VmRef {
  readonly project: string;
  readonly zone: string;
  readonly name: string;
}

export interface AttachedGpu {
  /** Accelerator type name, e.g. `nvidia-l4`. */
  readonly type: string;
  readonly count: number;
}

export interface Vm extends VmRef {
  readonly id: string;
  readonly region: string;
  readonly status: string;
  /** Machine type name, e.g. `n2-standard-8` or `n2-custom-4-20480-ext`. */
  readonly machineType: string;
  readonly provisioningModel: ProvisioningModel;
  readonly terminationAction: 'STOP' | 'DELETE' | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly labelFingerprint: string;
  readonly gpus: readonly AttachedGpu[];
  /** The managed instance group that owns the VM (its `created-by` metadata), if any. */
  readonly managedBy: string | undefined;
  readonly createdAt: string | undefined;
  /** When the VM last started (Compute's lastStartTimestamp), where known. */
  readonly startedAt?: string | undefined;
  /** When the VM last stopped (Compute's lastStopTimestamp), where known. */
  readonly stoppedAt?: string | undefined;
}

export function regionOfZone(zone: string): string {
  return zone.replace(/-[a-z]$/, '');
}

export function vmKey(ref: VmRef): string {
  return `${ref.project}/${ref.zone}/${ref.name}`;
}

export function isSpotLike(model: ProvisioningModel): boolean {
  return model === 'SPOT' || model === 'PREEMPTIBLE';
}

/**
 * The Resource Manager tags in effect on a VM (bound to it or inherited), by the tag key's
 * namespaced name (`123456789012/costguard-priority`) to the value's short name (`critical`).
 * Only holders of tag-user rights can bind them, unlike labels, which any VM owner can set.
 */
export type VmTags = Readonly<Record<string, string>>;

/**
 * A tag key's namespaced name: its parent (an organization id, or a project id or number) and
 * its short name, `123456789012/costguard-priority`.
 */
export const NAMESPACED_TAG_KEY =
  /^(\d{1,32}|[a-z][a-z0-9-]{4,28}[a-z0-9])\/[A-Za-z0-9](?:[A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$/;
