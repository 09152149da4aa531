import type { InstancesClient, ZoneOperationsClient, protos } from '@google-cloud/compute';
import { settleAll } from '../core/concurrency.js';
import {
  isNotFound,
  isPreconditionFailed,
  PermanentError,
  TransientError,
} from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { loggedRetries, withRetry, type RetryOptions } from '../core/retry.js';
import { regionOfZone, type ProvisioningModel, type Vm, type VmRef } from '../core/vm.js';

/**
 * The Compute port: lists VMs as `Vm` values (paging hidden), and carries out the mutations
 * costguard makes, each retried on transient failures and waited for until its operation is
 * DONE. Label and metadata writes are read-merge-write under the fingerprint.
 */
type IInstance = protos.google.cloud.compute.v1.IInstance;
type IOperation = protos.google.cloud.compute.v1.IOperation;

export interface InstanceFilter {
  status?: string;
  provisioningModel?: 'SPOT' | 'STANDARD';
  /** `true` for "has the label", a string for an exact value. */
  labels?: Record<string, string | true>;
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
      | 'start'
      | 'stop'
      | 'setLabels'
      | 'setMetadata'
      | 'setScheduling'
    >
  >;
  zoneOperations(): Promise<Pick<ZoneOperationsClient, 'wait' | 'listAsync'>>;
}

function lastSegment(url: string | null | undefined): string {
  return (url ?? '').split('/').pop() ?? '';
}

function provisioningModelOf(instance: IInstance): ProvisioningModel {
  const scheduling = instance.scheduling ?? {};
  if (scheduling.provisioningModel === 'SPOT') return 'SPOT';
  if (scheduling.preemptible) return 'PREEMPTIBLE';
  return 'STANDARD';
}

/** An instance's metadata items as a map. */
export function metadataOf(instance: IInstance): Map<string, string> {
  return new Map((instance.metadata?.items ?? []).map((i) => [i.key ?? '', i.value ?? '']));
}

export function toVm(project: string, instance: IInstance): Vm {
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

export interface ComputeFleetOptions {
  logger: Logger;
  retry?: RetryOptions;
  /** Longest wait for one operation before giving up as transient (default 10 minutes). */
  operationTimeoutMs?: number;
  /** Attempts of a fingerprinted write that loses races (default 5). */
  conflictAttempts?: number;
}

export class ComputeFleet {
  constructor(
    private readonly clients: ComputeClients,
    private readonly options: ComputeFleetOptions,
  ) {}

  private retry<T>(what: string, operation: () => Promise<T>): Promise<T> {
    return withRetry(operation, loggedRetries(this.options.logger, what, this.options.retry));
  }

  /** Every VM of a project, over all zones and pages. */
  async *list(project: string, filter?: InstanceFilter, pageSize = 500): AsyncGenerator<Vm> {
    const instances = await this.clients.instances();
    const iterable = instances.aggregatedListAsync(
      {
        project,
        filter: buildFilter(filter),
        maxResults: pageSize,
        returnPartialSuccess: true,
      },
      // Async iteration pages by itself; saying so keeps gax from warning on every call.
      { autoPaginate: false },
    );
    for await (const [, scoped] of iterable) {
      for (const instance of scoped.instances ?? []) yield toVm(project, instance);
    }
  }

  async listAll(project: string, filter?: InstanceFilter): Promise<Vm[]> {
    return this.retry(`list instances of ${project}`, async () => {
      const out: Vm[] = [];
      for await (const vm of this.list(project, filter)) out.push(vm);
      return out;
    });
  }

  async getRaw(ref: VmRef): Promise<IInstance | undefined> {
    const instances = await this.clients.instances();
    try {
      const [instance] = await this.retry(`get ${ref.name}`, () =>
        instances.get({ project: ref.project, zone: ref.zone, instance: ref.name }),
      );
      return instance;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async get(ref: VmRef): Promise<Vm | undefined> {
    const instance = await this.getRaw(ref);
    return instance ? toVm(ref.project, instance) : undefined;
  }

  /** Stops a VM and waits until the operation is DONE; the requestId makes a retry a no-op. */
  async stop(ref: VmRef, requestId: string): Promise<void> {
    const [outcome] = await this.stopAll([{ ref, requestId }], { requests: 1 });
    if (outcome?.status === 'rejected') throw outcome.reason;
  }

  /**
   * Stops many VMs: first every stop is requested (at most `requests` in flight), then every
   * operation is waited for (at most `waits` in flight). Stop operations take tens of seconds,
   * so waiting inside the request slots would make a large fleet take as many rounds of that.
   * Every outcome is returned in input order; one failure never hides the others.
   */
  async stopAll(
    targets: ReadonlyArray<{ ref: VmRef; requestId: string }>,
    concurrency: { requests: number; waits?: number },
  ): Promise<PromiseSettledResult<void>[]> {
    const instances = await this.clients.instances();
    const requested = await settleAll(targets, concurrency.requests, async ({ ref, requestId }) => {
      const [operation] = await this.retry(`stop ${ref.name}`, () =>
        instances.stop({ project: ref.project, zone: ref.zone, instance: ref.name, requestId }),
      );
      return operation.latestResponse as IOperation;
    });
    const waits = concurrency.waits ?? Math.max(concurrency.requests, 100);
    return settleAll(requested, waits, async (request, i) => {
      if (request.status === 'rejected') throw request.reason;
      await this.waitFor((targets[i] as { ref: VmRef }).ref, request.value);
    });
  }

  async start(ref: VmRef, requestId: string): Promise<void> {
    const instances = await this.clients.instances();
    const [operation] = await this.retry(`start ${ref.name}`, () =>
      instances.start({ project: ref.project, zone: ref.zone, instance: ref.name, requestId }),
    );
    await this.waitFor(ref, operation.latestResponse as IOperation);
  }

  async setScheduling(
    ref: VmRef,
    scheduling: protos.google.cloud.compute.v1.IScheduling,
    requestId: string,
  ): Promise<void> {
    const instances = await this.clients.instances();
    const [operation] = await this.retry(`setScheduling ${ref.name}`, () =>
      instances.setScheduling({
        project: ref.project,
        zone: ref.zone,
        instance: ref.name,
        requestId,
        schedulingResource: scheduling,
      }),
    );
    await this.waitFor(ref, operation.latestResponse as IOperation);
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
  ): Promise<Record<string, string> | undefined> {
    const instances = await this.clients.instances();
    const attempts = this.options.conflictAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      const current =
        attempt === 1 && known
          ? { labels: { ...known.labels }, labelFingerprint: known.labelFingerprint }
          : await this.getRaw(ref);
      if (!current) return undefined;
      const next = change({ ...(current.labels ?? {}) });
      if (!next) return undefined;
      try {
        const [operation] = await this.retry(`setLabels ${ref.name}`, () =>
          instances.setLabels({
            project: ref.project,
            zone: ref.zone,
            instance: ref.name,
            instancesSetLabelsRequestResource: {
              labels: next,
              labelFingerprint: current.labelFingerprint,
            },
          }),
        );
        await this.waitFor(ref, operation.latestResponse as IOperation);
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
   * Writes metadata items merged into those of `current` (the instance as the caller just read
   * it) under its fingerprint. A concurrent writer surfaces as a 412 error to the caller (the
   * fingerprint is the lock).
   */
  async mergeMetadata(
    ref: VmRef,
    change: (current: ReadonlyMap<string, string>) => Map<string, string>,
    current: IInstance,
  ): Promise<void> {
    const instances = await this.clients.instances();
    const next = change(metadataOf(current));
    const [operation] = await this.retry(`setMetadata ${ref.name}`, () =>
      instances.setMetadata({
        project: ref.project,
        zone: ref.zone,
        instance: ref.name,
        metadataResource: {
          fingerprint: current.metadata?.fingerprint,
          items: [...next].map(([key, value]) => ({ key, value })),
        },
      }),
    );
    await this.waitFor(ref, operation.latestResponse as IOperation);
  }

  async listOperations(
    project: string,
    zone: string,
    filter?: string,
  ): Promise<OperationSummary[]> {
    const operations = await this.clients.zoneOperations();
    return this.retry(`list operations in ${zone}`, async () => {
      const out: OperationSummary[] = [];
      for await (const op of operations.listAsync(
        { project, zone, filter, maxResults: 500 },
        { autoPaginate: false },
      )) {
        out.push({
          name: op.name ?? '',
          operationType: op.operationType ?? '',
          targetId: String(op.targetId ?? ''),
          targetName: lastSegment(op.targetLink),
          status: String(op.status ?? ''),
          insertTime: op.insertTime ?? undefined,
          endTime: op.endTime ?? undefined,
        });
      }
      return out;
    });
  }

  /** Waits for a zone operation to be DONE (wait returns after ~2 minutes at most), then checks it. */
  private async waitFor(ref: VmRef, operation: IOperation | undefined): Promise<void> {
    if (!operation?.name) throw new TransientError(`No operation returned for ${ref.name}`);
    const operations = await this.clients.zoneOperations();
    const deadline = Date.now() + (this.options.operationTimeoutMs ?? 600_000);
    let current = operation;
    while (String(current.status) !== 'DONE') {
      if (Date.now() > deadline) {
        throw new TransientError(`Operation ${operation.name} on ${ref.name} is not done yet`);
      }
      const [next] = await this.retry(`wait ${operation.name}`, () =>
        operations.wait({
          project: ref.project,
          zone: ref.zone,
          operation: operation.name as string,
        }),
      );
      current = next;
    }
    const errors = current.error?.errors ?? [];
    if (errors.length > 0) {
      const message = errors.map((e) => `${e.code ?? ''}: ${e.message ?? ''}`).join('; ');
      throw new PermanentError(
        `Operation ${current.operationType ?? ''} on ${ref.name} failed: ${message}`,
      );
    }
  }
}
