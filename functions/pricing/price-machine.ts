/**
 * The hourly rate of one machine from component prices: billable vCPUs x core price + memory
 * GiB x RAM price + GPUs x GPU price + bundled local SSD GiB x its price, or the whole-machine
 * price for f1/g1. Custom types use the custom SKUs, with memory beyond the series' per-vCPU
 * limit at the extended rate when `-ext`. M2 is M1's core and RAM plus the M2 upgrade premium;
 * m4-ultramem-224 has SKUs of its own.
 */

import type { HourlyRate, PricedMachine, PriceSource } from '../core/pricing.js';
import { isSpotLike, type AttachedGpu, type ProvisioningModel } from '../core/vm.js';
import {
  billableVcpus,
  customMemorySplit,
  parseMachineTypeName,
  type MachineShape,
} from './machine-shape.js';
import type { PriceModel, PriceTable } from './price-table.js';

export interface PricedShape {
  /** vCPUs billed: 0.25 / 0.5 / 1 for e2-micro / small / medium. */
  readonly vcpus: number;
  readonly memoryGib: number;
  /** GPUs priced: attached to the instance, else bundled with the machine type. */
  readonly gpus: readonly AttachedGpu[];
  /** Bundled local SSD priced, GiB. */
  readonly localSsdGib: number;
}

export interface Component {
  readonly item: string;
  readonly quantity: number;
  /** Priced instead when the table has no `item` (generic local SSD; predefined for custom). */
  readonly fallback?: string;
}

/** What a machine is billed for: the components to price, and the shape they add up to. */
export interface MachineComponents {
  readonly components: readonly Component[];
  readonly priced: PricedShape;
}

const MB_PER_GIB = 1024;

/** The generic local SSD item: "SSD backed Local Storage", for series without their own SKU. */
export const GENERIC_LOCAL_SSD = 'ssd/local';

// Machine types whose core and RAM have SKUs of their own rather than their series'.
const OWN_PRICE_SERIES = new Set(['m4-ultramem-224']);

/** The machine's components, or undefined when its type name is not one Compute uses. */
export function componentsOf(
  machine: PricedMachine,
  shape: MachineShape,
): MachineComponents | undefined {
  const name = parseMachineTypeName(machine.machineType);
  if (!name) return undefined;
  const gpus = machine.gpus.length > 0 ? machine.gpus : shape.gpus;
  const gpuComponents = gpus.map((g) => ({ item: `gpu/${g.type}`, quantity: g.count }));
  const memoryGib = shape.memoryMb / MB_PER_GIB;
  const localSsdGib = name.custom ? 0 : shape.localSsdGib;
  const series = OWN_PRICE_SERIES.has(machine.machineType) ? machine.machineType : name.series;
  const ssdComponents =
    localSsdGib > 0
      ? [{ item: `${series}/local-ssd`, quantity: localSsdGib, fallback: GENERIC_LOCAL_SSD }]
      : [];

  if (series === 'f1' || series === 'g1') {
    return {
      components: [{ item: `${series}/vm`, quantity: 1 }, ...gpuComponents],
      priced: { vcpus: shape.vcpus, memoryGib, gpus, localSsdGib: 0 },
    };
  }
  if (name.custom) {
    const { standardMb, extendedMb } = customMemorySplit(
      series,
      shape.vcpus,
      shape.memoryMb,
      name.custom.extended,
    );
    // Where prices lack the custom SKUs (the price book has them for N1 only), the series'
    // predefined core and RAM price the shape.
    const components = [
      { item: `${series}/custom-core`, quantity: shape.vcpus, fallback: `${series}/core` },
      {
        item: `${series}/custom-ram`,
        quantity: standardMb / MB_PER_GIB,
        fallback: `${series}/ram`,
      },
      ...(extendedMb > 0
        ? [
            {
              item: `${series}/custom-extended-ram`,
              quantity: extendedMb / MB_PER_GIB,
              fallback: `${series}/ram`,
            },
          ]
        : []),
      ...gpuComponents,
    ];
    return { components, priced: { vcpus: shape.vcpus, memoryGib, gpus, localSsdGib: 0 } };
  }
  const vcpus = billableVcpus(shape);
  const base = series === 'm2' ? 'm1' : series;
  const upgrade =
    series === 'm2'
      ? [
          { item: 'm2/upgrade-core', quantity: vcpus },
          { item: 'm2/upgrade-ram', quantity: memoryGib },
        ]
      : [];
  return {
    components: [
      { item: `${base}/core`, quantity: vcpus },
      { item: `${base}/ram`, quantity: memoryGib },
      ...upgrade,
      ...gpuComponents,
      ...ssdComponents,
    ],
    priced: { vcpus, memoryGib, gpus, localSsdGib },
  };
}

function total(
  table: PriceTable,
  region: string,
  components: readonly Component[],
  model: PriceModel,
): { amount: number; currency: string } | undefined {
  let amount = 0;
  let currency: string | undefined;
  for (const c of components) {
    if (c.quantity === 0) continue;
    const price =
      table.get(region, c.item, model) ??
      (c.fallback === undefined ? undefined : table.get(region, c.fallback, model));
    if (!price) return undefined;
    if (currency !== undefined && price.currency !== currency) return undefined;
    currency = price.currency;
    amount += price.price * c.quantity;
  }
  return currency === undefined ? undefined : { amount, currency };
}

// Models billed with SKUs of their own (Dynamic Workload Scheduler, reservations) that the
// prices here do not carry: priced at the on-demand rate, and the source says so.
const STANDARD_RATE_MODELS: ReadonlySet<ProvisioningModel> = new Set([
  'FLEX_START',
  'RESERVATION_BOUND',
]);

function standardRate(source: PriceSource): PriceSource {
  if (source === 'catalog') return 'catalog-standard-rate';
  if (source === 'price-book') return 'price-book-standard-rate';
  return source;
}

/** The machine's rate from one table, or undefined when the table lacks a component it needs. */
export function priceMachine(
  table: PriceTable,
  source: PriceSource,
  machine: PricedMachine,
  { components }: MachineComponents,
): HourlyRate | undefined {
  const onDemand = total(table, machine.region, components, 'onDemand');
  const spot = total(table, machine.region, components, 'spot');
  if (spot && onDemand && spot.currency !== onDemand.currency) return undefined;
  // A Spot VM needs the Spot price, anything else the on-demand one; some regions list only one.
  const own = isSpotLike(machine.provisioningModel) ? spot : onDemand;
  if (!own) return undefined;
  return {
    hourly: own.amount,
    spot: spot?.amount,
    onDemand: onDemand?.amount,
    currency: own.currency,
    source: STANDARD_RATE_MODELS.has(machine.provisioningModel) ? standardRate(source) : source,
  };
}
