/**
 * Machine shapes from the Compute machineTypes API, cached for the life of the instance
 * (a machine type's shape never changes). Custom types are read from their name with no call;
 * the predefined types asked for together (within one turn of the event loop) cost one
 * aggregatedList filtered by a name pattern, so shapes are found without knowing a zone, and
 * paging stops as soon as every name has been seen (each type is listed once per zone).
 */

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

/** The most a list answers in one page (Compute's maximum `maxResults`). */
const PAGE_SIZE = 500;
/** Names per filter, to keep the filter's length well inside a request URL. */
const NAMES_PER_LOOKUP = 50;

export class MachineTypeShapes implements MachineShapes {
  private readonly cache = new Map<string, Promise<MachineShape | undefined>>();
  private pending = new Map<string, (lookup: Promise<Map<string, MachineShape>>) => void>();

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
      shape = this.enqueue(machineType);
      this.cache.set(machineType, shape);
      shape.catch(() => this.cache.delete(machineType));
    }
    return shape;
  }

  /** Joins the next lookup, which starts once the names asked for in this turn are known. */
  private enqueue(machineType: string): Promise<MachineShape | undefined> {
    if (this.pending.size === 0) setImmediate(() => this.flush());
    return new Promise<Map<string, MachineShape>>((resolve, reject) => {
      this.pending.set(machineType, (lookup) => {
        lookup.then(resolve, reject);
      });
    }).then((found) => {
      const shape = found.get(machineType);
      if (!shape) this.options.logger.warn('Machine type not found', { machineType });
      return shape;
    });
  }

  private flush(): void {
    const batch = [...this.pending];
    this.pending = new Map();
    for (let i = 0; i < batch.length; i += NAMES_PER_LOOKUP) {
      const part = batch.slice(i, i + NAMES_PER_LOOKUP);
      const lookup = this.fetch(part.map(([name]) => name));
      for (const [, join] of part) join(lookup);
    }
  }

  private async fetch(names: readonly string[]): Promise<Map<string, MachineShape>> {
    const client = await this.client();
    const wanted = new Set(names);
    return withRetry(
      async () => {
        const found = new Map<string, MachineShape>();
        // autoPaginate false only silences gax's warning: async iteration pages on demand anyway.
        const pages = client.aggregatedListAsync(
          {
            project: this.options.project,
            // A regular expression that must match the whole name (RE2); names are plain.
            filter: `name eq "(${[...wanted].join('|')})"`,
            maxResults: PAGE_SIZE,
            returnPartialSuccess: true,
          },
          { autoPaginate: false },
        );
        for await (const [, scoped] of pages) {
          for (const machineType of scoped.machineTypes ?? []) {
            const name = machineType.name ?? '';
            if (wanted.has(name) && !found.has(name)) found.set(name, toMachineShape(machineType));
          }
          if (found.size === wanted.size) break;
        }
        return found;
      },
      loggedRetries(this.options.logger, 'machine type lookup', this.options.retry, {
        machineTypes: names,
      }),
    );
  }
}
