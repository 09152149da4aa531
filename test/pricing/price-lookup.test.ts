import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BillingCatalog } from '../../functions/adapters/billing-catalog.js';
import { MachineTypeShapes } from '../../functions/adapters/machine-types.js';
import { HOUR_MS } from '../../functions/core/clock.js';
import type { PricedMachine } from '../../functions/core/pricing.js';
import { createPriceLookup, createPriceLookupFor } from '../../functions/pricing/index.js';
import { loadPriceBook } from '../../functions/pricing/price-book.js';
import type { PricingEngine } from '../../functions/pricing/price-lookup.js';
import { catalogSkus, setCatalogSkus } from '../../functions/sandbox/routes/billing-catalog.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';

// The engine through the real CloudCatalogClient and MachineTypesClient against the sandbox.
const n2: PricedMachine = {
  region: 'us-central1',
  machineType: 'n2-standard-8',
  provisioningModel: 'SPOT',
  gpus: [],
};

// n2-standard-8 Spot: catalog 8 x 0.007594 + 32 x 0.001017; price book 8 x 0.01499 + 32 x 0.00201.
const CATALOG_SPOT = 0.093296;
const BOOK_SPOT = 0.18424;
const ON_DEMAND = 0.388472;

describe('createPriceLookup', () => {
  let sandbox: Sandbox;
  let runtime: ReturnType<typeof sandboxRuntime>;
  let engine: PricingEngine;

  const calls = (route: string): number => sandbox.calls.filter((c) => c.route === route).length;

  beforeEach(async () => {
    sandbox = await startTestSandbox('fleets/contract.json', {});
    runtime = sandboxRuntime(sandbox);
    const retry = { baseDelayMs: 1, maxDelayMs: 2 };
    engine = createPriceLookup({
      catalog: new BillingCatalog(() => runtime.clients.catalog(), {
        logger: runtime.logger,
        retry,
      }),
      machineTypes: new MachineTypeShapes(() => runtime.clients.machineTypes(), {
        project: 'ml-training-prod',
        logger: runtime.logger,
        retry,
      }),
      clock: sandbox.clock,
      logger: runtime.logger,
    });
  });
  afterEach(() => sandbox.close());

  it('prices from the catalog, listing it once and each machine type once', async () => {
    const first = await engine.rate(n2);
    const again = await engine.rate({ ...n2, region: 'us-east1' });
    const micro = await engine.rate({
      ...n2,
      machineType: 'e2-micro',
      provisioningModel: 'STANDARD',
    });

    expect(first).toMatchObject({ source: 'catalog', currency: 'USD' });
    expect(first.hourly).toBeCloseTo(CATALOG_SPOT, 10);
    expect(first.onDemand).toBeCloseTo(ON_DEMAND, 10);
    expect(again.hourly).toBeCloseTo(CATALOG_SPOT, 10);
    expect(micro.hourly).toBeCloseTo(0.00837575, 10);
    expect(calls('billingCatalog.skus.list')).toBe(1);
    expect(calls('compute.machineTypes.aggregatedList')).toBe(2);
    expect(engine.status().catalogLoadedAt).toBe(sandbox.clock.now().toISOString());
  });

  it('prices custom types from their name without asking Compute', async () => {
    const quote = await engine.quote({ ...n2, machineType: 'n2-custom-2-24576-ext' });
    expect(quote.rate.hourly).toBeCloseTo(0.051404, 10);
    expect(quote.shape).toEqual({ vcpus: 2, memoryGib: 24, gpus: [], localSsdGib: 0 });
    expect(calls('compute.machineTypes.aggregatedList')).toBe(0);
  });

  it('reloads the catalog after a day and picks up the new Spot price', async () => {
    await engine.rate(n2);
    // The N2 Spot core price changes overnight.
    setCatalogSkus(
      sandbox,
      catalogSkus(sandbox).map((raw) => {
        const sku = structuredClone(raw) as {
          description: string;
          pricingInfo: Array<{
            pricingExpression: { tieredRates: Array<{ unitPrice: { nanos: number } }> };
          }>;
        };
        if (sku.description === 'Spot Preemptible N2 Instance Core running in Americas') {
          const rate = sku.pricingInfo[0]?.pricingExpression.tieredRates[0];
          if (rate) rate.unitPrice.nanos = 8_000_000;
        }
        return sku;
      }),
    );
    sandbox.clock.advance(23 * HOUR_MS);
    expect((await engine.rate(n2)).hourly).toBeCloseTo(CATALOG_SPOT, 10);
    expect(calls('billingCatalog.skus.list')).toBe(1);

    sandbox.clock.advance(HOUR_MS);
    // 8 x 0.008 + 32 x 0.001017 = 0.096544
    expect((await engine.rate(n2)).hourly).toBeCloseTo(0.096544, 10);
    expect(calls('billingCatalog.skus.list')).toBe(2);
  });

  it('falls back to the price book while the catalog is down, and returns to the catalog later', async () => {
    sandbox.faults.set('billingCatalog.skus.list', { fail: { count: 1000, status: 503 } });

    const fromBook = await engine.rate(n2);
    expect(fromBook).toMatchObject({ source: 'price-book', currency: 'USD' });
    expect(fromBook.hourly).toBeCloseTo(BOOK_SPOT, 10);
    expect(fromBook.onDemand).toBeCloseTo(ON_DEMAND, 10);
    expect(engine.status().lastCatalogError).toBeDefined();
    const attempts = calls('billingCatalog.skus.list');
    expect(attempts).toBe(4);
    expect(
      runtime.logger.entries.some(
        (e) =>
          e.message === 'Cloud Billing Catalog unreachable; pricing from the bundled price book',
      ),
    ).toBe(true);

    // No new attempt within the retry interval: every rate meanwhile comes from the book.
    sandbox.faults.clear();
    sandbox.clock.advance(14 * 60_000);
    expect((await engine.rate(n2)).source).toBe('price-book');
    expect(calls('billingCatalog.skus.list')).toBe(attempts);

    sandbox.clock.advance(60_000);
    const back = await engine.rate(n2);
    expect(back.source).toBe('catalog');
    expect(back.hourly).toBeCloseTo(CATALOG_SPOT, 10);
  });

  it('prices the batch VM, a c4d-highcpu-32, from the book where the catalog has no C4D', async () => {
    const rate = await engine.rate({
      region: 'us-east1',
      machineType: 'c4d-highcpu-32',
      provisioningModel: 'SPOT',
      gpus: [],
    });
    // 32 vCPUs and 60 GiB at the published C4D Spot prices of South Carolina.
    const book = loadPriceBook().table;
    const core = book.get('us-east1', 'c4d/core', 'spot')?.price ?? NaN;
    const ram = book.get('us-east1', 'c4d/ram', 'spot')?.price ?? NaN;
    expect(rate.source).toBe('price-book');
    expect(rate.hourly).toBeCloseTo(32 * core + 60 * ram, 12);
  });

  it('logs the SKUs it cannot classify once per catalog load', async () => {
    const unknownSku = structuredClone(catalogSkus(sandbox)[0]) as Record<string, unknown>;
    unknownSku.skuId = 'X9X9-0000-0001';
    unknownSku.description = 'X9 Quantum Instance Core running in Americas';
    unknownSku.category = {
      serviceDisplayName: 'Compute Engine',
      resourceFamily: 'Compute',
      resourceGroup: 'CPU',
      usageType: 'OnDemand',
    };
    setCatalogSkus(sandbox, [...catalogSkus(sandbox), unknownSku]);
    const warnings = () =>
      runtime.logger.entries.filter(
        (e) => e.message === 'Compute Engine SKUs the pricing engine cannot classify',
      );

    await engine.rate(n2);
    await engine.rate({ ...n2, region: 'us-east1' });
    expect(warnings()).toEqual([
      expect.objectContaining({
        count: 1,
        descriptions: ['X9 Quantum Instance Core running in Americas'],
      }),
    ]);
    sandbox.clock.advance(25 * HOUR_MS);
    await engine.rate(n2);
    expect(warnings()).toHaveLength(2);
  });

  it('keeps the prices it has when a daily refresh fails', async () => {
    await engine.rate(n2);
    sandbox.faults.set('billingCatalog.skus.list', { fail: { count: 1000, status: 503 } });
    sandbox.clock.advance(25 * HOUR_MS);
    const rate = await engine.rate(n2);
    expect(rate.source).toBe('catalog');
    expect(rate.hourly).toBeCloseTo(CATALOG_SPOT, 10);
    expect(
      runtime.logger.entries.some(
        (e) =>
          e.message === 'Cloud Billing Catalog refresh failed; keeping the prices loaded earlier',
      ),
    ).toBe(true);
  });

  it.each([
    { case: 'a machine type Compute does not know', change: { machineType: 'n9-standard-8' } },
    { case: 'a region neither the catalog nor the book covers', change: { region: 'us-east7' } },
  ])('prices $case as unknown, at zero', async ({ change }) => {
    const rate = await engine.rate({ ...n2, ...change });
    expect(rate).toEqual({
      hourly: 0,
      spot: undefined,
      onDemand: 0,
      currency: 'USD',
      source: 'unknown',
    });
  });

  it('prices as unknown while machine types cannot be read, and retries on the next quote', async () => {
    sandbox.faults.set('compute.machineTypes.aggregatedList', { fail: { count: 4, status: 503 } });
    expect((await engine.quote(n2)).rate.source).toBe('unknown');
    const next = await engine.quote(n2);
    expect(next.rate.source).toBe('catalog');
    expect(next.shape).toEqual({ vcpus: 8, memoryGib: 32, gpus: [], localSsdGib: 0 });
  });
});

describe('createPriceLookupFor', () => {
  it('wires the catalog and machine types from a runtime', async () => {
    const sandbox = await startTestSandbox('fleets/contract.json', {});
    try {
      const engine = createPriceLookupFor(sandboxRuntime(sandbox), { project: 'data-pipelines' });
      const rate = await engine.rate({ ...n2, machineType: 'g2-standard-8' });
      // 8 x 0.00999 + 32 x 0.00117 + 0.224
      expect(rate.hourly).toBeCloseTo(0.34136, 10);
      expect(rate.source).toBe('catalog');
      expect(sandbox.calls.every((c) => !c.authorization)).toBe(true);
    } finally {
      await sandbox.close();
    }
  });
});
