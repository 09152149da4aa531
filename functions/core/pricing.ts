import type { AttachedGpu, ProvisioningModel } from './vm.js';

/**
 * The pricing port: what a VM costs per hour. The recorder, the budget enforcer (to shed the
 * most expensive work first), the label sweep and the run trigger all ask it; the pricing
 * engine (Cloud Billing Catalog with a bundled price-book fallback) answers.
 */
export const PRICE_SOURCES = [
  'catalog',
  'price-book',
  // FLEX_START and RESERVATION_BOUND VMs priced at the on-demand rate, for want of their own SKUs.
  'catalog-standard-rate',
  'price-book-standard-rate',
  'unknown',
] as const;
export type PriceSource = (typeof PRICE_SOURCES)[number];

export interface PricedMachine {
  readonly region: string;
  readonly machineType: string;
  readonly provisioningModel: ProvisioningModel;
  readonly gpus: readonly AttachedGpu[];
}

export interface HourlyRate {
  /** What the VM costs per hour at its own provisioning model. */
  readonly hourly: number;
  /** Spot price per hour of the same shape, where the catalog has one. */
  readonly spot: number | undefined;
  /** On-demand price per hour of the same shape, where the prices have one. */
  readonly onDemand: number | undefined;
  readonly currency: string;
  readonly source: PriceSource;
}

export interface PriceLookup {
  /** The hourly rate; `source: 'unknown'` with zero prices when nothing can price it. */
  rate(machine: PricedMachine): Promise<HourlyRate>;
}

/** The key of a machine's price: machines with the same key cost the same per hour. */
export function pricedMachineKey(machine: PricedMachine): string {
  const gpus = machine.gpus.map((g) => `${g.type}x${g.count}`).join('+');
  return `${machine.region}|${machine.machineType}|${machine.provisioningModel}|${gpus}`;
}
