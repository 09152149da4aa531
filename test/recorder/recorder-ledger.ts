/**
 * The recorder's ledger as the tests and the benchmark migrate it: only the recorder's own
 * tables and views (the 10-19 files, so that other capabilities' DDL is not under test here),
 * in the project and dataset the runtime's settings name. Apart from the sandbox rig, so that
 * the benchmark's recorder process does not load the sandbox.
 */

import { Ledger } from '../../functions/adapters/bigquery.js';
import type { Runtime } from '../../functions/adapters/runtime.js';
import { commonSettings, ledgerProjectOf, readConfig } from '../../functions/core/config.js';
import { capabilitySqlRoot } from '../support/sql.js';

export function recorderSqlRoot(): string {
  return capabilitySqlRoot(/^1\d_/);
}

export function recorderLedger(
  runtime: Pick<Runtime, 'env' | 'clients' | 'logger'>,
  sqlRoot = recorderSqlRoot(),
): Ledger {
  const config = readConfig(commonSettings, runtime.env);
  const project = ledgerProjectOf(config);
  return new Ledger(() => runtime.clients.bigquery(project, config.location), {
    project,
    dataset: config.dataset,
    location: config.location,
    logger: runtime.logger,
    sqlRoot,
  });
}
