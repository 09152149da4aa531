/**
 * Regenerates the bundled price book from the published machine prices:
 *
 *   npx tsx functions/pricing/derive-price-book.ts > fixtures/pricing/price-book.json
 *
 * A machine's price is the sum of its components (vCPUs x core, GiB x RAM, GPUs, bundled local
 * SSD GiB), each the catalog price of its family and region. So each region's rows are a linear
 * system in the component prices, solved by least squares on relative error, once for on-demand
 * and once for Spot. Where the listed shapes cannot tell two components apart (one shape only,
 * as H3; GPU types whose vCPUs, memory and GPUs grow together, as A3), a faint pull towards a
 * typical price settles the split; the listed types stay exact either way.
 */
import { pathToFileURL } from 'node:url';
import { PermanentError } from '../core/errors.js';
import type { PriceBookFile } from './price-book.js';
import { componentsOf } from './price-machine.js';
import type { PriceModel } from './price-table.js';
import {
  loadPublishedPrices,
  PUBLISHED_PRICES,
  seriesOfRow,
  type PublishedPrice,
} from './published-prices.js';

// Series whose bundled local SSD has a SKU of its own; the others use "SSD backed Local Storage".
const OWN_LOCAL_SSD = new Set(['c4', 'c4a', 'c4d']);

// Typical on-demand prices per unit and hour, only to settle splits the rows leave open.
const TYPICAL: ReadonlyArray<[RegExp, number]> = [
  [/\/custom-extended-ram$/, 0.009],
  [/\/(custom-)?core$|\/upgrade-core$/, 0.03],
  [/\/(custom-)?ram$|\/upgrade-ram$/, 0.004],
  [/^gpu\//, 2],
  [/local-ssd$|^ssd\//, 0.0001],
  [/\/vm$/, 0.01],
];
const SPOT_SHARE = 0.4;
const PULL = 1e-4;

function typical(item: string, model: PriceModel): number {
  const price = TYPICAL.find(([pattern]) => pattern.test(item))?.[1] ?? 0.01;
  return model === 'spot' ? price * SPOT_SHARE : price;
}

interface Equation {
  terms: Map<string, number>;
  price: number;
}

/** The components a row's price is made of, local SSD resolved to the SKU the series uses. */
export function rowTerms(row: PublishedPrice, model: PriceModel): Map<string, number> {
  const parts = componentsOf(
    {
      region: row.region,
      machineType: row.machineType,
      provisioningModel: model === 'spot' ? 'SPOT' : 'STANDARD',
      gpus: [],
    },
    row.shape,
  );
  if (!parts) throw new PermanentError(`${row.machineType} is not a machine type name`);
  const terms = new Map<string, number>();
  for (const c of parts.components) {
    if (c.quantity === 0) continue;
    const generic = c.item.endsWith('/local-ssd') && !OWN_LOCAL_SSD.has(seriesOfRow(row));
    const item = generic && c.fallback !== undefined ? c.fallback : c.item;
    terms.set(item, (terms.get(item) ?? 0) + c.quantity);
  }
  return terms;
}

/** Least squares min |Ax - b| by Householder QR; A is rows x cols, rows >= cols. */
export function leastSquares(a: number[][], b: number[]): number[] {
  const m = a.length;
  const n = a[0]?.length ?? 0;
  const r = a.map((row) => [...row]);
  const y = [...b];
  for (let k = 0; k < n; k++) {
    let norm = 0;
    for (let i = k; i < m; i++) norm += (r[i]![k] as number) ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const alpha = (r[k]![k] as number) > 0 ? -norm : norm;
    const v = new Array<number>(m).fill(0);
    for (let i = k; i < m; i++) v[i] = r[i]![k] as number;
    v[k] = (v[k] as number) - alpha;
    let vv = 0;
    for (let i = k; i < m; i++) vv += (v[i] as number) ** 2;
    if (vv === 0) continue;
    for (let j = k; j < n; j++) {
      let dot = 0;
      for (let i = k; i < m; i++) dot += (v[i] as number) * (r[i]![j] as number);
      const f = (2 * dot) / vv;
      for (let i = k; i < m; i++) r[i]![j] = (r[i]![j] as number) - f * (v[i] as number);
    }
    let dot = 0;
    for (let i = k; i < m; i++) dot += (v[i] as number) * (y[i] as number);
    const f = (2 * dot) / vv;
    for (let i = k; i < m; i++) y[i] = (y[i] as number) - f * (v[i] as number);
  }
  const x = new Array<number>(n).fill(0);
  for (let k = n - 1; k >= 0; k--) {
    let sum = y[k] as number;
    for (let j = k + 1; j < n; j++) sum -= (r[k]![j] as number) * (x[j] as number);
    const diagonal = r[k]![k] as number;
    x[k] = diagonal === 0 ? 0 : sum / diagonal;
  }
  return x;
}

/** Component prices that reproduce one region's rows for one model. */
export function solveComponents(
  equations: readonly Equation[],
  model: PriceModel,
): Map<string, number> {
  const items = [...new Set(equations.flatMap((e) => [...e.terms.keys()]))].sort();
  const column = new Map(items.map((item, j) => [item, j]));
  const scale = items.map((item) => typical(item, model));
  // Unknowns are prices relative to typical; each row is weighted by its own price so the
  // residual is a relative error, whatever the machine's size.
  const a: number[][] = [];
  const b: number[] = [];
  for (const e of equations) {
    const row = new Array<number>(items.length).fill(0);
    for (const [item, quantity] of e.terms) {
      const j = column.get(item) as number;
      row[j] = (quantity * (scale[j] as number)) / e.price;
    }
    a.push(row);
    b.push(1);
  }
  items.forEach((_, j) => {
    const row = new Array<number>(items.length).fill(0);
    row[j] = PULL;
    a.push(row);
    b.push(PULL);
  });
  const x = leastSquares(a, b);
  return new Map(items.map((item, j) => [item, (x[j] as number) * (scale[j] as number)]));
}

const significant = (n: number): number => Number(n.toPrecision(9));

/** The price book of component prices per region that reproduces the published rows. */
export function derivePriceBook(rows: readonly PublishedPrice[]): PriceBookFile {
  const byRegion = new Map<string, PublishedPrice[]>();
  for (const row of rows) byRegion.set(row.region, [...(byRegion.get(row.region) ?? []), row]);
  const rates: PriceBookFile['rates'] = [];
  for (const [region, regionRows] of [...byRegion].sort(([x], [y]) => x.localeCompare(y))) {
    const solved = (model: PriceModel): Map<string, number> => {
      const equations = regionRows.flatMap((row) => {
        const price = model === 'spot' ? row.spot : row.onDemand;
        return price === undefined ? [] : [{ terms: rowTerms(row, model), price }];
      });
      return solveComponents(equations, model);
    };
    const onDemand = solved('onDemand');
    const spot = solved('spot');
    const items = [...new Set([...onDemand.keys(), ...spot.keys()])].sort();
    for (const item of items) {
      const prices = { onDemand: onDemand.get(item), spot: spot.get(item) };
      for (const [model, price] of Object.entries(prices)) {
        if (price !== undefined && price <= 0) {
          throw new PermanentError(`${item} ${model} in ${region} solved to a price of ${price}`);
        }
      }
      rates.push({
        regions: [region],
        item,
        ...(prices.onDemand !== undefined ? { onDemand: significant(prices.onDemand) } : {}),
        ...(prices.spot !== undefined ? { spot: significant(prices.spot) } : {}),
      });
    }
  }
  return {
    capturedAt: PUBLISHED_PRICES.generatedAt,
    currency: 'USD',
    source: {
      name: PUBLISHED_PRICES.name,
      url: PUBLISHED_PRICES.url,
      licence: PUBLISHED_PRICES.licence,
      file: PUBLISHED_PRICES.path,
    },
    rates,
  };
}

// Run as a script only; importing the module (tests, the benchmark) does nothing.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const book = derivePriceBook(loadPublishedPrices());
  const lines = book.rates.map((r) => `  ${JSON.stringify(r)}`);
  process.stdout.write(
    `{\n "description": "Bundled Compute Engine price book, the fallback when the Cloud Billing Catalog cannot be reached: hourly USD component prices per region (core per vCPU, ram per GiB, gpu per GPU, local-ssd per GiB, vm per f1/g1 machine; custom, custom-extended-ram and the M2 upgrade premium), derived by functions/pricing/derive-price-book.ts from the published machine prices.",\n "capturedAt": ${JSON.stringify(book.capturedAt)},\n "currency": "USD",\n "source": ${JSON.stringify(book.source)},\n "rates": [\n${lines.join(',\n')}\n ]\n}\n`,
  );
}
