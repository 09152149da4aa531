/**
 * Cloud Billing Catalog v1 `services.skus.list` (`GET /v1/services/{service}/skus`, paged with
 * `pageSize` and `pageToken` as the CloudCatalogClient REST transport sends them), serving the
 * Compute Engine SKUs in fixtures/catalog/compute-skus.json. Prices are kept in USD and, as the
 * real catalog does, converted to `currencyCode` when one is asked for: every unit price in that
 * currency, and `currencyConversionRate` (USD to it) in each pricingInfo. `startTime` and
 * `endTime` are accepted and ignored (the latest prices are served). A test can swap the SKUs
 * with `setCatalogSkus` to model a daily price change.
 */

import { readFileSync } from 'node:fs';
import { repositoryPath } from '../../core/repository-path.js';
import { fail, page, route } from '../http.js';
import type { Sandbox, SandboxModule } from '../sandbox.js';

/** Units of each currency one US dollar buys, as the catalog's conversion rates go. */
export const CONVERSION_RATES: Readonly<Record<string, number>> = {
  USD: 1,
  EUR: 0.92,
  GBP: 0.79,
  JPY: 151.2,
  CHF: 0.88,
  CAD: 1.37,
  AUD: 1.52,
  INR: 83.4,
  BRL: 5.05,
};

interface Money {
  currencyCode?: string;
  units?: string;
  nanos?: number;
}

function convert(price: Money, currency: string, rate: number): Money {
  const nanos = Math.round((Number(price.units ?? '0') * 1e9 + (price.nanos ?? 0)) * rate);
  return {
    currencyCode: currency,
    units: String(Math.trunc(nanos / 1e9)),
    nanos: nanos % 1e9,
  };
}

/** A SKU with its prices in `currency` (the catalog's conversion of its USD prices). */
function inCurrency(sku: unknown, currency: string): unknown {
  const rate = CONVERSION_RATES[currency] ?? 1;
  if (currency === 'USD') return sku;
  const copy = structuredClone(sku) as {
    pricingInfo?: Array<{
      currencyConversionRate?: number;
      pricingExpression?: { tieredRates?: Array<{ unitPrice?: Money }> };
    }>;
  };
  for (const info of copy.pricingInfo ?? []) {
    info.currencyConversionRate = rate;
    for (const tier of info.pricingExpression?.tieredRates ?? []) {
      if (tier.unitPrice) tier.unitPrice = convert(tier.unitPrice, currency, rate);
    }
  }
  return copy;
}
const SERVICE_ID = '6F81-5844-456A';

let bundled: unknown[] | undefined;

function bundledSkus(): unknown[] {
  bundled ??= (
    JSON.parse(readFileSync(repositoryPath('fixtures/catalog/compute-skus.json'), 'utf8')) as {
      skus: unknown[];
    }
  ).skus;
  return bundled;
}

interface CatalogState {
  skus: unknown[] | undefined;
}

function catalogState(sandbox: Sandbox): CatalogState {
  return sandbox.extension<CatalogState>('billingCatalog', () => ({ skus: undefined }));
}

/** Replaces the SKUs the sandbox serves (undefined restores the fixture). */
export function setCatalogSkus(sandbox: Sandbox, skus: unknown[] | undefined): void {
  catalogState(sandbox).skus = skus === undefined ? undefined : structuredClone(skus);
}

/** The SKUs the sandbox serves now. */
export function catalogSkus(sandbox: Sandbox): unknown[] {
  return catalogState(sandbox).skus ?? bundledSkus();
}

const routes = [
  route<Sandbox>(
    'billingCatalog.skus.list',
    'GET',
    '/v1/services/{service}/skus',
    (request, sandbox) => {
      const service = request.params.service as string;
      if (service !== SERVICE_ID) {
        fail(404, `Service services/${service} was not found`, 'notFound');
      }
      const currency = request.query.get('currencyCode') || 'USD';
      if (CONVERSION_RATES[currency] === undefined) {
        fail(400, `Invalid currency code: ${currency}`);
      }
      const skus = catalogSkus(sandbox).map((sku) => inCurrency(sku, currency));
      const { items, nextPageToken } = page(skus, request.query, {
        sizeParam: 'pageSize',
        defaultSize: 5000,
        maxSize: 5000,
      });
      return { body: { skus: items, nextPageToken: nextPageToken ?? '' } };
    },
  ),
];

export const billingCatalogModule: SandboxModule = { name: 'billingCatalog', routes };
