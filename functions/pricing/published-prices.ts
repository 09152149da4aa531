/**
 * Published hourly machine prices per machine type and region, on demand and Spot, as the
 * open-source Google Cloud pricing calculator derived them from the Cloud Billing Catalog
 * (fixtures/pricing/published-machine-prices-2026-07-30.csv, see fixtures/pricing/README.md).
 * The price book is derived from it, and `npm run bench:prices` measures the engine against it.
 */

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PermanentError } from '../core/errors.js';
import { repositoryPath } from '../core/repository-path.js';
import { bundledGpus, parseMachineTypeName, type MachineShape } from './machine-shape.js';

export const PUBLISHED_PRICES = {
  path: 'fixtures/pricing/published-machine-prices-2026-07-30.csv',
  name: 'Cyclenerd/google-cloud-pricing-cost-calculator pricing.yml',
  url: 'https://github.com/Cyclenerd/google-cloud-pricing-cost-calculator',
  licence: 'Apache-2.0',
  generatedAt: '2026-07-30T06:13:00Z',
} as const;

export interface PublishedPrice {
  readonly machineType: string;
  readonly region: string;
  /** The shape the row lists, as machineTypes would describe it. */
  readonly shape: MachineShape;
  readonly onDemand: number | undefined;
  readonly spot: number | undefined;
}

// The table's accelerator column, as Compute names the accelerator type.
export const ACCELERATOR_TYPES: Readonly<Record<string, string>> = {
  a100: 'nvidia-tesla-a100',
  'a100-80gb': 'nvidia-a100-80gb',
  'h100-80gb': 'nvidia-h100-80gb',
  'h100-80gb-mega': 'nvidia-h100-mega-80gb',
  l4: 'nvidia-l4',
  rtx6000: 'nvidia-rtx-pro-6000',
};

const COLUMNS = [
  'machine_type',
  'vcpus',
  'memory_gib',
  'accelerator',
  'accelerator_count',
  'local_ssd',
  'region',
  'on_demand_per_hour',
  'spot_per_hour',
] as const;

const price = z
  .string()
  .transform((s, ctx) => {
    if (s === '') return undefined;
    const n = Number(s);
    if (!Number.isFinite(n) || n <= 0) {
      ctx.addIssue({ code: 'custom', message: `not a price: ${s}` });
      return z.NEVER;
    }
    return n;
  })
  .optional();

const quantity = z
  .string()
  .regex(/^\d+(\.\d+)?$/)
  .transform(Number);

const rowSchema = z.object({
  machine_type: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/),
  vcpus: quantity,
  memory_gib: quantity,
  accelerator: z.union([z.literal(''), z.enum(Object.keys(ACCELERATOR_TYPES))]),
  accelerator_count: z.union([z.literal(''), quantity]),
  local_ssd: z.union([z.literal(''), quantity]),
  region: z.string().regex(/^[a-z]+-[a-z]+\d+$/),
  on_demand_per_hour: price,
  spot_per_hour: price,
});

/** Rows of the published table; a malformed line fails with its line number. */
export function parsePublishedPrices(text: string): PublishedPrice[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]?.split(',');
  if (header?.join(',') !== COLUMNS.join(',')) {
    throw new PermanentError(`The published prices need the columns ${COLUMNS.join(',')}`);
  }
  return lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    const parsed = rowSchema.safeParse(Object.fromEntries(COLUMNS.map((c, j) => [c, cells[j]])));
    if (!parsed.success || cells.length !== COLUMNS.length) {
      const issue = parsed.error?.issues[0];
      throw new PermanentError(
        `Published prices line ${i + 2} is invalid${issue ? ` at ${issue.path.join('.')}: ${issue.message}` : ''}`,
      );
    }
    const row = parsed.data;
    const gpuCount = row.accelerator_count === '' ? 0 : row.accelerator_count;
    const gpus =
      row.accelerator === '' || gpuCount === 0
        ? []
        : [{ type: ACCELERATOR_TYPES[row.accelerator] as string, count: gpuCount }];
    return {
      machineType: row.machine_type,
      region: row.region,
      shape: {
        name: row.machine_type,
        vcpus: row.vcpus,
        memoryMb: Math.round(row.memory_gib * 1024),
        sharedCpu: ['e2-micro', 'e2-small', 'e2-medium', 'f1-micro', 'g1-small'].includes(
          row.machine_type,
        ),
        gpus: bundledGpus(row.machine_type, gpus),
        localSsdGib: row.local_ssd === '' ? 0 : row.local_ssd,
      },
      onDemand: row.on_demand_per_hour,
      spot: row.spot_per_hour,
    };
  });
}

export function loadPublishedPrices(
  path = repositoryPath(PUBLISHED_PRICES.path),
): PublishedPrice[] {
  return parsePublishedPrices(readFileSync(path, 'utf8'));
}

/** The series a row's machine type belongs to (`custom-1-7680-ext` is N1). */
export function seriesOfRow(row: PublishedPrice): string {
  return parseMachineTypeName(row.machineType)?.series ?? row.machineType;
}
