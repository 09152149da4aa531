/**
 * What a machine type is made of, as the Compute machineTypes API describes it: vCPUs, memory,
 * whether the core is shared, and the GPUs bundled with it (A2, G2). Prices are per vCPU, per
 * GiB and per GPU, so this is what turns a machine type name into an hourly rate.
 */

import type { AttachedGpu } from '../core/vm.js';

export interface MachineShape {
  readonly name: string;
  /** `guestCpus`: for shared-core types the API reports 2 (e2) or 1 (f1, g1). */
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly sharedCpu: boolean;
  readonly gpus: readonly AttachedGpu[];
  /** GiB of local SSD the machine type bundles (C3 and C4 `-lssd`, Z3, A2 ultra, A3), else 0. */
  readonly localSsdGib: number;
}

/**
 * The machine-types port: the shape of a machine type by name, or undefined when none exists.
 * Implementations cache shapes (the pricing engine asks on every new quote) but not failures.
 */
export interface MachineShapes {
  shape(machineType: string): Promise<MachineShape | undefined>;
}

export interface MachineTypeName {
  /** Machine series, e.g. `n2`, `e2`, `c2`; custom types without a prefix are `n1`. */
  readonly series: string;
  readonly custom: { vcpus: number; memoryMb: number; extended: boolean } | undefined;
}

const CUSTOM = /^(?:([a-z][a-z0-9]*)-)?custom-(\d+)-(\d+)(-ext)?$/;
const PREDEFINED = /^([a-z][a-z0-9]*)-[a-z0-9-]+$/;

/** Series and, for custom types (`[series-]custom-CPUS-MEMORY_MB[-ext]`), their shape. */
export function parseMachineTypeName(name: string): MachineTypeName | undefined {
  const custom = CUSTOM.exec(name);
  if (custom) {
    return {
      series: custom[1] ?? 'n1',
      custom: {
        vcpus: Number(custom[2]),
        memoryMb: Number(custom[3]),
        extended: custom[4] !== undefined,
      },
    };
  }
  const predefined = PREDEFINED.exec(name);
  return predefined ? { series: predefined[1] as string, custom: undefined } : undefined;
}

/** A custom type's shape read from its name, so pricing it needs no API call. */
export function customShapeOf(name: string): MachineShape | undefined {
  const custom = parseMachineTypeName(name)?.custom;
  if (!custom) return undefined;
  return {
    name,
    vcpus: custom.vcpus,
    memoryMb: custom.memoryMb,
    sharedCpu: false,
    gpus: [],
    localSsdGib: 0,
  };
}

// Shared-core E2 types bill a fraction of a vCPU (cloud.google.com/compute/vm-instance-pricing).
const SHARED_CORE_VCPUS: Readonly<Record<string, number>> = {
  'e2-micro': 0.25,
  'e2-small': 0.5,
  'e2-medium': 1,
};

/** The vCPUs a machine is billed for: a fraction for shared-core E2, else the guest vCPUs. */
export function billableVcpus(shape: MachineShape): number {
  return SHARED_CORE_VCPUS[shape.name] ?? shape.vcpus;
}

// Memory per vCPU a custom type gets at the normal rate; with `-ext` the rest is extended memory.
const CUSTOM_MEMORY_MB_PER_VCPU: Readonly<Record<string, number>> = {
  n1: 6.5 * 1024,
  n2: 8 * 1024,
  n2d: 8 * 1024,
  e2: 8 * 1024,
};

/** Memory of a custom type split into the part at the custom rate and the extended part. */
export function customMemorySplit(
  series: string,
  vcpus: number,
  memoryMb: number,
  extended: boolean,
): { standardMb: number; extendedMb: number } {
  const perVcpu = CUSTOM_MEMORY_MB_PER_VCPU[series];
  if (!extended || perVcpu === undefined) return { standardMb: memoryMb, extendedMb: 0 };
  const standardMb = Math.min(memoryMb, vcpus * perVcpu);
  return { standardMb, extendedMb: memoryMb - standardMb };
}

// A bundled local SSD partition is 375 GiB, except Z3's Titanium SSD partitions of 3,000 GiB
// (cloud.google.com/compute/docs/disks/local-ssd#lssd_disks_fixed).
const LOCAL_SSD_PARTITION_GIB: Readonly<Record<string, number>> = { z3: 3000 };
const DEFAULT_PARTITION_GIB = 375;

/** GiB of local SSD in `partitions` bundled partitions of a machine type of `series`. */
export function bundledLocalSsdGib(series: string, partitions: number): number {
  return partitions * (LOCAL_SSD_PARTITION_GIB[series] ?? DEFAULT_PARTITION_GIB);
}

// G4 types below 48 vCPUs get a fraction of one RTX PRO 6000, which machineTypes cannot report
// (guestAcceleratorCount is an integer) but the catalog bills per GPU-hour.
const GPU_SHARE: Readonly<Record<string, number>> = {
  'g4-standard-6': 0.125,
  'g4-standard-12': 0.25,
  'g4-standard-24': 0.5,
};

/** The GPUs a machine type bundles, with fractional shares where the type has one. */
export function bundledGpus(name: string, gpus: readonly AttachedGpu[]): readonly AttachedGpu[] {
  const share = GPU_SHARE[name];
  return share === undefined ? gpus : gpus.map((g) => ({ type: g.type, count: share }));
}
