import type { MachineTypesClient, protos } from '@google-cloud/compute';
import type { Logger } from '../core/logger.js';
import { loggedRetries, withRetry, type RetryOptions } from '../core/retry.js';
import {
  bundledGpus,
  bundledLocalSsdGib,
  customShapeOf,
  parseMachineTypeName,
  type MachineShape,
  type MachineShapes,
} from '../pricing/machine-shape.js';

/**
 * Machine shapes from the Compute machineTypes API, cached for the life of the instance
 * (a machine type's shape never changes). Custom types are read from their name with no call;
 * a predefined type costs one aggregatedList filtered by name and cut to one result, so the
 * shape is found without knowing a zone.
 */
type IMachineType = protos.google.cloud.compute.v1.IMachineType;

const MACHINE_TYPE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

export function toMachineShape(machineType: IMachineType): MachineShape {
  const name = machineType.name ?? '';
  const series = parseMachineTypeName(name)?.series ?? '';
  return {
    name,
    vcpus: Number(machineType.guestCpus ?? 0),
    memoryMb: Number(machineType.memoryMb ?? 0),
    sharedCpu: machineType.isSharedCpu === true,
    gpus: bundledGpus(
      name,
      (machineType.accelerators ?? []).map((a) => ({
        type: a.guestAcceleratorType ?? '',
        count: Number(a.guestAcceleratorCount ?? 0),
      })),
    ),
    localSsdGib: bundledLocalSsdGib(
      series,
      Number(machineType.bundledLocalSsds?.partitionCount ?? 0),
    ),
  };
}

export class MachineTypeShapes implements MachineShapes {
  private readonly cache = new Map<string, Promise<MachineShape | undefined>>();

  constructor(
    private readonly client: () => Promise<Pick<MachineTypesClient, 'aggregatedListAsync'>>,
    private readonly options: { project: string; logger: Logger; retry?: RetryOptions },
  ) {}

  shape(machineType: string): Promise<MachineShape | undefined> {
    const custom = customShapeOf(machineType);
    if (custom) return Promise.resolve(custom);
    // The name goes into a list filter: anything but a plain name has no shape.
    if (!MACHINE_TYPE_NAME.test(machineType)) return Promise.resolve(undefined);
    let shape = this.cache.get(machineType);
    if (!shape) {
      shape = this.fetch(machineType);
      this.cache.set(machineType, shape);
      shape.catch(() => this.cache.delete(machineType));
    }
    return shape;
  }

  private async fetch(machineType: string): Promise<MachineShape | undefined> {
    const client = await this.client();
    return withRetry(
      async () => {
        // autoPaginate false only silences gax's warning: async iteration pages on demand anyway.
        const pages = client.aggregatedListAsync(
          {
            project: this.options.project,
            filter: `name = ${machineType}`,
            maxResults: 1,
            returnPartialSuccess: true,
          },
          { autoPaginate: false },
        );
        for await (const [, scoped] of pages) {
          const found = (scoped.machineTypes ?? []).find((m) => m.name === machineType);
          if (found) return toMachineShape(found);
        }
        this.options.logger.warn('Machine type not found', { machineType });
        return undefined;
      },
      loggedRetries(this.options.logger, 'machine type lookup', this.options.retry, {
        machineType,
      }),
    );
  }
}
