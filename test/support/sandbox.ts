import { Ledger } from '../../functions/adapters/bigquery.js';
import { createClients } from '../../functions/adapters/clients.js';
import { resolveEndpoints } from '../../functions/adapters/endpoints.js';
import type { Runtime } from '../../functions/adapters/runtime.js';
import { createMemoryLogger } from '../../functions/core/logger.js';
import type { FleetFixture } from '../../functions/sandbox/fleet.js';
import { startSandbox, type SandboxOptions } from '../../functions/sandbox/server.js';
import type { Sandbox } from '../../functions/sandbox/sandbox.js';
import { loadFixture } from './fixtures.js';

export type { Sandbox };

/** Starts a sandbox on a free loopback port with a fleet fixture (a path under fixtures/ or a value). */
export async function startTestSandbox(
  fleet: string | FleetFixture = 'fleets/contract.json',
  options: Omit<SandboxOptions, 'fleet'> = {},
): Promise<Sandbox> {
  return startSandbox({
    ...options,
    fleet: typeof fleet === 'string' ? loadFixture<FleetFixture>(fleet) : fleet,
  });
}

/**
 * A runtime whose clients all talk to the sandbox, whose clock is the sandbox's, and whose
 * logger keeps its entries. `env` adds configuration on top of the endpoint variables.
 */
export function sandboxRuntime(
  sandbox: Sandbox,
  env: Record<string, string> = {},
): Runtime & { logger: ReturnType<typeof createMemoryLogger> } {
  const fullEnv = { ...sandbox.env(), ...env };
  return {
    env: fullEnv,
    clients: createClients(resolveEndpoints(fullEnv)),
    logger: createMemoryLogger(),
    clock: sandbox.clock,
  };
}

/**
 * The whole ledger (every table and view) in `ml-training-prod`'s `costguard` dataset, US,
 * reached through `runtime`'s clients, with quick retries. Call `migrate()` before use.
 */
export function sandboxLedger(runtime: Pick<Runtime, 'clients' | 'logger'>): Ledger {
  return new Ledger(() => runtime.clients.bigquery('ml-training-prod', 'US'), {
    project: 'ml-training-prod',
    dataset: 'costguard',
    location: 'US',
    logger: runtime.logger,
    retry: { baseDelayMs: 1 },
  });
}
