import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../functions/core/errors.js';
import { buildPriceTable } from '../../functions/pricing/catalog-skus.js';
import {
  loadPriceBook,
  priceBookFileFrom,
  priceBookFrom,
} from '../../functions/pricing/price-book.js';
import { refreshPriceBook } from '../../functions/pricing/refresh-price-book.js';
import { sandboxRuntime, startTestSandbox } from '../support/sandbox.js';
import { catalogFixtureSkus } from './pricing-fixtures.js';

describe('the bundled price book', () => {
  it('prices every component the catalog fixture prices, in every region', () => {
    const book = loadPriceBook();
    const catalog = buildPriceTable(catalogFixtureSkus()).table;
    const missing = [...catalog]
      .filter((e) => e.price > 0 && !book.table.get(e.region, e.item, e.model))
      .map((e) => `${e.region} ${e.item} ${e.model}`);
    expect(missing).toEqual([]);
    expect(book.currency).toBe('USD');
    expect(book.capturedAt).toBe('2026-10-01T00:00:00Z');
  });

  it('has on-demand prices equal to the catalog and Spot prices of its older capture', () => {
    const book = loadPriceBook();
    expect(book.table.get('us-central1', 'n2/core', 'onDemand')?.price).toBe(0.031611);
    expect(book.table.get('us-central1', 'n2/core', 'spot')?.price).toBe(0.007898);
  });

  it.each([
    ['a missing currency', { capturedAt: '2026-10-01T00:00:00Z', rates: [] }, 'currency'],
    [
      'a malformed item',
      {
        capturedAt: '2026-10-01T00:00:00Z',
        currency: 'USD',
        rates: [{ regions: ['us-central1'], item: 'N2 core', onDemand: 1 }],
      },
      'rates.0.item',
    ],
    [
      'a negative price',
      {
        capturedAt: '2026-10-01T00:00:00Z',
        currency: 'USD',
        rates: [{ regions: ['us-central1'], item: 'n2/core', onDemand: -1 }],
      },
      'rates.0.onDemand',
    ],
  ])('rejects a book with %s, naming where', (_what, file, where) => {
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
