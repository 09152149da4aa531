/**
 * Price accuracy: every (machine type, region) row of the published prices
 * (fixtures/pricing/published-machine-prices-2026-07-30.csv) priced through the pricing engine,
 * which reads machine shapes with the real Compute client from the sandbox.
 *
 *   npx tsx test/bench/prices.ts [--worst 5]
 *
 * Three runs, each printing coverage and |error| of on-demand and Spot against the table:
 *   1. the bundled price book, with the Cloud Billing Catalog unreachable (503 on every call);
 *   2. the catalog path: the sandbox serves the book's prices as real-form catalog SKUs
 *      (descriptions, resource groups, usage types and units as Google words them);
 *   3. baseline: the sandbox's bundled catalog fixture (fixtures/catalog/compute-skus.json)
 *      with no price book, as `npm start` priced before the book covered every family.
 * Targets: 100% of rows priced; on-demand median <= 0.1%, worst <= 1%; Spot median <= 0.5%,
 * worst <= 2%.
 */
import { performance } from 'node:perf_hooks';
import { BillingCatalog } from '../../functions/adapters/billing-catalog.js';
import { MachineTypeShapes } from '../../functions/adapters/machine-types.js';
import { createPriceLookup, type PricingEngine } from '../../functions/pricing/index.js';
import { loadPriceBook } from '../../functions/pricing/price-book.js';
import { PriceTable } from '../../functions/pricing/price-table.js';
import {
  loadPublishedPrices,
  type PublishedPrice,
} from '../../functions/pricing/published-prices.js';
import type { PriceBookFile } from '../../functions/pricing/price-book.js';
import { setCatalogSkus } from '../../functions/sandbox/routes/billing-catalog.js';
import type { FleetFixture } from '../../functions/sandbox/fleet.js';
import { startSandbox } from '../../functions/sandbox/server.js';
import { catalogSkusFromBook } from '../pricing/catalog-from-book.js';
import { loadFixture } from '../support/fixtures.js';
import { sandboxRuntime } from '../support/sandbox.js';
import { machineLine } from './machine.js';

const args = process.argv.slice(2);
const worstShown = Number(args[args.indexOf('--worst') + 1] ?? 5) || 5;
const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

const FAST_RETRY = { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 };

const TARGETS = {
  onDemand: { median: 0.1, worst: 1 },
  spot: { median: 0.5, worst: 2 },
} as const;

interface Miss {
  row: PublishedPrice;
  model: 'onDemand' | 'spot';
  expected: number;
  got: number | undefined;
  error: number;
}

interface Figures {
  rows: number;
  pricedRows: number;
  sources: Record<string, number>;
  errors: Record<'onDemand' | 'spot', { checked: number; priced: number; sorted: number[] }>;
  worst: Miss[];
  ms: number;
}

async function measure(engine: PricingEngine, rows: readonly PublishedPrice[]): Promise<Figures> {
  const started = performance.now();
  const sources: Record<string, number> = {};
  const errors: Figures['errors'] = {
    onDemand: { checked: 0, priced: 0, sorted: [] },
    spot: { checked: 0, priced: 0, sorted: [] },
  };
  const misses: Miss[] = [];
  let pricedRows = 0;
  for (const row of rows) {
    const machine = { region: row.region, machineType: row.machineType, gpus: [] };
    const standard = await engine.quote({ ...machine, provisioningModel: 'STANDARD' });
    const spot = await engine.quote({ ...machine, provisioningModel: 'SPOT' });
    // Rows without an on-demand price (the table has none) count by their Spot quote.
    const source = row.onDemand === undefined ? spot.rate.source : standard.rate.source;
    sources[source] = (sources[source] ?? 0) + 1;
    let rowPriced = true;
    for (const [model, expected, got] of [
      [
        'onDemand',
        row.onDemand,
        standard.rate.source === 'unknown' ? undefined : standard.rate.onDemand,
      ],
      ['spot', row.spot, spot.rate.source === 'unknown' ? undefined : spot.rate.spot],
    ] as const) {
      if (expected === undefined) continue;
      const figures = errors[model];
      figures.checked++;
      if (got === undefined) {
        rowPriced = false;
        misses.push({ row, model, expected, got, error: Infinity });
        continue;
      }
      figures.priced++;
      const error = (Math.abs(got - expected) / expected) * 100;
      figures.sorted.push(error);
      misses.push({ row, model, expected, got, error });
    }
    if (rowPriced) pricedRows++;
  }
  for (const figures of Object.values(errors)) figures.sorted.sort((a, b) => a - b);
  misses.sort((a, b) => b.error - a.error);
  return {
    rows: rows.length,
    pricedRows,
    sources,
    errors,
    worst: misses.slice(0, worstShown),
    ms: performance.now() - started,
  };
}

const pct = (n: number): string => `${n.toFixed(n < 0.01 ? 4 : 3)}%`;
const quantile = (sorted: number[], q: number): number =>
  sorted.length === 0
    ? NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);

function report(title: string, f: Figures, withTargets: boolean): boolean {
  out(`\n## ${title}`);
  out(
    `rows priced: ${f.pricedRows}/${f.rows} (${((f.pricedRows / f.rows) * 100).toFixed(2)}%); price_source: ${JSON.stringify(f.sources)}; ${Math.round(f.ms)} ms`,
  );
  let met = f.pricedRows === f.rows;
  for (const model of ['onDemand', 'spot'] as const) {
    const e = f.errors[model];
    const median = quantile(e.sorted, 0.5);
    const worst = e.sorted.at(-1) ?? NaN;
    const target = TARGETS[model];
    const ok = e.priced === e.checked && median <= target.median && worst <= target.worst;
    met &&= ok;
    out(
      `${model.padEnd(8)} priced ${e.priced}/${e.checked}  |error| median ${pct(median)}  p90 ${pct(quantile(e.sorted, 0.9))}  p99 ${pct(quantile(e.sorted, 0.99))}  worst ${pct(worst)}` +
        (withTargets
          ? `  (target median <= ${target.median}%, worst <= ${target.worst}%: ${ok ? 'met' : 'MISSED'})`
          : ''),
    );
  }
  out('worst rows:');
  for (const m of f.worst) {
    out(
      `  ${m.row.machineType} ${m.row.region} ${m.model}: table ${m.expected}, engine ${m.got ?? 'unpriced'}${Number.isFinite(m.error) ? ` (${pct(m.error)})` : ''}`,
    );
  }
  return met;
}

async function main(): Promise<void> {
  const rows = loadPublishedPrices();
  const bookFile = loadFixture<PriceBookFile>('pricing/price-book.json');
  out(
    `# Price accuracy against ${rows.length} published (machine type, region) rows of 2026-07-30`,
  );
  out(machineLine());
  out(`price book: ${bookFile.rates.length} component rates, captured ${bookFile.capturedAt}`);

  const sandbox = await startSandbox({ fleet: loadFixture<FleetFixture>('fleets/contract.json') });
  try {
    // One engine per run, as one function instance builds it; `book: false` leaves the catalog alone.
    const engineFor = (options: { book?: boolean } = {}): PricingEngine => {
      const { clients, logger, clock } = sandboxRuntime(sandbox);
      return createPriceLookup({
        catalog: new BillingCatalog(() => clients.catalog(), { logger, retry: FAST_RETRY }),
        machineTypes: new MachineTypeShapes(() => clients.machineTypes(), {
          project: 'ml-training-prod',
          logger,
        }),
        clock,
        logger,
        priceBook:
          options.book === false
            ? { capturedAt: bookFile.capturedAt, currency: 'USD', table: new PriceTable() }
            : loadPriceBook,
      });
    };

    sandbox.faults.set('billingCatalog.*', { fail: { count: 1_000_000, status: 503 } });
    const book = await measure(engineFor(), rows);
    sandbox.faults.clear('billingCatalog.*');
    const bookMet = report('1. price book, catalog unreachable', book, true);

    const skus = catalogSkusFromBook(bookFile, '2026-07-30T06:13:00Z');
    setCatalogSkus(sandbox, skus);
    const catalog = await measure(engineFor({ book: false }), rows);
    const catalogMet = report(
      `2. catalog path: ${skus.length} real-form SKUs from the book, no price book`,
      catalog,
      true,
    );

    setCatalogSkus(sandbox, undefined);
    const baseline = await measure(engineFor({ book: false }), rows);
    report('3. baseline: the sandbox catalog fixture, no price book', baseline, false);

    out(`\ntargets ${bookMet && catalogMet ? 'met' : 'MISSED'} (price book and catalog path)`);
  } finally {
    await sandbox.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
