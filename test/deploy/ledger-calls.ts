// The BigQuery permissions a function's calls against the sandbox need, table by table, and the
// table-level roles a deploy plan grants its account, in one form: `table: permission`.
import { readClosure, viewSources } from '../../deploy/ledger-access.js';
import type { Plan } from '../../deploy/plan.js';
import { migrationFiles, defaultSqlRoot } from '../../functions/adapters/bigquery.js';
import { bigQueryState } from '../../functions/sandbox/routes/bigquery.js';
import type { Sandbox } from '../../functions/sandbox/sandbox.js';
import { flagValue } from './deploy-fixtures.js';

/** What the sandbox had seen before the scenario: calls, query jobs and load jobs. */
export interface LedgerMark {
  readonly calls: number;
  readonly jobs: ReadonlySet<string>;
  readonly loads: ReadonlySet<string>;
}

export function markLedger(sandbox: Sandbox): LedgerMark {
  const state = bigQueryState(sandbox);
  return {
    calls: sandbox.calls.length,
    jobs: new Set(state.jobs.keys()),
    loads: new Set(state.loads.keys()),
  };
}

const SOURCES = viewSources(migrationFiles(defaultSqlRoot()));

/**
 * Streaming inserts need updateData on their table, load jobs update and updateData, queries
 * getData on every table or view they name and on what those views read. Waiting on one's own
 * jobs needs nothing beyond creating them; any other BigQuery call shows as its route, so an
 * unexpected one fails the comparison.
 */
export function ledgerPermissionsCalled(
  sandbox: Sandbox,
  mark: LedgerMark,
  dataset: string,
): string[] {
  const state = bigQueryState(sandbox);
  const needed = new Set<string>();
  const grant = (table: string, permission: string) => needed.add(`${table}: ${permission}`);
  for (const call of sandbox.calls.slice(mark.calls)) {
    if (!call.route.startsWith('bigquery.')) continue;
    switch (call.route) {
      case 'bigquery.tabledata.insertAll': {
        const table = /\/tables\/([^/]+)\/insertAll$/.exec(call.path)?.[1] ?? '?';
        grant(decodeURIComponent(table), 'bigquery.tables.updateData');
        break;
      }
      case 'bigquery.jobs.load':
      case 'bigquery.jobs.insert':
      case 'bigquery.jobs.query':
      case 'bigquery.jobs.get':
      case 'bigquery.jobs.getQueryResults':
        break;
      default:
        needed.add(call.route);
    }
  }
  for (const [id, job] of state.loads) {
    if (mark.loads.has(id)) continue;
    const load = (job.configuration as { load?: { destinationTable?: { tableId?: string } } }).load;
    const table = load?.destinationTable?.tableId ?? '?';
    grant(table, 'bigquery.tables.update');
    grant(table, 'bigquery.tables.updateData');
  }
  const reference = new RegExp(`\\b${dataset}\\.([A-Za-z0-9_]+)`, 'g');
  for (const [id, job] of state.jobs) {
    if (mark.jobs.has(id)) continue;
    const named = [...job.query.matchAll(reference)].map((m) => m[1] ?? '');
    for (const table of readClosure(named, SOURCES)) grant(table, 'bigquery.tables.getData');
  }
  return [...needed].sort();
}

/** The table-level roles the plan binds to `email`, as the permissions their custom roles hold. */
export function ledgerPermissionsGranted(plan: Plan, email: string): string[] {
  const commands = plan.steps.flatMap((s) => s.commands);
  const permissionsOf = (role: string): string[] => {
    const id = role.split('/').pop() ?? role;
    const create = commands.find((c) => c.argv.includes('create') && c.argv.includes(id));
    return (flagValue(create?.argv ?? [], '--permissions') ?? '').split(',');
  };
  const granted = commands
    .filter(
      (c) =>
        c.argv[0] === 'bq' &&
        c.argv.includes('add-iam-policy-binding') &&
        flagValue(c.argv, '--member') === `serviceAccount:${email}`,
    )
    .flatMap((c) => {
      const table = (c.argv.at(-1) ?? '').split('.').pop() ?? '';
      return permissionsOf(flagValue(c.argv, '--role') ?? '').map((p) => `${table}: ${p}`);
    });
  return [...new Set(granted)].sort();
}
