/**
 * Refreshes the bundled price book from the Cloud Billing Catalog:
 *
 *   npx tsx functions/pricing/refresh-price-book.ts > fixtures/pricing/price-book.json
 *
 * With Application Default Credentials it reads Google's catalog (any authenticated caller may
 * list public SKUs); with GCP_EMULATOR_HOST or BILLING_CATALOG_EMULATOR_HOST, the sandbox's.
 */
import { pathToFileURL } from 'node:url';
import { BillingCatalog, COMPUTE_ENGINE_SERVICE } from '../adapters/billing-catalog.js';
import type { Clients } from '../adapters/clients.js';
import { createClients } from '../adapters/clients.js';
import { resolveEndpoints } from '../adapters/endpoints.js';
import { createLogger, type Logger } from '../core/logger.js';
import { priceBookFileFrom, type PriceBookFile } from './price-book.js';

const DESCRIPTION =
  'Bundled Compute Engine price book, the fallback when the Cloud Billing Catalog cannot be reached. Hourly rates per region: core per vCPU, ram per GiB, vm per machine (f1/g1), gpu per GPU; custom and custom-extended-ram for custom machine types.';

export async function refreshPriceBook(
  clients: Pick<Clients, 'catalog'>,
  logger: Logger,
  now: Date,
  currency = 'USD',
): Promise<PriceBookFile & { description: string; service: string }> {
  const catalog = new BillingCatalog(() => clients.catalog(), { logger, currency });
  const book = priceBookFileFrom(await catalog.listSkus(), now);
  return { description: DESCRIPTION, service: COMPUTE_ENGINE_SERVICE, ...book };
}

// Run as a script only; importing the module (tests) does nothing.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const logger = createLogger({
    sink: (line) => process.stderr.write(`${line}\n`),
    minSeverity: 'WARNING',
  });
  refreshPriceBook(
    createClients(resolveEndpoints(process.env)),
    logger,
    new Date(),
    process.env.COSTGUARD_CURRENCY,
  )
    .then((book) => process.stdout.write(`${JSON.stringify(book, null, 1)}\n`))
    .catch((error: unknown) => {
      logger.critical('The price book could not be refreshed', { error });
      process.exitCode = 1;
    });
}
