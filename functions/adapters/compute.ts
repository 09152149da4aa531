/**
 * The Compute port: lists VMs as `Vm` values (paging hidden, zones that could not be listed
 * reported, never dropped), and carries out the mutations costguard makes. Every call is
 * retried on transient failures (a 403 rate limit included), every Compute call in flight is
 * bounded by one concurrency limit (operation waits and reads too), and mutations are paced to
 * a per-minute write budget per project. Operations are confirmed with `wait` and, for many in
 * one zone, one list of the zone's operations; a `wait` that returns early is polled again with
 * backoff. Label and metadata writes are read-merge-write under the fingerprint. Stops go
 * straight to Compute's REST API when the fleet is given it (compute-rest.ts), every other call
 * through the client library.
 */
import type {
  GlobalOperationsClient,
  InstancesClient,
  ZoneOperationsClient,
  protos,
} from '@google-cloud/compute';
import { RateBudget, Semaphore, settleAll } from '../core/concurrency.js';
import type { ComputeRest } from './compute-rest.js';
import {
  isNotFound,
  isPreconditionFailed,
  PermanentError,
  TransientError,
} from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { loggedRetries, withRetry, type RetryOptions } from '../core/retry.js';
import { regionOfZone, type ProvisioningModel, type Vm, type VmRef } from '../core/vm.js';

type IInstance = protos.google.cloud.compute.v1.IInstance;
type IScheduling = protos.google.cloud.compute.v1.IScheduling;
type IOperation = protos.google.cloud.compute.v1.IOperation;
type IAggregatedList = protos.google.cloud.compute.v1.IInstanceAggregatedList;

/** Compute's documented default is 1,500 requests a minute per project; stay below it. */
export const DEFAULT_WRITES_PER_MINUTE = 1200;
export const DEFAULT_COMPUTE_CONCURRENCY = 50;

/** The kinds of Compute call the fleet makes, as counted in `stats()`. */
export type ComputeCallKind =
  | 'list'
  | 'get'
  | 'stop'
  | 'start'
  | 'setLabels'
  | 'setMetadata'
  | 'setScheduling'
  | 'wait'
  | 'operations';

const WRITES: ReadonlySet<ComputeCallKind> = new Set([
  'stop',
  'start',
  'setLabels',
  'setMetadata',
  'setScheduling',
]);

/**
 * An operation that was not DONE when the fleet stopped waiting for it: the change may still
 * happen, so the VM's state is unconfirmed until a later look (transient: a retry re-checks it).
 */
export class OperationNotConfirmedError extends TransientError {
  override name = 'OperationNotConfirmedError';
  constructor(
    readonly operation: string,
    readonly status: string,
    ref: VmRef,
  ) {
    super(`Operation ${operation} on ${ref.name} is still ${status}; its outcome is unconfirmed`);
  }
}

/** A VM to stop, with the request id that makes a retried stop a no-op. */
export interface StopTarget {
  readonly ref: VmRef;
  readonly requestId: string;
  /** The stop is requested only once this fulfils (its intent on record); a rejection is its outcome. */
  readonly ready?: Promise<void>;
}

/** A scope (`zones/us-central1-a`) that a listing could not read, and why. */
export interface ListingGap {
  readonly zone: string;
  readonly code: string;
  readonly message: string;
}

/** A project's VMs as listed, with the zones the listing could not read. */
export interface FleetListing {
  readonly vms: Vm[];
  /** Zones Compute reported unreachable (or warned about): their VMs are missing from `vms`. */
  readonly gaps: ListingGap[];
}

/**
 * A VM as read for a fingerprinted write: the `Vm`, its metadata items and the fingerprint that
 * a metadata write must carry to succeed only if nobody wrote in between.
 */
export interface VmDetail {
  readonly vm: Vm;
  readonly metadata: ReadonlyMap<string, string>;
  readonly metadataFingerprint: string | undefined;
}

/** How long a VM may run before Compute ends it, and how (`scheduling.maxRunDuration`). */
export interface RunTimeLimit {
  readonly maxRunSeconds: number;
  readonly terminationAction: 'STOP' | 'DELETE';
}

export interface InstanceFilter {
  status?: string;
  provisioningModel?: 'SPOT' | 'STANDARD';
  /** `true` for "has the label", a string for an exact value. */
  labels?: Record<string, string | true>;
}

/** Console output of a VM from an offset on. */
export interface SerialOutput {
  readonly contents: string;
  readonly start: number;
  readonly next: number;
}

export interface OperationSummary {
  name: string;
  operationType: string;
  targetId: string;
  targetName: string;
  status: string;
  insertTime: string | undefined;
  endTime: string | undefined;
}

export interface ComputeClients {
  instances(): Promise<
    Pick<
      InstancesClient,
      | 'aggregatedListAsync'
      | 'listAsync'
      | 'get'
      | 'getSerialPortOutput'
      | 'start'
      | 'stop'
      | 'setLabels'
      | 'setMetadata'
      | 'setScheduling'
    >
  >;
  zoneOperations(): Promise<Pick<ZoneOperationsClient, 'wait' | 'listAsync'>>;
  /**
   * Compute's REST API spoken directly: when given, stops are sent through it (a stop storm's
   * thousands of calls cost a tenth of the CPU they cost through the client library).
   */
  rest?(): Promise<ComputeRest>;
  /** Operations of every scope of a project (the preemption backstop); optional for other users. */
  globalOperations?(): Promise<Pick<GlobalOperationsClient, 'aggregatedListAsync'>>;
}

export const PREEMPTED_OPERATION = 'compute.instances.preempted';

/** A Spot preemption as Compute records it: a `compute.instances.preempted` operation. */
export interface PreemptedOperation {
  readonly project: string;
  readonly zone: string;
  /** The operation's name (`systemevent-…`), which the system event log entry carries as `operation.id`. */
  readonly name: string;
  readonly vmName: string;
  readonly vmId: string;
  /** When Compute began the preemption (the operation's start, else its insert time). */
  readonly preemptedAt: Date;
}

/**
 * One page of an aggregatedList with the whole response (`unreachables` and per-scope
 * warnings included), which the generated client's async iterator does not expose: the client's
 * own paged call with autoPaginate off answers [items, next request, raw response].
 */
async function aggregatedPage(
  client: object,
  request: protos.google.cloud.compute.v1.IAggregatedListInstancesRequest,
): Promise<IAggregatedList> {
  const gax = client as {
    initialize?: () => Promise<unknown>;
    innerApiCalls?: Record<string, (request: unknown, options: unknown) => Promise<unknown[]>>;
  };
  await gax.initialize?.();
  const call = gax.innerApiCalls?.aggregatedList;
  if (!call) throw new PermanentError('The Compute client has no aggregatedList call');
  const [, , raw] = await call(request, { autoPaginate: false });
  return raw ?? {};
}

function scopeZone(scope: string): string {
  return scope.replace(/^.*zones\//, '');
}

/** The zones an aggregatedList page could not read: `unreachables`, and scope warnings other than "no results". */
function listingGaps(page: IAggregatedList): ListingGap[] {
  const gaps = new Map<string, ListingGap>();
  for (const scope of page.unreachables ?? []) {
    const zone = scopeZone(scope);
    gaps.set(zone, { zone, code: 'UNREACHABLE', message: `${scope} is unreachable` });
  }
  for (const [scope, scoped] of Object.entries(page.items ?? {})) {
    const code = String(scoped.warning?.code ?? '');
    if (code === '' || code === 'NO_RESULTS_ON_PAGE') continue;
    const zone = scopeZone(scoped.warning?.data?.find((d) => d.key === 'scope')?.value ?? scope);
    if (!gaps.has(zone)) gaps.set(zone, { zone, code, message: scoped.warning?.message ?? code });
  }
  const top = page.warning;
  if (top?.code && String(top.code) !== 'NO_RESULTS_ON_PAGE') {
    for (const d of top.data ?? []) {
      if (d.key !== 'scope' || !d.value) continue;
      const zone = scopeZone(d.value);
      if (!gaps.has(zone)) {
        gaps.set(zone, { zone, code: String(top.code), message: top.message ?? String(top.code) });
      }
    }
  }
  return [...gaps.values()];
}

/** Indexes of `projects` taking one of each project in turn, each project's in their order. */
export function inTurnsByProject(projects: readonly string[]): number[] {
  const queues = new Map<string, number[]>();
  projects.forEach((project, index) => {
    const queue = queues.get(project);
    if (queue) queue.push(index);
    else queues.set(project, [index]);
  });
  const order: number[] = [];
  const lists = [...queues.values()];
  for (let round = 0; order.length < projects.length; round++) {
    for (const list of lists) if (round < list.length) order.push(list[round] as number);
  }
  return order;
}

function lastSegment(url: string | null | undefined): string {
  return (url ?? '').split('/').pop() ?? '';
}

function provisioningModelOf(instance: IInstance): ProvisioningModel {
  const scheduling = instance.scheduling ?? {};
  const model = scheduling.provisioningModel;
  if (model === 'SPOT' || model === 'FLEX_START' || model === 'RESERVATION_BOUND') return model;
  if (scheduling.preemptible) return 'PREEMPTIBLE';
  return 'STANDARD';
}

/** An instance's metadata items as a map. */
function metadataOf(instance: IInstance): Map<string, string> {
  return new Map((instance.metadata?.items ?? []).map((i) => [i.key ?? '', i.value ?? '']));
}

function toVm(project: string, instance: IInstance): Vm {
  const zone = lastSegment(instance.zone);
  const action = instance.scheduling?.instanceTerminationAction;
  const createdBy =
    instance.metadata?.items?.find((i) => i.key === 'created-by')?.value ?? undefined;
  return {
    project,
    zone,
    region: regionOfZone(zone),
    name: instance.name ?? '',
    id: String(instance.id ?? ''),
    status: instance.status ?? 'UNKNOWN',
    machineType: lastSegment(instance.machineType),
    provisioningModel: provisioningModelOf(instance),
    terminationAction: action === 'STOP' || action === 'DELETE' ? action : undefined,
    labels: { ...(instance.labels ?? {}) },
    labelFingerprint: instance.labelFingerprint ?? '',
    gpus: (instance.guestAccelerators ?? []).map((g) => ({
      type: lastSegment(g.acceleratorType),
      count: g.acceleratorCount ?? 0,
    })),
    managedBy: createdBy?.includes('/instanceGroupManagers/') ? createdBy : undefined,
    createdAt: instance.creationTimestamp ?? undefined,
    startedAt: instance.lastStartTimestamp ?? undefined,
    stoppedAt: instance.lastStopTimestamp ?? undefined,
  };
}

/** A Compute list filter: conditions juxtaposed as `(a = x) (b = y)`. */
export function buildFilter(filter: InstanceFilter = {}): string | undefined {
  const parts: string[] = [];
  if (filter.status) parts.push(`(status = ${filter.status})`);
  if (filter.provisioningModel)
    parts.push(`(scheduling.provisioningModel = ${filter.provisioningModel})`);
  for (const [key, value] of Object.entries(filter.labels ?? {})) {
    parts.push(value === true ? `(labels.${key}:*)` : `(labels.${key} = "${value}")`);
  }
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** How long a mutation waits for its operation: 0 sends the request only. */
export interface MutationOptions {
  readonly waitMs?: number;
}

export interface ComputeFleetOptions {
  logger: Logger;
  retry?: RetryOptions;
  /** Longest wait for one operation (default 4 minutes); past it the VM is left unconfirmed. */
  operationTimeoutMs?: number;
  /** Attempts of a fingerprinted write that loses races (default 5). */
  conflictAttempts?: number;
  /** Compute calls in flight at once through this fleet, operation waits and reads included. */
  concurrency?: number;
  /** Mutations (stop, start, setLabels, setMetadata, setScheduling) a minute per project. */
  writesPerMinute?: number;
  /** First pause after a `wait` that returned with the operation not done (doubles, default 1 s). */
  pollDelayMs?: number;
  /** Longest such pause (default 15 s). */
  maxPollDelayMs?: number;
  /** The clock waits and deadlines are measured on (default the system clock). */
  now?: () => number;
  /** How the fleet lets time pass: pauses, pacing and retry backoff (default a real sleep). */
  sleep?: (ms: number) => Promise<void>;
}

/** How many calls of each kind the fleet made, and the most ever in flight at once. */
export interface ComputeCallStats {
  readonly calls: Readonly<Record<string, number>>;
  readonly peakInFlight: Readonly<Record<string, number>>;
  /** Most Compute calls of any kind in flight at once. */
  readonly peakTotal: number;
}

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A scoped limit: what one batch (a stop storm) may have in flight, inside the fleet's own. */
type Scope = Semaphore | undefined;

type Instances = Awaited<ReturnType<ComputeClients['instances']>>;

function instanceOf(ref: VmRef): { project: string; zone: string; instance: string } {
  return { project: ref.project, zone: ref.zone, instance: ref.name };
}

export class ComputeFleet {
  private readonly limit: Semaphore;
  private readonly budgets = new Map<string, RateBudget>();
  private readonly counts = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  private readonly peaks = new Map<string, number>();
  private readonly schedulingOf = new WeakMap<VmDetail, IScheduling>();

  constructor(
    private readonly clients: ComputeClients,
    private readonly options: ComputeFleetOptions,
  ) {
    this.limit = new Semaphore(options.concurrency ?? DEFAULT_COMPUTE_CONCURRENCY);
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private sleep(ms: number): Promise<void> {
    return (this.options.sleep ?? realSleep)(ms);
  }

  /** Calls made and peak in flight per kind since the fleet was built. */
  stats(): ComputeCallStats {
    return {
      calls: Object.fromEntries(this.counts),
      peakInFlight: Object.fromEntries(this.peaks),
      peakTotal: this.limit.peak,
    };
  }

  private budget(project: string): RateBudget {
    let budget = this.budgets.get(project);
    if (!budget) {
      budget = new RateBudget(this.options.writesPerMinute ?? DEFAULT_WRITES_PER_MINUTE, {
        now: () => this.now(),
        sleep: (ms) => this.sleep(ms),
      });
      this.budgets.set(project, budget);
    }
    return budget;
  }

  private async tracked<T>(kind: ComputeCallKind, task: () => Promise<T>): Promise<T> {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    const now = (this.inFlight.get(kind) ?? 0) + 1;
    this.inFlight.set(kind, now);
    this.peaks.set(kind, Math.max(this.peaks.get(kind) ?? 0, now));
    try {
      return await task();
    } finally {
      this.inFlight.set(kind, (this.inFlight.get(kind) ?? 1) - 1);
    }
  }

  /**
   * One Compute call: paced (writes) before it takes a slot, bounded by the batch's scope and
   * the fleet's limit while in flight, retried with backoff (a slot is not held while backing off).
   */
  private call<T>(
    kind: ComputeCallKind,
    project: string,
    what: string,
    task: () => Promise<T>,
    scope?: Scope,
  ): Promise<T> {
    const attempt = async (): Promise<T> => {
      if (WRITES.has(kind)) await this.budget(project).take();
      const limited = () => this.limit.run(() => this.tracked(kind, task));
      return scope ? scope.run(limited) : limited();
    };
    return withRetry(
      attempt,
      loggedRetries(this.options.logger, what, {
        sleep: (ms) => this.sleep(ms),
        ...this.options.retry,
      }),
    );
  }

  /** Every VM of a project, over all zones and pages; zones that could not be read are gaps. */
  async listing(project: string, filter?: InstanceFilter, pageSize = 500): Promise<FleetListing> {
    const instances = await this.clients.instances();
    const vms: Vm[] = [];
    const gaps = new Map<string, ListingGap>();
    let pageToken: string | undefined;
    do {
      const token = pageToken;
      const page = await this.call('list', project, `list instances of ${project}`, () =>
        aggregatedPage(instances, {
          project,
          filter: buildFilter(filter),
          maxResults: pageSize,
          returnPartialSuccess: true,
          ...(token ? { pageToken: token } : {}),
        }),
      );
      for (const scoped of Object.values(page.items ?? {})) {
        for (const instance of scoped.instances ?? []) vms.push(toVm(project, instance));
      }
      for (const gap of listingGaps(page)) if (!gaps.has(gap.zone)) gaps.set(gap.zone, gap);
      pageToken = page.nextPageToken || undefined;
    } while (pageToken);
    // A zone that answered on one page and not on another is still a gap.
    return { vms, gaps: [...gaps.values()].sort((a, b) => a.zone.localeCompare(b.zone)) };
  }

  /**
   * Every VM of a project that could be listed. Zones that could not be read are logged (never
   * silently dropped); callers that must act on the gap use `listing`.
   */
  async listAll(project: string, filter?: InstanceFilter): Promise<Vm[]> {
    const { vms, gaps } = await this.listing(project, filter);
    if (gaps.length > 0) {
      this.options.logger.warn('Some zones could not be listed; their VMs are missing', {
        project,
        zones: gaps.map((g) => g.zone),
        gaps,
      });
    }
    return vms;
  }

  private async getInstance(ref: VmRef): Promise<IInstance | undefined> {
    const instances = await this.clients.instances();
    try {
      const [instance] = await this.call('get', ref.project, `get ${ref.name}`, () =>
        instances.get({ project: ref.project, zone: ref.zone, instance: ref.name }),
      );
      return instance;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async get(ref: VmRef): Promise<Vm | undefined> {
    const instance = await this.getInstance(ref);
    return instance ? toVm(ref.project, instance) : undefined;
  }

  /**
   * Serial port 1 from byte `start` on (Compute returns up to 1 MB), where that output really
   * began (later than asked when older output is gone) and the offset to ask for next.
   */
  async serialOutput(ref: VmRef, start: number): Promise<SerialOutput> {
    const instances = await this.clients.instances();
    const [output] = await this.call(
      'get',
      ref.project,
      `read the serial port of ${ref.name}`,
      () =>
        instances.getSerialPortOutput({
          project: ref.project,
          zone: ref.zone,
          instance: ref.name,
          port: 1,
          start,
        }),
    );
    const begun = Number(output.start ?? start);
    const contents = output.contents ?? '';
    return {
      contents,
      start: begun,
      next: Number(output.next ?? begun + Buffer.byteLength(contents)),
    };
  }

  /** The VM with its metadata and fingerprints, for a read-merge-write; undefined when gone. */
  async read(ref: VmRef): Promise<VmDetail | undefined> {
    const instance = await this.getInstance(ref);
    if (!instance) return undefined;
    const detail: VmDetail = {
      vm: toVm(ref.project, instance),
      metadata: metadataOf(instance),
      metadataFingerprint: instance.metadata?.fingerprint ?? undefined,
    };
    // setScheduling replaces the whole scheduling: a limit set on this read keeps the rest of it.
    this.schedulingOf.set(detail, instance.scheduling ?? {});
    return detail;
  }

  /**
   * One mutation: the request (paced, bounded and retried by `call`) and then the wait for its
   * operation to be DONE, for at most `waitMs` (default the fleet's operation timeout; 0 sends
   * the request only). Past it, an OperationNotConfirmedError that `confirm` can wait on later.
   * Every single-VM write goes through here.
   */
  private async mutate(
    kind: ComputeCallKind,
    ref: VmRef,
    send: (instances: Instances) => Promise<[{ latestResponse: unknown }, ...unknown[]]>,
    options: MutationOptions = {},
  ): Promise<void> {
    const instances = await this.clients.instances();
    const operation = await this.request(
      kind,
      ref,
      async () => (await send(instances))[0].latestResponse as IOperation | undefined,
    );
    const [outcome] = await this.confirmAll([{ ref, operation }], undefined, options.waitMs);
    if (outcome?.status === 'rejected') throw outcome.reason;
  }

  /**
   * Waits for the operation of a mutation sent with a short `waitMs` until it is DONE (at most
   * `waitMs`, default the fleet's operation timeout); throws what the mutation would have.
   */
  async confirm(
    ref: VmRef,
    unconfirmed: OperationNotConfirmedError,
    options: MutationOptions = {},
  ): Promise<void> {
    const operation: IOperation = {
      name: unconfirmed.operation,
      status: unconfirmed.status as IOperation['status'],
    };
    const [outcome] = await this.confirmAll([{ ref, operation }], undefined, options.waitMs);
    if (outcome?.status === 'rejected') throw outcome.reason;
  }

  /** Sends one mutation (paced, bounded, retried by `call`); its operation is not confirmed. */
  private request(
    kind: ComputeCallKind,
    ref: VmRef,
    send: () => Promise<IOperation | undefined>,
    scope?: Scope,
  ): Promise<IOperation | undefined> {
    return this.call(kind, ref.project, `${kind} ${ref.name}`, send, scope);
  }

  /** How a stop is sent: to Compute's REST API when the fleet has it, else by the client. */
  private async stopSender(): Promise<
    (ref: VmRef, requestId: string) => Promise<IOperation | undefined>
  > {
    if (this.clients.rest) {
      const rest = await this.clients.rest();
      return async (ref, requestId) =>
        (await rest.post(
          `projects/${encodeURIComponent(ref.project)}/zones/${encodeURIComponent(ref.zone)}/instances/${encodeURIComponent(ref.name)}/stop`,
          { requestId },
        )) as IOperation;
    }
    const instances = await this.clients.instances();
    return async (ref, requestId) =>
      (await instances.stop({ ...instanceOf(ref), requestId }))[0].latestResponse as
        IOperation | undefined;
  }

  /** Stops a VM and waits until the operation is DONE; the requestId makes a retry a no-op. */
  async stop(ref: VmRef, requestId: string): Promise<void> {
    const [outcome] = await this.stopAll([{ ref, requestId }], { requests: 1 });
    if (outcome?.status === 'rejected') throw outcome.reason;
  }

  /**
   * Stops many VMs: every stop is requested (paced to the write budget), then the operations
   * are confirmed zone by zone (one `wait` and one list of the zone's operations per round,
   * not one wait per VM). Every Compute call of the batch, requests and confirmations alike,
   * counts against `requests` in flight (and the fleet's own limit). Every outcome is returned
   * in input order; one failure never hides the others. An operation still not DONE when the
   * fleet stops waiting (`waitMs`, default the fleet's operation timeout) is an
   * OperationNotConfirmedError. Targets are requested one project after another in turn
   * (`inTurnsByProject`), and one with `ready` only once that settles.
   */
  async stopAll(
    targets: ReadonlyArray<StopTarget>,
    concurrency: { requests: number; waitMs?: number },
  ): Promise<PromiseSettledResult<void>[]> {
    const scope = new Semaphore(Math.max(1, concurrency.requests));
    const stop = await this.stopSender();
    // Requested one project after another in turn: slots waiting on one project's write budget
    // would otherwise leave the other projects' budgets unused.
    const order = inTurnsByProject(targets.map((t) => t.ref.project));
    const inOrder = await settleAll(order, concurrency.requests, async (index) => {
      const { ref, requestId, ready } = targets[index] as StopTarget;
      if (ready) await ready;
      return this.request('stop', ref, () => stop(ref, requestId), scope);
    });
    const requested = new Array<PromiseSettledResult<IOperation | undefined>>(targets.length);
    order.forEach((index, i) => {
      requested[index] = inOrder[i] as PromiseSettledResult<IOperation | undefined>;
    });
    const pending: Array<{ index: number; ref: VmRef; operation: IOperation | undefined }> = [];
    const results = new Array<PromiseSettledResult<void>>(targets.length);
    requested.forEach((request, index) => {
      if (request.status === 'rejected') results[index] = request;
      else {
        const { ref } = targets[index] as { ref: VmRef };
        pending.push({ index, ref, operation: request.value });
      }
    });
    const confirmed = await this.confirmAll(
      pending.map((p) => ({ ref: p.ref, operation: p.operation })),
      scope,
      concurrency.waitMs,
    );
    pending.forEach((p, i) => {
      results[p.index] = confirmed[i] as PromiseSettledResult<void>;
    });
    return results;
  }

  async start(ref: VmRef, requestId: string, options: MutationOptions = {}): Promise<void> {
    await this.mutate(
      'start',
      ref,
      (instances) => instances.start({ ...instanceOf(ref), requestId }),
      options,
    );
  }

  /**
   * Bounds how long the VM may run (Compute stops or deletes it at the limit), keeping the rest
   * of its scheduling as `current` (a `read` of the VM) holds it.
   */
  async limitRunTime(current: VmDetail, limit: RunTimeLimit, requestId: string): Promise<void> {
    const ref = current.vm;
    const scheduling = this.schedulingOf.get(current) ?? (await this.getInstance(ref))?.scheduling;
    await this.mutate('setScheduling', ref, (instances) =>
      instances.setScheduling({
        ...instanceOf(ref),
        requestId,
        schedulingResource: {
          ...(scheduling ?? {}),
          maxRunDuration: { seconds: limit.maxRunSeconds },
          instanceTerminationAction: limit.terminationAction,
        },
      }),
    );
  }

  /**
   * Read-merge-write of the labels: `change` gets the current labels and returns the complete
   * new map (or undefined for no change). A lost race (412) re-reads and tries again. `known`
   * (the VM as just listed or read) seeds the first attempt, saving a read.
   * Returns the labels written, or undefined when nothing changed or the VM is gone.
   */
  async updateLabels(
    ref: VmRef,
    change: (current: Readonly<Record<string, string>>) => Record<string, string> | undefined,
    known?: {
      readonly labels: Readonly<Record<string, string>>;
      readonly labelFingerprint: string;
    },
    options: MutationOptions = {},
  ): Promise<Record<string, string> | undefined> {
    const attempts = this.options.conflictAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      const current = attempt === 1 && known ? known : await this.get(ref);
      if (!current) return undefined;
      const next = change({ ...current.labels });
      if (!next) return undefined;
      try {
        await this.mutate(
          'setLabels',
          ref,
          (instances) =>
            instances.setLabels({
              ...instanceOf(ref),
              instancesSetLabelsRequestResource: {
                labels: next,
                labelFingerprint: current.labelFingerprint,
              },
            }),
          options,
        );
        return next;
      } catch (error) {
        if (!isPreconditionFailed(error) || attempt >= attempts) throw error;
        this.options.logger.info('Label fingerprint changed underneath; re-reading', {
          vm: ref.name,
          attempt,
        });
      }
    }
  }

  /**
   * Writes metadata items merged into those of `current` (the VM as the caller just read it)
   * under its fingerprint. A concurrent writer surfaces as a 412 error to the caller (the
   * fingerprint is the lock).
   */
  async mergeMetadata(
    ref: VmRef,
    change: (current: ReadonlyMap<string, string>) => Map<string, string>,
    current: VmDetail,
  ): Promise<void> {
    const next = change(current.metadata);
    await this.mutate('setMetadata', ref, (instances) =>
      instances.setMetadata({
        ...instanceOf(ref),
        metadataResource: {
          fingerprint: current.metadataFingerprint,
          items: [...next].map(([key, value]) => ({ key, value })),
        },
      }),
    );
  }

  /**
   * The project's preemptions that began at or after `since`, oldest first: one filtered
   * aggregated list of its operations over every zone and page.
   */
  async listPreempted(project: string, since: Date): Promise<PreemptedOperation[]> {
    const clients = this.clients;
    if (!clients.globalOperations) {
      throw new PermanentError('This fleet was built without the operations of every scope');
    }
    const operations = await clients.globalOperations();
    return this.call('operations', project, `list preemptions of ${project}`, async () => {
      const out: PreemptedOperation[] = [];
      for await (const [scope, scoped] of operations.aggregatedListAsync({
        project,
        filter: `operationType = "${PREEMPTED_OPERATION}"`,
        maxResults: 500,
        returnPartialSuccess: true,
      })) {
        for (const op of scoped.operations ?? []) {
          const at = new Date(op.startTime ?? op.insertTime ?? '');
          if (op.operationType !== PREEMPTED_OPERATION || Number.isNaN(at.getTime())) continue;
          if (at < since || !op.name || op.targetId === undefined || op.targetId === null) continue;
          out.push({
            project,
            zone: lastSegment(op.zone) || scope.replace(/^zones\//, ''),
            name: op.name,
            vmName: lastSegment(op.targetLink),
            vmId: String(op.targetId),
            preemptedAt: at,
          });
        }
      }
      return out.sort((a, b) => a.preemptedAt.getTime() - b.preemptedAt.getTime());
    });
  }

  async listOperations(
    project: string,
    zone: string,
    filter?: string,
    scope?: Scope,
  ): Promise<OperationSummary[]> {
    return (await this.operationsIn(project, zone, filter, scope)).map((op) => ({
      name: op.name ?? '',
      operationType: op.operationType ?? '',
      targetId: String(op.targetId ?? ''),
      targetName: lastSegment(op.targetLink),
      status: String(op.status ?? ''),
      insertTime: op.insertTime ?? undefined,
      endTime: op.endTime ?? undefined,
    }));
  }

  private async operationsIn(
    project: string,
    zone: string,
    filter: string | undefined,
    scope?: Scope,
  ): Promise<IOperation[]> {
    const operations = await this.clients.zoneOperations();
    return this.call(
      'operations',
      project,
      `list operations in ${zone}`,
      async () => {
        const out: IOperation[] = [];
        for await (const op of operations.listAsync(
          { project, zone, filter, maxResults: 500 },
          { autoPaginate: false },
        )) {
          out.push(op);
        }
        return out;
      },
      scope,
    );
  }

  /**
   * Confirms operations: per zone and round, one `wait` on the oldest operation not yet DONE
   * (Compute's wait blocks up to about two minutes, but may return at once, still PENDING or
   * RUNNING) and, when more are pending there, one list of the zone's operations filtered to
   * their names. A round that ends with operations still pending pauses with exponential
   * backoff before the next. DONE operations are checked for `error.errors[]`; those still not
   * DONE at the deadline are OperationNotConfirmedError.
   */
  private async confirmAll(
    items: ReadonlyArray<{ ref: VmRef; operation: IOperation | undefined }>,
    scope?: Scope,
    waitMs: number = this.options.operationTimeoutMs ?? 240_000,
  ): Promise<PromiseSettledResult<void>[]> {
    const results = new Array<PromiseSettledResult<void>>(items.length);
    const byZone = new Map<string, Array<{ index: number; ref: VmRef; op: IOperation }>>();
    items.forEach(({ ref, operation }, index) => {
      if (!operation?.name) {
        results[index] = {
          status: 'rejected',
          reason: new TransientError(`No operation returned for ${ref.name}`),
        };
        return;
      }
      const key = `${ref.project}/${ref.zone}`;
      const list = byZone.get(key) ?? [];
      list.push({ index, ref, op: operation });
      byZone.set(key, list);
    });
    const deadline = this.now() + waitMs;
    await Promise.all(
      [...byZone.values()].map(async (zoneItems) => {
        let pending = zoneItems;
        let pause = this.options.pollDelayMs ?? 1_000;
        const settle = (item: (typeof zoneItems)[number]): void => {
          try {
            checkOperation(item.ref, item.op);
            results[item.index] = { status: 'fulfilled', value: undefined };
          } catch (reason) {
            results[item.index] = { status: 'rejected', reason };
          }
        };
        for (;;) {
          const open = pending.filter((item) => String(item.op.status) !== 'DONE');
          for (const item of pending) if (String(item.op.status) === 'DONE') settle(item);
          pending = open;
          if (pending.length === 0) return;
          if (this.now() >= deadline) break;
          try {
            await this.pollZone(pending, scope);
          } catch (error) {
            for (const item of pending) results[item.index] = { status: 'rejected', reason: error };
            return;
          }
          if (pending.some((item) => String(item.op.status) !== 'DONE')) {
            await this.sleep(Math.min(pause, Math.max(0, deadline - this.now())));
            pause = Math.min(pause * 2, this.options.maxPollDelayMs ?? 15_000);
          }
        }
        for (const item of pending) {
          results[item.index] = {
            status: 'rejected',
            reason: new OperationNotConfirmedError(
              item.op.name ?? '',
              String(item.op.status ?? 'UNKNOWN'),
              item.ref,
            ),
          };
        }
      }),
    );
    return results;
  }

  /** One round for a zone's pending operations: a wait on the first, one list for the rest. */
  private async pollZone(
    pending: Array<{ ref: VmRef; op: IOperation }>,
    scope: Scope,
  ): Promise<void> {
    const operations = await this.clients.zoneOperations();
    const first = pending[0] as { ref: VmRef; op: IOperation };
    const { project, zone } = first.ref;
    const name = first.op.name as string;
    const [waited] = await this.call(
      'wait',
      project,
      `wait ${name}`,
      () => operations.wait({ project, zone, operation: name }),
      scope,
    );
    first.op = waited;
    const rest = pending.slice(1).filter((item) => String(item.op.status) !== 'DONE');
    for (let i = 0; i < rest.length; i += OPERATIONS_PER_LIST) {
      const chunk = rest.slice(i, i + OPERATIONS_PER_LIST);
      const names = chunk.map((item) => item.op.name as string);
      const listed = await this.operationsIn(project, zone, `name eq "${names.join('|')}"`, scope);
      const byName = new Map(listed.map((op) => [op.name ?? '', op]));
      for (const item of chunk) {
        const latest = byName.get(item.op.name as string);
        if (latest) item.op = latest;
      }
    }
  }
}

/** Operation names per list filter: a regular expression of names, kept well inside a URL. */
const OPERATIONS_PER_LIST = 50;

// Errors inside a failed operation that a later attempt can get past.
const TRANSIENT_OPERATION_ERRORS = new Set([
  'RESOURCE_OPERATION_RATE_EXCEEDED',
  'RATE_LIMIT_EXCEEDED',
  'ZONE_RESOURCE_POOL_EXHAUSTED',
  'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS',
  'INTERNAL_ERROR',
]);

/** A DONE operation with `error.errors[]` failed: transient or permanent by its error codes. */
function checkOperation(ref: VmRef, operation: IOperation): void {
  const errors = operation.error?.errors ?? [];
  if (errors.length === 0) return;
  const message = errors.map((e) => `${e.code ?? ''}: ${e.message ?? ''}`).join('; ');
  const text = `Operation ${operation.operationType ?? ''} on ${ref.name} failed: ${message}`;
  if (errors.every((e) => TRANSIENT_OPERATION_ERRORS.has(e.code ?? ''))) {
    throw new TransientError(text);
  }
  throw new PermanentError(text);
}
