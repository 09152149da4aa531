/**
 * The simulated Compute fleet: projects, zones, VMs and their status history (from which
 * Monitoring derives uptime: a VM accrues uptime only while RUNNING), and zone operations.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PROVISIONING_MODELS, vmKey, type ProvisioningModel } from '../core/vm.js';

const instanceFixture = z.object({
  project: z.string(),
  zone: z.string().regex(/^[a-z]+-[a-z]+\d+-[a-z]$/),
  name: z.string().regex(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/),
  id: z.string().regex(/^\d+$/).optional(),
  machineType: z.string(),
  provisioningModel: z.enum(PROVISIONING_MODELS).default('STANDARD'),
  terminationAction: z.enum(['STOP', 'DELETE']).optional(),
  status: z.string().default('RUNNING'),
  labels: z.record(z.string(), z.string()).default({}),
  metadata: z.record(z.string(), z.string()).default({}),
  gpus: z.array(z.object({ type: z.string(), count: z.number().int().positive() })).default([]),
  /** Name of the managed instance group that created the VM. */
  mig: z.string().optional(),
  /** When the VM was created and, if RUNNING, last started (default: the fleet's start). */
  since: z.string().datetime().optional(),
});

const fleetFixture = z.object({
  startTime: z.string().datetime(),
  projects: z.array(
    z.object({
      id: z.string(),
      number: z.string().regex(/^\d+$/),
      zones: z.array(z.string()).min(1),
    }),
  ),
  instances: z.array(instanceFixture),
});

export type FleetFixture = z.input<typeof fleetFixture>;
export type InstanceFixture = z.input<typeof instanceFixture>;

export function loadFleetFixture(path: string): FleetFixture {
  return fleetFixture.parse(JSON.parse(readFileSync(path, 'utf8')));
}

export interface SimProject {
  id: string;
  number: string;
  zones: string[];
}

export interface StatusChange {
  at: number;
  status: string;
}

export interface SimVm {
  project: string;
  zone: string;
  name: string;
  id: string;
  machineType: string;
  provisioningModel: ProvisioningModel;
  terminationAction: 'STOP' | 'DELETE' | undefined;
  maxRunDurationSeconds: number | undefined;
  status: string;
  labels: Record<string, string>;
  labelFingerprint: string;
  metadata: Array<{ key: string; value: string }>;
  metadataFingerprint: string;
  gpus: Array<{ type: string; count: number }>;
  createdAt: number;
  history: StatusChange[];
  deletedAt: number | undefined;
  lastStartAt: number | undefined;
  lastStopAt: number | undefined;
}

export interface SimOperation {
  id: string;
  name: string;
  project: string;
  zone: string;
  operationType: string;
  targetName: string;
  targetId: string;
  insertTime: number;
  doneAt: number;
  requestId: string | undefined;
  /** Set when the operation failed: it ends DONE with this in `error.errors[]`. */
  error: { code: string; message: string } | undefined;
  httpErrorStatusCode?: number;
}

export type VmEvent =
  | { type: 'started'; vm: SimVm }
  | { type: 'stopped'; vm: SimVm }
  | { type: 'preemption-began'; vm: SimVm; operation: SimOperation }
  | { type: 'preempted'; vm: SimVm; operation: SimOperation }
  | { type: 'deleted'; vm: SimVm };

export const PREEMPTED_OPERATION = 'compute.instances.preempted';

let fingerprintCounter = 0;

export function newFingerprint(seed: string): string {
  return createHash('sha1')
    .update(`${seed}:${++fingerprintCounter}`)
    .digest()
    .subarray(0, 8)
    .toString('base64');
}

function numericId(seed: string): string {
  // Compute ids are unsigned 64-bit numbers; 18 digits keep them inside that range.
  const hex = createHash('sha256').update(seed).digest('hex').slice(0, 15);
  return (BigInt(`0x${hex}`) + 100_000_000_000_000_000n).toString();
}

export class Fleet {
  readonly projects = new Map<string, SimProject>();
  private readonly vms = new Map<string, SimVm>();
  readonly operations: SimOperation[] = [];
  /** The first operation of each request id (a stop storm looks each one up). */
  private readonly byRequestId = new Map<string, SimOperation>();
  private readonly listeners: Array<(event: VmEvent) => void> = [];
  private opCounter = 0;

  constructor(private readonly now: () => number) {}

  load(fixture: FleetFixture): void {
    const parsed = fleetFixture.parse(fixture);
    const start = Date.parse(parsed.startTime);
    for (const p of parsed.projects) this.projects.set(p.id, { ...p, zones: [...p.zones] });
    for (const spec of parsed.instances) this.add(spec, start);
  }

  add(spec: InstanceFixture, defaultSince = this.now()): SimVm {
    const s = instanceFixture.parse(spec);
    const project = this.projects.get(s.project);
    if (!project) throw new Error(`fleet: unknown project ${s.project} for ${s.name}`);
    if (!project.zones.includes(s.zone)) project.zones.push(s.zone);
    const since = s.since ? Date.parse(s.since) : defaultSince;
    const metadata = Object.entries(s.metadata).map(([key, value]) => ({ key, value }));
    if (s.mig) {
      metadata.push({
        key: 'created-by',
        value: `projects/${project.number}/zones/${s.zone}/instanceGroupManagers/${s.mig}`,
      });
    }
    const key = vmKey(s);
    const vm: SimVm = {
      project: s.project,
      zone: s.zone,
      name: s.name,
      id: s.id ?? numericId(key),
      machineType: s.machineType,
      provisioningModel: s.provisioningModel,
      terminationAction:
        s.terminationAction ?? (s.provisioningModel === 'STANDARD' ? undefined : 'STOP'),
      maxRunDurationSeconds: undefined,
      status: s.status,
      labels: { ...s.labels },
      labelFingerprint: newFingerprint(`${key}:labels`),
      metadata,
      metadataFingerprint: newFingerprint(`${key}:metadata`),
      gpus: s.gpus,
      createdAt: since,
      history: [{ at: since, status: s.status }],
      deletedAt: undefined,
      lastStartAt: s.status === 'RUNNING' ? since : undefined,
      lastStopAt: undefined,
    };
    this.vms.set(key, vm);
    return vm;
  }

  onEvent(listener: (event: VmEvent) => void): void {
    this.listeners.push(listener);
  }

  private emit(event: VmEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  /** A live (not deleted) VM. */
  get(project: string, zone: string, name: string): SimVm | undefined {
    const vm = this.vms.get(vmKey({ project, zone, name }));
    return vm && vm.deletedAt === undefined ? vm : undefined;
  }

  /** Live VMs, optionally of one project, in (zone, name) order. */
  live(project?: string): SimVm[] {
    return [...this.vms.values()]
      .filter((vm) => vm.deletedAt === undefined && (!project || vm.project === project))
      .sort((a, b) => a.zone.localeCompare(b.zone) || a.name.localeCompare(b.name));
  }

  /** Every VM ever seen, deleted ones included (Monitoring still has their uptime). */
  all(): SimVm[] {
    return [...this.vms.values()];
  }

  setStatus(vm: SimVm, status: string): void {
    if (vm.status === status) return;
    const at = this.now();
    vm.status = status;
    vm.history.push({ at, status });
    if (status === 'RUNNING') vm.lastStartAt = at;
    if (status === 'TERMINATED') vm.lastStopAt = at;
  }

  start(vm: SimVm): void {
    if (vm.status === 'RUNNING') return;
    this.setStatus(vm, 'RUNNING');
    this.emit({ type: 'started', vm });
  }

  stop(vm: SimVm): void {
    if (vm.status === 'TERMINATED') return;
    this.setStatus(vm, 'TERMINATED');
    this.emit({ type: 'stopped', vm });
  }

  /** Spot preemption at once: the operation, then TERMINATED (or deleted, with termination action DELETE). */
  preempt(vm: SimVm): SimOperation {
    const op = this.beginPreemption(vm, 0);
    this.completePreemption(vm, op);
    return op;
  }

  /**
   * The start of a preemption: Compute's `compute.instances.preempted` operation (named
   * `systemevent-…`, as Compute names system events), done after the notice, and the guest's
   * shutdown under way (STOPPING). `completePreemption` ends it.
   */
  beginPreemption(vm: SimVm, noticeMs: number): SimOperation {
    const op = this.recordOperation(vm, PREEMPTED_OPERATION, undefined, noticeMs);
    if (noticeMs > 0) this.setStatus(vm, 'STOPPING');
    this.emit({ type: 'preemption-began', vm, operation: op });
    return op;
  }

  completePreemption(vm: SimVm, op: SimOperation): void {
    this.setStatus(vm, 'TERMINATED');
    this.emit({ type: 'preempted', vm, operation: op });
    if (vm.terminationAction === 'DELETE') this.remove(vm);
  }

  remove(vm: SimVm): void {
    if (vm.status !== 'TERMINATED') this.setStatus(vm, 'TERMINATED');
    vm.deletedAt = this.now();
    this.emit({ type: 'deleted', vm });
  }

  /** Seconds the VM was RUNNING within [fromMs, toMs). */
  uptimeSeconds(vm: SimVm, fromMs: number, toMs: number): number {
    let total = 0;
    vm.history.forEach((change, i) => {
      if (change.status !== 'RUNNING') return;
      const end = vm.history[i + 1]?.at ?? Number.POSITIVE_INFINITY;
      const overlap = Math.min(end, toMs) - Math.max(change.at, fromMs);
      if (overlap > 0) total += overlap;
    });
    return total / 1000;
  }

  recordOperation(
    vm: SimVm,
    operationType: string,
    requestId: string | undefined,
    durationMs = 0,
  ): SimOperation {
    const at = this.now();
    const id = numericId(`op:${++this.opCounter}:${at}`);
    const prefix = operationType === PREEMPTED_OPERATION ? 'systemevent' : 'operation';
    const op: SimOperation = {
      id,
      name: `${prefix}-${at}-${id.slice(-10)}`,
      project: vm.project,
      zone: vm.zone,
      operationType,
      targetName: vm.name,
      targetId: vm.id,
      insertTime: at,
      doneAt: at + durationMs,
      requestId,
      error: undefined,
    };
    this.operations.push(op);
    if (requestId !== undefined) {
      const key = requestKey(op.project, op.zone, requestId);
      if (!this.byRequestId.has(key)) this.byRequestId.set(key, op);
    }
    return op;
  }

  operationByRequestId(project: string, zone: string, requestId: string): SimOperation | undefined {
    return this.byRequestId.get(requestKey(project, zone, requestId));
  }
}

function requestKey(project: string, zone: string, requestId: string): string {
  return `${project}\u0000${zone}\u0000${requestId}`;
}
