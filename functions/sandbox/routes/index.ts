import { batchVmModule } from '../batch-vm.js';
import type { SandboxModule } from '../sandbox.js';
import { bigQueryModule } from './bigquery.js';
import { billingBudgetsModule } from './billing-budgets.js';
import { billingCatalogModule } from './billing-catalog.js';
import { cloudIdentityModule } from './cloud-identity.js';
import { cloudRunModule } from './cloud-run.js';
import { computeModule } from './compute.js';
import { loggingModule } from './logging.js';
import { controlModule } from './control.js';
import { monitoringModule } from './monitoring.js';
import { resourceManagerModule } from './resource-manager.js';
import { schedulerModule } from './scheduler.js';
import { slackModule } from './slack.js';
import { storageModule } from './storage.js';

/** Every API the sandbox serves; a new API is one module file plus one line here. */
export function defaultModules(): SandboxModule[] {
  return [
    controlModule,
    computeModule,
    monitoringModule,
    bigQueryModule,
    slackModule,
    billingCatalogModule,
    billingBudgetsModule,
    resourceManagerModule,
    storageModule,
    cloudRunModule,
    batchVmModule,
    loggingModule,
    cloudIdentityModule,
    schedulerModule,
  ];
}
