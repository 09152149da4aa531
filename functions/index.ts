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
import { installHttpEdge } from './core/http-edge.js';
import { createLogger, type Logger } from './core/logger.js';
import { ENTRY_POINTS } from './entry-points.js';

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

// JSON replies for what the framework refuses before a function runs (malformed bodies).
installHttpEdge(log);

for (const entry of ENTRY_POINTS) {
  if (entry.kind === 'http') {
    functions.http(
      entry.name,
      lazyHttp(entry.name, log, () => entry.load(productionRuntime())),
    );
  } else {
    functions.cloudEvent(
      entry.name,
      lazyEvent(entry.name, log, () => entry.load(productionRuntime())),
    );
  }
}
