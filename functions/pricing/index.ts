/**
 * The pricing engine's public face: `createPriceLookup` for tests and custom wiring, and
 * `createPriceLookupFor(runtime, {project})` for an entry point, which wires the Cloud Billing
 * Catalog and the Compute machineTypes API from the runtime's clients. Build it once per
 * function instance (in `build<EntryPoint>`): its caches live as long as it does.
 */

import { BillingCatalog } from '../adapters/billing-catalog.js';
import { MachineTypeShapes } from '../adapters/machine-types.js';
import type { Runtime } from '../adapters/runtime.js';
import { createPriceLookup, type PricingEngine, type PriceLookupOptions } from './price-lookup.js';

export { createPriceLookup } from './price-lookup.js';
export type {
  PriceQuote,
  PricingEngine,
  PricingStatus,
  PriceLookupOptions,
} from './price-lookup.js';
export type { PricedShape } from './price-machine.js';
export { loadPriceBook, priceBookFrom, type PriceBook } from './price-book.js';

export interface RuntimePricingOptions {
  /** A governed project: machine type shapes are read through it. */
  project: string;
  /** ISO 4217 currency for catalog prices (default USD). */
  currency?: string;
  refreshAfterMs?: PriceLookupOptions['refreshAfterMs'];
  retryAfterMs?: PriceLookupOptions['retryAfterMs'];
}

export function createPriceLookupFor(
  runtime: Runtime,
  options: RuntimePricingOptions,
): PricingEngine {
  const { clients, logger, clock } = runtime;
  return createPriceLookup({
    catalog: new BillingCatalog(() => clients.catalog(), {
      logger,
      ...(options.currency ? { currency: options.currency } : {}),
    }),
    machineTypes: new MachineTypeShapes(() => clients.machineTypes(), {
      project: options.project,
      logger,
    }),
    clock,
    logger,
    refreshAfterMs: options.refreshAfterMs,
    retryAfterMs: options.retryAfterMs,
  });
}
