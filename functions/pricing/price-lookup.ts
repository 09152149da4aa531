/**
 * The pricing engine behind the PriceLookup port. Prices come from the Cloud Billing Catalog,
 * loaded on first use and refreshed daily (Spot prices change at most once a day); while the
 * catalog cannot be reached, or lacks a component, the bundled price book prices the machine;
 * failing both, the rate is zero with source `unknown`. Prices and quotes are cached per instance;
 * machine shapes by the MachineShapes implementation.
 */

import { HOUR_MS, type Clock } from '../core/clock.js';
import { errorMessage, TransientError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import {
  pricedMachineKey,
  type HourlyRate,
  type PricedMachine,
  type PriceLookup,
} from '../core/pricing.js';
import { buildPriceTable, type CatalogSource } from './catalog-skus.js';
import type { MachineShape, MachineShapes } from './machine-shape.js';
import { loadPriceBook, type PriceBook } from './price-book.js';
import { componentsOf, priceMachine, type PricedShape } from './price-machine.js';
import type { PriceTable } from './price-table.js';

export interface PriceLookupOptions {
  catalog: CatalogSource;
  machineTypes: MachineShapes;
  clock: Clock;
  logger: Logger;
  /** Defaults to the bundled book, read on first need. */
  priceBook?: PriceBook | (() => PriceBook);
  /** Age at which catalog prices are reloaded (default 24 h). */
  refreshAfterMs?: number;
  /** Wait after a failed catalog load before the next attempt (default 15 minutes). */
  retryAfterMs?: number;
}

export interface PriceQuote {
  readonly rate: HourlyRate;
  /** What was priced; undefined when the machine type's shape is unknown. */
  readonly shape: PricedShape | undefined;
}

export interface PricingStatus {
  /** ISO time of the catalog prices in use, if any were loaded. */
  readonly catalogLoadedAt: string | undefined;
  readonly priceBookCapturedAt: string | undefined;
  readonly lastCatalogError: string | undefined;
}

export interface PricingEngine extends PriceLookup {
  quote(machine: PricedMachine): Promise<PriceQuote>;
  status(): PricingStatus;
}

const DEFAULT_CURRENCY = 'USD';

export function createPriceLookup(options: PriceLookupOptions): PricingEngine {
  const { catalog, machineTypes, clock, logger } = options;
  const refreshAfterMs = options.refreshAfterMs ?? 24 * HOUR_MS;
  const retryAfterMs = options.retryAfterMs ?? 15 * 60_000;

  let catalogPrices: { table: PriceTable; loadedAt: number } | undefined;
  let generation = 0;
  let nextAttemptAt = Number.NEGATIVE_INFINITY;
  let lastCatalogError: string | undefined;
  let loading: Promise<void> | undefined;
  let book: PriceBook | undefined;
  let bookError: string | undefined;
  const quotes = new Map<string, Promise<PriceQuote>>();

  const priceBook = (): PriceBook | undefined => {
    if (book || bookError) return book;
    try {
      const source = options.priceBook ?? loadPriceBook;
      book = typeof source === 'function' ? source() : source;
    } catch (error) {
      bookError = errorMessage(error);
      logger.error('The bundled price book cannot be used', { error });
    }
    return book;
  };

  const load = async (): Promise<void> => {
    const startedAt = clock.now().getTime();
    try {
      const skus = await catalog.listSkus();
      const built = buildPriceTable(skus);
      if (built.table.size === 0) {
        throw new TransientError('The catalog returned no Compute Engine component prices');
      }
      catalogPrices = { table: built.table, loadedAt: startedAt };
      generation++;
      quotes.clear();
      lastCatalogError = undefined;
      logger.info('Loaded Compute Engine prices from the Cloud Billing Catalog', {
        skus: skus.length,
        components: built.components,
        skipped: built.skipped,
        duplicates: built.duplicates,
      });
      // Once per refresh, so a new machine family shows up here rather than as unknown rows.
      if (built.unrecognised.length > 0) {
        logger.warn('Compute Engine SKUs the pricing engine cannot classify', {
          count: built.unrecognised.length,
          descriptions: built.unrecognised,
        });
      }
    } catch (error) {
      nextAttemptAt = startedAt + retryAfterMs;
      lastCatalogError = errorMessage(error);
      logger.warn(
        catalogPrices
          ? 'Cloud Billing Catalog refresh failed; keeping the prices loaded earlier'
          : 'Cloud Billing Catalog unreachable; pricing from the bundled price book',
        {
          error,
          nextAttemptAt: new Date(nextAttemptAt).toISOString(),
          ...(catalogPrices ? { loadedAt: new Date(catalogPrices.loadedAt).toISOString() } : {}),
        },
      );
    }
  };

  const ensureCatalog = async (): Promise<void> => {
    const now = clock.now().getTime();
    const fresh = catalogPrices !== undefined && now - catalogPrices.loadedAt < refreshAfterMs;
    if (fresh || now < nextAttemptAt) return;
    loading ??= load().finally(() => {
      loading = undefined;
    });
    await loading;
  };

  const unknown = (shape: PricedShape | undefined): PriceQuote => ({
    rate: {
      hourly: 0,
      spot: undefined,
      onDemand: 0,
      currency: book?.currency ?? DEFAULT_CURRENCY,
      source: 'unknown',
    },
    shape,
  });

  const compute = async (machine: PricedMachine): Promise<PriceQuote> => {
    let shape: MachineShape | undefined;
    try {
      shape = await machineTypes.shape(machine.machineType);
    } catch (error) {
      logger.warn('Machine type lookup failed; the machine is priced as unknown', {
        machineType: machine.machineType,
        error,
      });
      return unknown(undefined);
    }
    const parts = shape ? componentsOf(machine, shape) : undefined;
    if (!parts) return unknown(undefined);
    const fromCatalog = catalogPrices
      ? priceMachine(catalogPrices.table, 'catalog', machine, parts)
      : undefined;
    if (fromCatalog) return { rate: fromCatalog, shape: parts.priced };
    const fromBook = priceBook();
    const bookRate = fromBook
      ? priceMachine(fromBook.table, 'price-book', machine, parts)
      : undefined;
    if (bookRate) return { rate: bookRate, shape: parts.priced };
    return unknown(parts.priced);
  };

  const quote = async (machine: PricedMachine): Promise<PriceQuote> => {
    await ensureCatalog();
    const key = `${generation}|${pricedMachineKey(machine)}`;
    let result = quotes.get(key);
    if (!result) {
      result = compute(machine);
      quotes.set(key, result);
    }
    const settled = await result;
    // Unknown quotes are not kept, so a machine type lookup that failed is tried again.
    if (settled.rate.source === 'unknown') quotes.delete(key);
    return settled;
  };

  return {
    quote,
    async rate(machine) {
      return (await quote(machine)).rate;
    },
    status: () => ({
      catalogLoadedAt: catalogPrices ? new Date(catalogPrices.loadedAt).toISOString() : undefined,
      priceBookCapturedAt: book?.capturedAt,
      lastCatalogError,
    }),
  };
}
