/**
 * Who may touch which ledger table. No function holds a dataset-wide role: each may append to
 * the tables it writes and read those it queries, each granted on the table itself, so the run
 * trigger (which people call) cannot rewrite the enforcement history that decisions read. A
 * query of a view needs read on the view and on everything it reads (unless the view is
 * authorized), so reads are followed through the views' own SQL. Jobs are created in the host
 * project (BigQuery Job User); only the migration creates, changes or deletes tables.
 */
import type { CustomRole } from './permissions.js';
import type { Target } from './resources.js';

const LEDGER_ROLES = {
  /** Queries read a table or view with getData, nothing else. */
  reader: {
    id: 'costguardLedgerReader',
    title: 'costguard ledger reader (one table or view)',
    permissions: ['bigquery.tables.getData'],
  },
  /** Streaming inserts (tabledata.insertAll) need updateData on the table, nothing else. */
  appender: {
    id: 'costguardLedgerAppender',
    title: 'costguard ledger appender (one table)',
    permissions: ['bigquery.tables.updateData'],
  },
  /**
   * Load jobs appending to an existing table: Google documents updateData and update for them
   * (create too, which the load never needs: it runs with CREATE_NEVER).
   */
  loader: {
    id: 'costguardLedgerLoader',
    title: 'costguard ledger loader (one table)',
    permissions: ['bigquery.tables.update', 'bigquery.tables.updateData'],
  },
} as const satisfies Record<string, CustomRole>;

export const ALL_LEDGER_ROLES: readonly CustomRole[] = Object.values(LEDGER_ROLES);

/** What one function does in the ledger, by table or view name. */
export interface LedgerUse {
  /** Tables it streams rows into. */
  readonly appends: readonly string[];
  /** Tables it appends to with load jobs. */
  readonly loads: readonly string[];
  /** Tables and views its queries name. */
  readonly reads: readonly string[];
}

const ENFORCEMENT_HISTORY = ['enforcement_actions', 'budget_notifications'];

const LEDGER_USE: Readonly<Record<Target, LedgerUse>> = {
  // The recorder's preemption backstop writes what the events missed.
  recordSpotCosts: {
    appends: ['preemptions', 'spot_cost_alerts'],
    loads: ['spot_costs', 'vm_inventory'],
    reads: [
      'preemptions',
      'preemptions_by_team',
      'spot_cost_alerts',
      'spot_cost_hours',
      'spot_costs',
      'vm_inventory',
    ],
  },
  // Both enforcers read the holds put from Slack (snoozes, restarts) before a tier sheds.
  enforceBudget: {
    appends: ENFORCEMENT_HISTORY,
    loads: [],
    reads: [...ENFORCEMENT_HISTORY, 'slack_actions'],
  },
  enforceSpotCap: {
    appends: ['cap_hours', 'cap_runs', 'enforcement_actions'],
    loads: [],
    reads: ['cap_runs', 'enforcement_actions', 'slack_actions', 'spot_cost_hours', 'spot_costs'],
  },
  enforceLabels: { appends: ['label_compliance'], loads: [], reads: [] },
  // A new VM's shape is kept at once, so a short-lived one is still priced by the recorder.
  enforceLabelsOnCreate: { appends: ['label_compliance', 'vm_inventory'], loads: [], reads: [] },
  // A start of a pipeline with candidate VMs ranks them by their zones' recent preemption rates.
  triggerRun: {
    appends: ['runs'],
    loads: [],
    reads: ['cap_runs', 'preemption_rate_daily', 'run_costs', 'runs'],
  },
  // A preemption is one row; a run it resumes is a runs snapshot, priced from the recorded hours.
  recordPreemption: {
    appends: ['preemptions', 'runs'],
    loads: [],
    reads: ['preemptions', 'run_costs', 'runs', 'vm_inventory'],
  },
  // A click is one slack_actions row; a restart or snooze is also enforcement_actions rows, and a
  // cancel a runs snapshot.
  slackActions: {
    appends: ['enforcement_actions', 'runs', 'slack_actions'],
    loads: [],
    reads: ['enforcement_actions', 'run_costs', 'runs', 'slack_actions'],
  },
};

const REFERENCE = /`\$\{dataset\}\.([A-Za-z0-9_]+)`/g;
const VIEW_NAME =
  /CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?`\$\{dataset\}\.([A-Za-z0-9_]+)`/gi;

/** Each view of the migration and the tables and views its SQL names. */
export function viewSources(
  sql: ReadonlyArray<{ readonly sql: string }>,
): ReadonlyMap<string, readonly string[]> {
  const sources = new Map<string, string[]>();
  for (const file of sql) {
    const [view] = [...file.sql.matchAll(VIEW_NAME)].map((m) => m[1] ?? '');
    if (!view) continue;
    const named = [...file.sql.matchAll(REFERENCE)].map((m) => m[1] ?? '');
    sources.set(view, [...new Set(named.filter((n) => n !== view))]);
  }
  return sources;
}

/** The names given, and through views everything they read, each once, sorted. */
export function readClosure(
  names: readonly string[],
  sources: ReadonlyMap<string, readonly string[]>,
): string[] {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const source of sources.get(name) ?? []) visit(source);
  };
  names.forEach(visit);
  return [...seen].sort();
}

export interface TableGrant {
  readonly table: string;
  readonly role: CustomRole;
}

/** Every table-level role a function's account holds in the ledger. */
export function ledgerGrants(
  target: Target,
  sql: ReadonlyArray<{ readonly sql: string }>,
): TableGrant[] {
  const use = LEDGER_USE[target];
  return [
    ...readClosure(use.reads, viewSources(sql)).map((table) => ({
      table,
      role: LEDGER_ROLES.reader,
    })),
    ...use.appends.map((table) => ({ table, role: LEDGER_ROLES.appender })),
    ...use.loads.map((table) => ({ table, role: LEDGER_ROLES.loader })),
  ];
}
