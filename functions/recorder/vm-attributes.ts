/**
 * What the recorder knows about the VM behind an uptime series during its hour, and where it
 * learnt it: the inventory snapshot in force then, or the live Compute inventory for hours after
 * the last snapshot (a deleted VM, such as a Spot VM with termination action DELETE, keeps its
 * snapshots); else only what Monitoring says. Monitoring's per-series machine type, where it
 * reports one, is the machine type of that series' uptime (a resize starts a new series).
 */

import { createHash } from 'node:crypto';
import type { KeyedRow } from '../adapters/bigquery.js';
import type { UptimeSample } from '../adapters/monitoring.js';
import { HOUR_MS } from '../core/clock.js';
import { regionOfZone, type AttachedGpu, type ProvisioningModel, type Vm } from '../core/vm.js';

export type AttributesSource = 'compute' | 'inventory' | 'monitoring';

export interface VmAttributes {
  readonly project: string;
  readonly zone: string;
  readonly region: string;
  readonly instanceId: string;
  readonly instanceName: string;
  readonly machineType: string | undefined;
  readonly provisioningModel: ProvisioningModel | undefined;
  readonly terminationAction: 'STOP' | 'DELETE' | undefined;
  readonly gpus: readonly AttachedGpu[];
  readonly labels: Readonly<Record<string, string>>;
  readonly source: AttributesSource;
}

/** The last snapshot of a VM as the inventory table holds it. */
export interface InventorySnapshot {
  readonly project: string;
  readonly zone: string;
  readonly instanceId: string;
  readonly instanceName: string;
  readonly machineType: string;
  readonly provisioningModel: ProvisioningModel;
  readonly terminationAction: 'STOP' | 'DELETE' | undefined;
  readonly gpus: readonly AttachedGpu[];
  readonly labels: Readonly<Record<string, string>>;
  readonly fingerprint: string;
  /** When the recorder (or the on-create check) took it: the VM had these attributes then. */
  readonly recordedAt: Date;
}

/** Each instance's snapshots, oldest first, keyed by `instanceKey`. */
export type InventoryHistory = ReadonlyMap<string, readonly InventorySnapshot[]>;

/** Each instance's latest snapshot. */
export function latestSnapshots(history: InventoryHistory): Map<string, InventorySnapshot> {
  const latest = new Map<string, InventorySnapshot>();
  for (const [key, snapshots] of history) {
    const last = snapshots.at(-1);
    if (last) latest.set(key, last);
  }
  return latest;
}

export function instanceKey(project: string, instanceId: string): string {
  return `${project}/${instanceId}`;
}

// The order `localeCompare` gives, from one collator instead of one per comparison.
const byKey = new Intl.Collator().compare;

// A VM's labels are sorted for its fingerprint, its snapshot and each of its cost rows: once.
const sorted = new WeakMap<object, Record<string, string>>();

/** Labels in key order, so that their JSON text is the same whatever order they came in. */
export function sortedLabels(
  labels: Readonly<Record<string, string>>,
): Readonly<Record<string, string>> {
  let inOrder = sorted.get(labels);
  if (!inOrder) {
    inOrder = Object.fromEntries(Object.entries(labels).sort(([a], [b]) => byKey(a, b)));
    sorted.set(labels, inOrder);
  }
  return inOrder;
}

const labelTexts = new WeakMap<object, string>();

/** The JSON text of labels in key order, as the ledger's `labels` columns hold it; once per VM. */
export function labelsJson(labels: Readonly<Record<string, string>>): string {
  let text = labelTexts.get(labels);
  if (text === undefined) {
    text = JSON.stringify(sortedLabels(labels));
    labelTexts.set(labels, text);
  }
  return text;
}

// A VM's fingerprint is asked for by the hour's attributes and by its snapshot: digest it once.
const fingerprints = new WeakMap<Vm, string>();

/** A short digest of the attributes a snapshot keeps; a new one means a new snapshot. */
export function attributesFingerprint(vm: Vm): string {
  const known = fingerprints.get(vm);
  if (known !== undefined) return known;
  const identity = JSON.stringify([
    vm.zone,
    vm.name,
    vm.machineType,
    vm.provisioningModel,
    vm.terminationAction ?? '',
    vm.gpus.map((g) => [g.type, g.count]),
    sortedLabels(vm.labels),
  ]);
  const fingerprint = createHash('sha256').update(identity).digest('hex').slice(0, 16);
  fingerprints.set(vm, fingerprint);
  return fingerprint;
}

/** The last snapshot taken by `time`, if any. */
function snapshotBy(
  snapshots: readonly InventorySnapshot[] | undefined,
  time: number,
): InventorySnapshot | undefined {
  let found: InventorySnapshot | undefined;
  for (const s of snapshots ?? []) {
    if (s.recordedAt.getTime() <= time) found = s;
    else break;
  }
  return found;
}

export function attributesOf(
  sample: UptimeSample,
  live: ReadonlyMap<string, Vm>,
  history: InventoryHistory,
): VmAttributes {
  const key = instanceKey(sample.project, sample.instanceId);
  const vm = live.get(key);
  const snapshots = history.get(key);
  // The attributes in force by the hour's end: the last snapshot taken by then. The live VM
  // stands for hours before its first snapshot (new since the last run) and for hours whose
  // snapshot it still matches; a deleted VM's hours before its first snapshot take that one.
  const during = snapshotBy(snapshots, sample.hourStart.getTime() + HOUR_MS);
  const liveNow = vm !== undefined && (!during || during.fingerprint === attributesFingerprint(vm));
  const snapshot = during ?? (vm ? undefined : snapshots?.[0]);
  const machineTypeOf = (own: string): string => sample.machineType ?? own;
  if (vm && liveNow) {
    return {
      project: vm.project,
      zone: vm.zone,
      region: vm.region,
      instanceId: vm.id,
      instanceName: vm.name,
      machineType: machineTypeOf(vm.machineType),
      provisioningModel: vm.provisioningModel,
      terminationAction: vm.terminationAction,
      gpus: vm.gpus,
      labels: vm.labels,
      source: 'compute',
    };
  }
  if (snapshot) {
    return {
      project: snapshot.project,
      zone: snapshot.zone,
      region: regionOfZone(snapshot.zone),
      instanceId: snapshot.instanceId,
      instanceName: snapshot.instanceName,
      machineType: machineTypeOf(snapshot.machineType),
      provisioningModel: snapshot.provisioningModel,
      terminationAction: snapshot.terminationAction,
      gpus: snapshot.gpus,
      labels: snapshot.labels,
      source: 'inventory',
    };
  }
  return {
    project: sample.project,
    zone: sample.zone,
    region: regionOfZone(sample.zone),
    instanceId: sample.instanceId,
    instanceName: sample.instanceName,
    machineType: sample.machineType,
    provisioningModel: undefined,
    terminationAction: undefined,
    gpus: [],
    labels: {},
    source: 'monitoring',
  };
}

/** Snapshot rows for the VMs that are new or whose attributes changed since their last one. */
export function planInventorySnapshots(
  vms: readonly Vm[],
  stored: ReadonlyMap<string, InventorySnapshot>,
  recordedAt: Date,
): KeyedRow[] {
  const rows: KeyedRow[] = [];
  for (const vm of vms) {
    const fingerprint = attributesFingerprint(vm);
    if (stored.get(instanceKey(vm.project, vm.id))?.fingerprint === fingerprint) continue;
    const key = `${vm.project}/${vm.id}/${fingerprint}`;
    rows.push({
      key,
      row: {
        snapshot_key: key,
        project_id: vm.project,
        zone: vm.zone,
        region: vm.region,
        instance_id: vm.id,
        instance_name: vm.name,
        machine_type: vm.machineType,
        provisioning_model: vm.provisioningModel,
        termination_action: vm.terminationAction ?? null,
        gpus: JSON.stringify(vm.gpus.map((g) => ({ type: g.type, count: g.count }))),
        labels: labelsJson(vm.labels),
        fingerprint,
        recorded_at: recordedAt.toISOString(),
      },
    });
  }
  return rows;
}
