/**
 * What an entry point is built from: the environment it reads its configuration from, the
 * client factory, a logger and a clock. `functions/index.ts` makes the real one; tests and the
 * local run make one pointed at the sandbox.
 */

import type { Clock } from '../core/clock.js';
import { ledgerProjectOf, type CommonConfig, type Env } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { ComputeFleet } from './compute.js';
import { Ledger } from './bigquery.js';
import { loggingNotifier, SlackNotifier, type Notifier } from './slack.js';
import { UptimeReader } from './monitoring.js';
import type { Clients } from './clients.js';
import { VmTagDirectory } from './vm-tags.js';

export interface Runtime {
  readonly env: Env;
  readonly clients: Clients;
  readonly logger: Logger;
  readonly clock: Clock;
}

export interface CommonAdapters {
  fleet: ComputeFleet;
  uptime: UptimeReader;
  ledger: Ledger;
  notifier: Notifier;
  tags: VmTagDirectory;
}

/** The adapters most capabilities share, built from the common settings. */
export function commonAdapters(runtime: Runtime, config: CommonConfig): CommonAdapters {
  const { clients, logger } = runtime;
  const token = config.slackToken;
  return {
    fleet: new ComputeFleet(
      {
        instances: () => clients.instances(),
        zoneOperations: () => clients.zoneOperations(),
        globalOperations: () => clients.globalOperations(),
        rest: () => clients.computeRest(),
      },
      {
        logger,
        concurrency: config.computeConcurrency,
        writesPerMinute: config.computeWritesPerMinute,
        // Waits, pacing and backoff pass on the runtime's clock (the sandbox's simulated one).
        now: () => runtime.clock.now().getTime(),
        ...(runtime.clock.sleep
          ? { sleep: (ms: number) => runtime.clock.sleep?.(ms) ?? Promise.resolve() }
          : {}),
      },
    ),
    uptime: new UptimeReader(() => clients.metrics(), { logger }),
    tags: new VmTagDirectory((zone) => clients.tagBindings(zone), { logger }),
    ledger: new Ledger(() => clients.bigquery(ledgerProjectOf(config), config.location), {
      project: ledgerProjectOf(config),
      dataset: config.dataset,
      location: config.location,
      logger,
    }),
    notifier:
      token && config.slackChannel
        ? new SlackNotifier(() => clients.slack(token), config.slackChannel, logger)
        : loggingNotifier(logger),
  };
}
