/**
 * The pricing port: what a VM costs per hour. The recorder, the budget enforcer (to shed the
 * most expensive work first), the label sweep and the run trigger all ask it; the pricing
 * engine (Cloud Billing Catalog with a bundled price-book fallback) answers.
 */
import { settleAll } from './concurrency.js';
import type { Logger } from './logger.js';
import { vmKey, type AttachedGpu, type ProvisioningModel, type Vm } from './vm.js';

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

/** Machine shapes priced at once: the engine caches its quotes, so this only bounds the burst. */
const PRICING_CONCURRENCY = 16;

/**
 * Prices every distinct machine shape of `machines` once, a few at a time, keyed by
 * `pricedMachineKey`. A shape that cannot be priced is left out and handed to `onFailure`, so
 * one failed quote never hides the others.
 */
export async function priceMachines<P>(
  machines: readonly PricedMachine[],
  price: (machine: PricedMachine) => Promise<P>,
  onFailure: (machine: PricedMachine, error: unknown) => void,
): Promise<Map<string, P>> {
  const shapes = [...new Map(machines.map((m) => [pricedMachineKey(m), m])).values()];
  const settled = await settleAll(shapes, PRICING_CONCURRENCY, price);
  const prices = new Map<string, P>();
  settled.forEach((result, i) => {
    const machine = shapes[i] as PricedMachine;
    if (result.status === 'fulfilled') prices.set(pricedMachineKey(machine), result.value);
    else onFailure(machine, result.reason);
  });
  return prices;
}

/** Hourly rates by `vmKey`; a VM that cannot be priced is left out (it counts as zero) and logged. */
export async function priceVms(
  prices: PriceLookup,
  logger: Logger,
  vms: readonly Vm[],
): Promise<Map<string, HourlyRate>> {
  const byShape = await priceMachines(
    vms,
    (machine) => prices.rate(machine),
    (machine, error) =>
      logger.warn('Pricing failed; VMs of this machine are left unpriced', {
        machineType: machine.machineType,
        region: machine.region,
        provisioningModel: machine.provisioningModel,
        error,
      }),
  );
  const rates = new Map<string, HourlyRate>();
  for (const vm of vms) {
    const rate = byShape.get(pricedMachineKey(vm));
    if (rate) rates.set(vmKey(vm), rate);
  }
  return rates;
}
