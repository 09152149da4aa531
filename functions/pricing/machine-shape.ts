import type { AttachedGpu } from '../core/vm.js';

/**
 * What a machine type is made of, as the Compute machineTypes API describes it: vCPUs, memory,
 * whether the core is shared, and the GPUs bundled with it (A2, G2). Prices are per vCPU, per
 * GiB and per GPU, so this is what turns a machine type name into an hourly rate.
 */
export interface MachineShape {
  readonly name: string;
  /** `guestCpus`: for shared-core types the API reports 2 (e2) or 1 (f1, g1). */
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly sharedCpu: boolean;
  readonly gpus: readonly AttachedGpu[];
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
  return { name, vcpus: custom.vcpus, memoryMb: custom.memoryMb, sharedCpu: false, gpus: [] };
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
