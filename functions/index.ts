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

export const targets: readonly string[] = [];

void functions;
