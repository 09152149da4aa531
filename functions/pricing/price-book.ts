/**
 * The bundled price book: component rates captured from the catalog at one point in time,
 * shipped with the functions so that a VM can still be priced when the Cloud Billing Catalog is
 * unreachable. Rows priced from it say so (`price_source = 'price-book'`).
 */

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PermanentError } from '../core/errors.js';
import { repositoryPath } from '../core/repository-path.js';
import { buildPriceTable, type CatalogSku } from './catalog-skus.js';
import { PriceTable } from './price-table.js';

const rate = z
  .object({
    regions: z.array(z.string().min(1)).min(1),
    item: z.string().regex(/^[a-z0-9-]+\/[a-z0-9-]+$/),
    onDemand: z.number().nonnegative().optional(),
    spot: z.number().nonnegative().optional(),
  })
  .refine((r) => r.onDemand !== undefined || r.spot !== undefined, 'a rate needs a price');

const priceBookSchema = z.object({
  capturedAt: z.string().datetime(),
  currency: z.string().regex(/^[A-Z]{3}$/),
  /** Where the prices come from, when not from the catalog directly. */
  source: z
    .object({ name: z.string(), url: z.string(), licence: z.string(), file: z.string() })
    .optional(),
  rates: z.array(rate).min(1),
});

export type PriceBookFile = z.infer<typeof priceBookSchema>;

export interface PriceBook {
  readonly capturedAt: string;
  readonly currency: string;
  /** Where the prices were taken from, when the book records it. */
  readonly source?: PriceBookFile['source'];
  readonly table: PriceTable;
}

export function priceBookFrom(file: unknown): PriceBook {
  const parsed = priceBookSchema.safeParse(file);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PermanentError(
      `The price book is invalid at ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const { capturedAt, currency, source, rates } = parsed.data;
  const table = new PriceTable();
  for (const r of rates) {
    for (const region of r.regions) {
      const common = {
        region,
        item: r.item,
        currency,
        skuId: undefined,
        effectiveTime: capturedAt,
      };
      if (r.onDemand !== undefined) table.add({ ...common, model: 'onDemand', price: r.onDemand });
      if (r.spot !== undefined) table.add({ ...common, model: 'spot', price: r.spot });
    }
  }
  return { capturedAt, currency, ...(source ? { source } : {}), table };
}

/** A price book file; by default the bundled one, `fixtures/pricing/price-book.json`. */
export function loadPriceBook(
  path = repositoryPath('fixtures/pricing/price-book.json'),
): PriceBook {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PermanentError(`The price book ${path} cannot be read`, { cause: error });
  }
  return priceBookFrom(JSON.parse(text));
}

/**
 * A price book file from catalog SKUs: each component's on-demand and Spot price, with the
 * regions that share them, so the book stays small. Every priced SKU must be in one currency.
 */
export function priceBookFileFrom(skus: readonly CatalogSku[], capturedAt: Date): PriceBookFile {
  const { table } = buildPriceTable(skus);
  const currencies = new Set([...table].filter((e) => e.price > 0).map((e) => e.currency));
  if (currencies.size !== 1) {
    throw new PermanentError(
      `A price book needs one currency; the SKUs have ${[...currencies].join(', ') || 'none'}`,
    );
  }
  const byRegionItem = new Map<
    string,
    { region: string; item: string; onDemand?: number; spot?: number }
  >();
  for (const entry of table) {
    if (entry.price <= 0) continue;
    const key = `${entry.region}|${entry.item}`;
    const rates = byRegionItem.get(key) ?? { region: entry.region, item: entry.item };
    rates[entry.model] = entry.price;
    byRegionItem.set(key, rates);
  }
  const grouped = new Map<string, PriceBookFile['rates'][number]>();
  for (const r of byRegionItem.values()) {
    const key = `${r.item}|${r.onDemand}|${r.spot ?? ''}`;
    const rate = grouped.get(key);
    if (rate) rate.regions.push(r.region);
    else {
      grouped.set(key, {
        regions: [r.region],
        item: r.item,
        ...(r.onDemand !== undefined ? { onDemand: r.onDemand } : {}),
        ...(r.spot !== undefined ? { spot: r.spot } : {}),
      });
    }
  }
  const rates = [...grouped.values()]
    .map((r) => ({ ...r, regions: r.regions.sort() }))
    .sort(
      (a, b) =>
        (a.regions[0] ?? '').localeCompare(b.regions[0] ?? '') || a.item.localeCompare(b.item),
    );
  return { capturedAt: capturedAt.toISOString(), currency: [...currencies][0] as string, rates };
}
