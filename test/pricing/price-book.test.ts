import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../functions/core/errors.js';
import { createMemoryLogger } from '../../functions/core/logger.js';
import { buildPriceTable } from '../../functions/pricing/catalog-skus.js';
import { derivePriceBook, rowTerms } from '../../functions/pricing/derive-price-book.js';
import { createPriceLookup } from '../../functions/pricing/index.js';
import { customShapeOf } from '../../functions/pricing/machine-shape.js';
import {
  loadPriceBook,
  priceBookFileFrom,
  priceBookFrom,
} from '../../functions/pricing/price-book.js';
import {
  loadPublishedPrices,
  parsePublishedPrices,
} from '../../functions/pricing/published-prices.js';
import { refreshPriceBook } from '../../functions/pricing/refresh-price-book.js';
import { sandboxRuntime, startTestSandbox } from '../support/sandbox.js';
import { catalogFixtureSkus } from './pricing-fixtures.js';

describe('the bundled price book', () => {
  const published = loadPublishedPrices();
  const book = loadPriceBook();
  const shapes = new Map(published.map((row) => [row.machineType, row.shape]));
  const engine = createPriceLookup({
    catalog: { listSkus: () => Promise.reject(new TransientError('catalog unreachable')) },
    machineTypes: { shape: (name) => Promise.resolve(customShapeOf(name) ?? shapes.get(name)) },
    clock: { now: () => new Date('2026-11-20T00:00:00Z') },
    logger: createMemoryLogger(),
    priceBook: book,
  });
  // Every 37th row: each family, many regions; npm run bench:prices prices them all.
  const sample = published.filter((_, i) => i % 37 === 0);

  it.each(sample)('prices $machineType in $region as published on 2026-07-30', async (row) => {
    const machine = { region: row.region, machineType: row.machineType, gpus: [] };
    const standard = await engine.rate({ ...machine, provisioningModel: 'STANDARD' });
    const spot = await engine.rate({ ...machine, provisioningModel: 'SPOT' });
    // A row without an on-demand (or Spot) price checks only the other.
    const error = (published: number | undefined, engine: number | undefined): number =>
      published === undefined ? 0 : Math.abs((engine ?? NaN) / published - 1);
    expect(error(row.onDemand, standard.onDemand)).toBeLessThan(1e-4);
    expect(error(row.spot, spot.hourly)).toBeLessThan(1e-4);
    expect(row.onDemand === undefined ? 'price-book' : standard.source).toBe('price-book');
    expect(row.spot === undefined ? 'price-book' : spot.source).toBe('price-book');
  });

  it('covers every family and region of the published prices, and says where it comes from', () => {
    const series = new Set(published.map((row) => row.machineType.split('-')[0]));
    const regions = new Set(published.map((row) => row.region));
    const items = new Set([...book.table].map((e) => e.item.split('/')[0]));
    // Custom N1 types price from n1 items, M2 from m1 items and its upgrade premium.
    const missing = [...series].filter((s) => s !== 'custom' && !items.has(s));
    expect(missing).toEqual([]);
    expect(items).toContain('gpu');
    expect(new Set([...book.table].map((e) => e.region))).toEqual(regions);
    expect(book.currency).toBe('USD');
    expect(book.capturedAt).toBe('2026-07-30T06:13:00Z');
    expect(book.source).toMatchObject({
      licence: 'Apache-2.0',
      file: 'fixtures/pricing/published-machine-prices-2026-07-30.csv',
    });
  });

  it('prices a shape the table does not list from the components of its family', async () => {
    // c4d-highcpu-32 (the batch VM): 32 vCPUs and 60 GiB at C4D's Iowa prices.
    const core = book.table.get('us-central1', 'c4d/core', 'spot')?.price ?? NaN;
    const ram = book.table.get('us-central1', 'c4d/ram', 'spot')?.price ?? NaN;
    const rate = await createPriceLookup({
      catalog: { listSkus: () => Promise.reject(new TransientError('catalog unreachable')) },
      machineTypes: {
        shape: (name) =>
          Promise.resolve({
            name,
            vcpus: 32,
            memoryMb: 60 * 1024,
            sharedCpu: false,
            gpus: [],
            localSsdGib: 0,
          }),
      },
      clock: { now: () => new Date('2026-11-20T00:00:00Z') },
      logger: createMemoryLogger(),
      priceBook: book,
    }).rate({
      region: 'us-central1',
      machineType: 'c4d-highcpu-32',
      provisioningModel: 'SPOT',
      gpus: [],
    });
    expect(rate.source).toBe('price-book');
    expect(rate.hourly).toBeCloseTo(32 * core + 60 * ram, 12);
  });
});

describe('deriving the price book from published prices', () => {
  it('finds component prices that reproduce every row of a region, on demand and Spot', () => {
    const rows = loadPublishedPrices().filter((row) => row.region === 'europe-west4');
    const file = derivePriceBook(rows);
    const table = priceBookFrom(file).table;
    const worst = rows
      .flatMap((row) =>
        (['onDemand', 'spot'] as const).flatMap((model) => {
          const expected = row[model];
          if (expected === undefined) return [];
          let total = 0;
          for (const [item, quantity] of rowTerms(row, model)) {
            total += quantity * (table.get(row.region, item, model)?.price ?? NaN);
          }
          return [Math.abs(total / expected - 1)];
        }),
      )
      .reduce((a, b) => Math.max(a, b), 0);
    // The published prices are rounded; a 0.01% fit is exact to their precision.
    expect(worst).toBeLessThan(1e-4);
    expect(file.rates.every((r) => r.regions.length === 1 && r.regions[0] === 'europe-west4')).toBe(
      true,
    );
  });

  it('refuses a malformed published line, naming it', () => {
    const header =
      'machine_type,vcpus,memory_gib,accelerator,accelerator_count,local_ssd,region,on_demand_per_hour,spot_per_hour';
    expect(() =>
      parsePublishedPrices(`${header}\nn2-standard-2,2,8,,,,us-central1,-1,0.02\n`),
    ).toThrow(/line 2 .*on_demand_per_hour/);
    expect(() => parsePublishedPrices('machine,price\n')).toThrow(/columns/);
  });
});

describe('price book files', () => {
  it.each([
    {
      case: 'a missing currency',
      file: { capturedAt: '2026-10-01T00:00:00Z', rates: [] },
      where: 'currency',
    },
    {
      case: 'a malformed item',
      file: {
        capturedAt: '2026-10-01T00:00:00Z',
        currency: 'USD',
        rates: [{ regions: ['us-central1'], item: 'N2 core', onDemand: 1 }],
      },
      where: 'rates.0.item',
    },
    {
      case: 'a negative price',
      file: {
        capturedAt: '2026-10-01T00:00:00Z',
        currency: 'USD',
        rates: [{ regions: ['us-central1'], item: 'n2/core', onDemand: -1 }],
      },
      where: 'rates.0.onDemand',
    },
  ])('rejects a book with $case, naming where', ({ file, where }) => {
    expect(() => priceBookFrom(file)).toThrow(PermanentError);
    expect(() => priceBookFrom(file)).toThrow(where);
  });

  it('reads a book from a path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'price-book-'));
    const path = join(dir, 'book.json');
    writeFileSync(
      path,
      JSON.stringify({
        capturedAt: '2026-09-01T00:00:00Z',
        currency: 'EUR',
        rates: [{ regions: ['europe-west4'], item: 'n2/core', onDemand: 0.03, spot: 0.007 }],
      }),
    );
    const book = loadPriceBook(path);
    expect(book.table.get('europe-west4', 'n2/core', 'spot')).toMatchObject({
      price: 0.007,
      currency: 'EUR',
    });
    expect(() => loadPriceBook(join(dir, 'absent.json'))).toThrow(PermanentError);
  });
});

describe('refreshing the price book', () => {
  it('captures every component price of the catalog, through the real client', async () => {
    const sandbox = await startTestSandbox('fleets/contract.json', {});
    try {
      const runtime = sandboxRuntime(sandbox);
      const file = await refreshPriceBook(
        runtime.clients,
        runtime.logger,
        new Date('2026-11-20T06:00:00Z'),
      );
      const book = priceBookFrom(file);
      const catalog = buildPriceTable(catalogFixtureSkus()).table;
      const differing = [...catalog]
        .filter((e) => e.price > 0 && book.table.get(e.region, e.item, e.model)?.price !== e.price)
        .map((e) => `${e.region} ${e.item} ${e.model}`);
      expect(differing).toEqual([]);
      expect(file).toMatchObject({ capturedAt: '2026-11-20T06:00:00.000Z', currency: 'USD' });
      // Regions sharing prices share a line (Columbus is priced as the Americas tier).
      expect(
        file.rates.find((r) => r.item === 'n2/core' && r.regions.includes('us-east1'))?.regions,
      ).toEqual(['us-central1', 'us-east1', 'us-east5', 'us-west1']);
    } finally {
      await sandbox.close();
    }
  });

  it('refuses SKUs in more than one currency', () => {
    const skus = catalogFixtureSkus();
    const n2 = skus.find((s) => s.description === 'N2 Instance Core running in Americas');
    const euro = {
      ...n2,
      skuId: 'EURO',
      regions: ['me-west1'],
      currency: 'EUR',
    } as (typeof skus)[number];
    expect(() => priceBookFileFrom([...skus, euro], new Date())).toThrow(/one currency/);
  });
});
