/**
 * The Cloud Billing Catalog port: every public SKU of one service (Compute Engine by default),
 * pages followed explicitly so that a transient failure retries one page, not the listing.
 * Each SKU is reduced to its latest price: the pricing info with the latest effective time,
 * its first tier, `units + nanos x 1e-9` per usage unit.
 */

import type { CloudCatalogClient, protos } from '@google-cloud/billing';
import type { Logger } from '../core/logger.js';
import { timestampMillis } from './timestamp.js';
import { loggedRetries, withRetry, type RetryOptions } from '../core/retry.js';
import type { CatalogSku, CatalogSource } from '../pricing/catalog-skus.js';

type ISku = protos.google.cloud.billing.v1.ISku;
type IPricingInfo = protos.google.cloud.billing.v1.IPricingInfo;

export const COMPUTE_ENGINE_SERVICE = 'services/6F81-5844-456A';

export interface BillingCatalogOptions {
  logger: Logger;
  retry?: RetryOptions;
  service?: string;
  /** ISO 4217 code the catalog converts prices to (default USD). */
  currency?: string;
  /** SKUs per page (the API's default and maximum is 5000). */
  pageSize?: number;
}

function effectiveMillis(info: IPricingInfo): number {
  // A decoded timestamp is {seconds, nanos}; the REST JSON the client hands over (lean-gax.ts)
  // and the fixtures have RFC 3339.
  return timestampMillis(info.effectiveTime);
}

function latest(infos: readonly IPricingInfo[]): IPricingInfo | undefined {
  let best: IPricingInfo | undefined;
  for (const info of infos) {
    if (!best || effectiveMillis(info) >= effectiveMillis(best)) best = info;
  }
  return best;
}

/** The SKU as the pricing engine reads it, or undefined when it carries no usable price. */
export function toCatalogSku(sku: ISku): CatalogSku | undefined {
  const info = latest(sku.pricingInfo ?? []);
  const expression = info?.pricingExpression;
  const tiers = [...(expression?.tieredRates ?? [])].sort(
    (a, b) => Number(a.startUsageAmount ?? 0) - Number(b.startUsageAmount ?? 0),
  );
  const unitPrice = tiers[0]?.unitPrice;
  if (!sku.skuId || !sku.description || !expression?.usageUnit || !unitPrice?.currencyCode) {
    return undefined;
  }
  const price = Number(unitPrice.units ?? 0) + Number(unitPrice.nanos ?? 0) / 1e9;
  if (!Number.isFinite(price) || price < 0) return undefined;
  const effective = info?.effectiveTime ? effectiveMillis(info) : undefined;
  return {
    skuId: sku.skuId,
    description: sku.description,
    resourceFamily: sku.category?.resourceFamily ?? '',
    resourceGroup: sku.category?.resourceGroup ?? '',
    usageType: sku.category?.usageType ?? '',
    regions: [...(sku.serviceRegions ?? [])],
    usageUnit: expression.usageUnit,
    unitPrice: price,
    currency: unitPrice.currencyCode,
    effectiveTime: effective ? new Date(effective).toISOString() : undefined,
  };
}

export class BillingCatalog implements CatalogSource {
  constructor(
    private readonly client: () => Promise<Pick<CloudCatalogClient, 'listSkus'>>,
    private readonly options: BillingCatalogOptions,
  ) {}

  async listSkus(): Promise<CatalogSku[]> {
    const client = await this.client();
    const parent = this.options.service ?? COMPUTE_ENGINE_SERVICE;
    const skus: CatalogSku[] = [];
    let unusable = 0;
    let pages = 0;
    let pageToken: string | undefined;
    do {
      const token = pageToken;
      const [page, , response] = await withRetry(
        () =>
          client.listSkus(
            {
              parent,
              currencyCode: this.options.currency ?? 'USD',
              pageSize: this.options.pageSize ?? 5000,
              ...(token ? { pageToken: token } : {}),
            },
            { autoPaginate: false },
          ),
        loggedRetries(this.options.logger, 'listSkus', this.options.retry, { parent }),
      );
      pages++;
      for (const raw of page) {
        const sku = toCatalogSku(raw);
        if (sku) skus.push(sku);
        else unusable++;
      }
      pageToken = response?.nextPageToken || undefined;
    } while (pageToken);
    this.options.logger.debug('Listed catalog SKUs', {
      parent,
      skus: skus.length,
      unusable,
      pages,
    });
    return skus;
  }
}
