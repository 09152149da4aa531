import { readFileSync } from 'node:fs';
import { repositoryPath } from '../../core/repository-path.js';
import { fail, page, route } from '../http.js';
import type { Sandbox, SandboxModule } from '../sandbox.js';

/**
 * Cloud Billing Catalog v1 `services.skus.list` (`GET /v1/services/{service}/skus`, paged with
 * `pageSize` and `pageToken` as the CloudCatalogClient REST transport sends them), serving the
 * Compute Engine SKUs in fixtures/catalog/compute-skus.json. Prices are USD; `startTime` and
 * `endTime` are accepted and ignored (the latest prices are served). A test can swap the SKUs
 * with `setCatalogSkus` to model a daily price change.
 */
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
      const currency = request.query.get('currencyCode');
      if (currency !== null && currency !== '' && currency !== 'USD') {
        fail(400, `The sandbox serves USD prices only (currencyCode ${currency})`);
      }
      const { items, nextPageToken } = page(catalogSkus(sandbox), request.query, {
        sizeParam: 'pageSize',
        defaultSize: 5000,
        maxSize: 5000,
      });
      return { body: { skus: items, nextPageToken: nextPageToken ?? '' } };
    },
  ),
];

export const billingCatalogModule: SandboxModule = { name: 'billingCatalog', routes };
