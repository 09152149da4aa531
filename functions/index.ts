/**
 * Registers costguard's entry points with the Functions Framework. Importing this module
 * reads no environment and builds no client: each target builds its configuration, clients
 * and adapters on its first invocation, and imports only the code it needs.
 */
import * as functions from '@google-cloud/functions-framework';
import { createClients } from './adapters/clients.js';
import { resolveEndpoints } from './adapters/endpoints.js';
import type { Runtime } from './adapters/runtime.js';
import { systemClock } from './core/clock.js';
import { lazyEvent, lazyHttp } from './core/handlers.js';
import { createLogger, type Logger } from './core/logger.js';

let runtime: Runtime | undefined;
let logger: Logger | undefined;

function log(): Logger {
  logger ??= createLogger();
  return logger;
}

/** The one place real clients are built, from `process.env`, on first use. */
export function productionRuntime(): Runtime {
  if (!runtime) {
    const env = process.env;
    runtime = {
      env,
      clients: createClients(resolveEndpoints(env)),
      logger: log(),
      clock: systemClock,
    };
  }
  return runtime;
}

functions.http(
  'recordSpotCosts',
  lazyHttp('recordSpotCosts', log, async () =>
    (await import('./recorder/entry.js')).buildRecordSpotCosts(productionRuntime()),
  ),
);

functions.cloudEvent(
  'enforceBudget',
  lazyEvent('enforceBudget', log, async () =>
    (await import('./budget/entry.js')).buildEnforceBudget(productionRuntime()),
  ),
);

functions.http(
  'enforceLabels',
  lazyHttp('enforceLabels', log, async () =>
    (await import('./labels/entry.js')).buildEnforceLabels(productionRuntime()),
  ),
);

functions.cloudEvent(
  'enforceLabelsOnCreate',
  lazyEvent('enforceLabelsOnCreate', log, async () =>
    (await import('./labels/entry.js')).buildEnforceLabelsOnCreate(productionRuntime()),
  ),
);

functions.http(
  'triggerRun',
  lazyHttp('triggerRun', log, async () =>
    (await import('./runs/entry.js')).buildTriggerRun(productionRuntime()),
  ),
);

/** The public target names (DESIGN.md): deploy scripts, Scheduler jobs and tests use them. */
export const targets = [
  'recordSpotCosts',
  'enforceBudget',
  'enforceLabels',
  'enforceLabelsOnCreate',
  'triggerRun',
] as const;
