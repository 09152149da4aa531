/**
 * Looker Studio on the ledger: the views reports read (one data source each, with its date range
 * dimension and its metrics), the Linking API URL that opens a report on a deployed dataset, and
 * the command that prints them (and, if asked, the bq command that points the billing_export
 * view at the Cloud Billing export).
 *
 *   npm run looker-studio -- --project P [--dataset D] [--view V]... [--report-id ID]
 *     [--report-name NAME] [--billing-export PROJECT.DATASET.TABLE] [--bq-location L]
 */

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Ledger } from '../functions/adapters/bigquery.js';
import { DATASET_ID, PROJECT_ID } from '../functions/core/config.js';
import { guarded, main, type CliIo } from './cli-io.js';
import { billingExportViewSql, queryText } from './ledger-sql.js';
import { BQ_LOCATION, checked, parse, parseExportTable, required, UsageError } from './options.js';
import { bqQuery, formatCommand } from './plan.js';

export interface LookerView {
  /** The view in the ledger dataset, and the data source's table. */
  readonly name: string;
  /** The DATE (or TIMESTAMP) field to use as the report's date range dimension. */
  readonly dateColumn: string;
  /** Fields that add up across rows (SUM in Looker Studio). */
  readonly metrics: readonly string[];
  /** Per-row ratios, and the calculated field that gives the same ratio over many rows. */
  readonly ratios: ReadonlyArray<{ readonly field: string; readonly overRows: string }>;
}

/** In alias order: a data source's alias in a report is `ds<index>`, so templates can rely on it. */
export const LOOKER_VIEWS: readonly LookerView[] = [
  {
    name: 'cost_daily',
    dateColumn: 'usage_date',
    metrics: ['vm_hours', 'cost', 'on_demand_cost', 'unpriced_vm_hours'],
    ratios: [],
  },
  {
    name: 'cost_by_label_daily',
    dateColumn: 'usage_date',
    metrics: ['vm_hours', 'cost', 'on_demand_cost', 'unpriced_vm_hours'],
    ratios: [],
  },
  {
    name: 'cost_by_label_monthly',
    dateColumn: 'usage_month',
    metrics: ['days', 'vm_hours', 'cost', 'on_demand_cost', 'unpriced_vm_hours'],
    ratios: [],
  },
  {
    name: 'spot_savings_daily',
    dateColumn: 'usage_date',
    metrics: ['spot_vm_hours', 'spot_cost', 'on_demand_equivalent_cost', 'savings'],
    ratios: [
      {
        field: 'savings_percent',
        overRows: '100 * SUM(savings) / SUM(on_demand_equivalent_cost)',
      },
    ],
  },
  {
    name: 'run_costs',
    dateColumn: 'requested_date',
    metrics: [
      'duration_minutes',
      'recorded_vm_hours',
      'recorded_cost',
      'recorded_on_demand_cost',
      'reported_cost',
    ],
    ratios: [],
  },
  {
    name: 'label_compliance_share_daily',
    dateColumn: 'usage_date',
    metrics: [
      'checked_vms',
      'exempt_vms',
      'compliant_vms',
      'non_compliant_vms',
      'cost',
      'compliant_cost',
      'non_compliant_cost',
      'exempt_cost',
      'unchecked_cost',
    ],
    ratios: [
      {
        field: 'compliant_vm_share',
        overRows: 'SUM(compliant_vms) / (SUM(compliant_vms) + SUM(non_compliant_vms))',
      },
      {
        field: 'compliant_cost_share',
        overRows: 'SUM(compliant_cost) / (SUM(compliant_cost) + SUM(non_compliant_cost))',
      },
    ],
  },
  {
    name: 'enforcement_periods',
    dateColumn: 'period_start',
    metrics: [
      'decisions',
      'vms_stopped',
      'vms_would_stop',
      'vms_spared',
      'vms_failed',
      'saving_per_hour',
      'would_save_per_hour',
    ],
    ratios: [],
  },
  {
    name: 'enforcement_log',
    dateColumn: 'decision_date',
    metrics: ['hourly_cost', 'saving_per_hour', 'would_save_per_hour'],
    ratios: [],
  },
  {
    name: 'billing_reconciliation',
    dateColumn: 'usage_date',
    metrics: [
      'recorded_vm_hours',
      'unpriced_vm_hours',
      'estimated_cost',
      'billed_core_cost',
      'billed_ram_cost',
      'billed_gpu_cost',
      'billed_cost',
      'billed_list_cost',
      'negotiated_discount',
      'billed_list_cost_non_default_model',
      'commitment_fees',
      'billed_credits',
      'sud_credits',
      'cud_credits',
      'free_tier_credits',
      'promotion_credits',
      'other_credits',
      'billed_net_cost',
      'difference',
    ],
    ratios: [
      { field: 'error_percent', overRows: '100 * SUM(difference) / SUM(billed_list_cost)' },
      {
        field: 'unpriced_share_percent',
        overRows: '100 * SUM(unpriced_vm_hours) / SUM(recorded_vm_hours)',
      },
    ],
  },
  {
    name: 'spot_cost_hours',
    dateColumn: 'usage_hour',
    metrics: ['uptime_seconds', 'cost', 'on_demand_cost'],
    ratios: [],
  },
  // Appended after the first ten so that templates built on ds0 … ds9 keep their aliases.
  {
    name: 'cap_status',
    dateColumn: 'run_date',
    metrics: ['runs', 'vms_stopped'],
    ratios: [],
  },
  {
    name: 'cap_drift',
    dateColumn: 'usage_date',
    metrics: ['estimated_cost', 'recorded_cost', 'drift'],
    ratios: [{ field: 'drift_ratio', overRows: 'SUM(drift) / SUM(recorded_cost)' }],
  },
  {
    name: 'sustained_use_discounts_monthly',
    dateColumn: 'usage_month',
    metrics: [
      'on_demand_vm_hours',
      'on_demand_cost',
      'estimated_sud',
      'on_demand_net_cost',
      'spot_vm_hours',
      'spot_cost',
      'spot_on_demand_equivalent_cost',
      'spot_savings',
      'spot_savings_net',
    ],
    ratios: [{ field: 'sud_percent', overRows: '-100 * SUM(estimated_sud) / SUM(on_demand_cost)' }],
  },
  {
    name: 'preemption_rate_daily',
    dateColumn: 'day',
    metrics: ['spot_vm_hours', 'preemptions', 'lost_hours', 'lost_cost'],
    ratios: [
      {
        field: 'preemptions_per_100_vm_hours',
        overRows: '100 * SUM(preemptions) / SUM(spot_vm_hours)',
      },
    ],
  },
  {
    name: 'preemptions_by_team',
    dateColumn: 'day',
    metrics: ['preemptions', 'lost_hours', 'lost_cost'],
    ratios: [],
  },
  {
    name: 'run_attempts',
    dateColumn: 'requested_date',
    metrics: ['attempts', 'preemptions', 'lost_hours', 'lost_cost', 'total_cost'],
    ratios: [],
  },
];

const LINKING_API = 'https://lookerstudio.google.com/reporting/create';
const REPORT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface LookerStudioTarget {
  readonly project: string;
  readonly dataset: string;
  /** The views to add as data sources (all of LOOKER_VIEWS when absent), in catalogue order. */
  readonly views?: readonly string[];
  /** A template report whose data sources carry the aliases ds0, ds1, ... of LOOKER_VIEWS. */
  readonly reportId?: string;
  readonly reportName?: string;
}

export function aliasOf(view: string): string {
  const index = LOOKER_VIEWS.findIndex((v) => v.name === view);
  if (index < 0) {
    throw new UsageError(
      `--view: expected one of ${LOOKER_VIEWS.map((v) => v.name).join(', ')}; got "${view}"`,
    );
  }
  return `ds${index}`;
}

/** The catalogue views among `names` (e.g. the views a migration creates), in alias order. */
export function lookerViewsIn(names: readonly string[]): string[] {
  return LOOKER_VIEWS.map((v) => v.name).filter((name) => names.includes(name));
}

/**
 * A Linking API URL that opens a report with one BigQuery data source per view. Without a
 * template it opens a blank report in edit mode, ready for charts.
 */
export function lookerStudioUrl(target: LookerStudioTarget): string {
  if (!PROJECT_ID.test(target.project)) {
    throw new UsageError(`--project: expected a Google Cloud project id; got "${target.project}"`);
  }
  if (!DATASET_ID.test(target.dataset)) {
    throw new UsageError(`--dataset: expected a BigQuery dataset id; got "${target.dataset}"`);
  }
  if (target.reportId !== undefined && !REPORT_ID.test(target.reportId)) {
    throw new UsageError(
      `--report-id: expected a Looker Studio report id (a UUID); got "${target.reportId}"`,
    );
  }
  const views = target.views ?? LOOKER_VIEWS.map((v) => v.name);
  const aliases = views.map((view) => ({ view, alias: aliasOf(view) }));
  const params = new URLSearchParams();
  if (target.reportId) params.set('c.reportId', target.reportId);
  else params.set('c.mode', 'edit');
  params.set('r.reportName', target.reportName ?? `costguard costs (${target.dataset})`);
  for (const { view, alias } of aliases.sort((a, b) =>
    a.alias.localeCompare(b.alias, 'en', { numeric: true }),
  )) {
    params.set(`ds.${alias}.connector`, 'bigQuery');
    params.set(`ds.${alias}.type`, 'TABLE');
    params.set(`ds.${alias}.projectId`, target.project);
    params.set(`ds.${alias}.datasetId`, target.dataset);
    params.set(`ds.${alias}.tableId`, view);
    params.set(`ds.${alias}.datasourceName`, `costguard ${view}`);
  }
  return `${LINKING_API}?${params.toString()}`;
}

export const LOOKER_STUDIO_USAGE = `Usage: npm run looker-studio -- --project P [--dataset D] [--view V]...
  [--report-id ID] [--report-name NAME] [--billing-export PROJECT.DATASET.TABLE] [--bq-location L]`;

interface LookerStudioOptions extends LookerStudioTarget {
  readonly billingExport?: string;
  readonly bqLocation: string;
}

function parseLookerStudioOptions(argv: readonly string[]): LookerStudioOptions {
  const values = parse(argv, {
    project: { type: 'string' },
    dataset: { type: 'string' },
    view: { type: 'string', multiple: true },
    'report-id': { type: 'string' },
    'report-name': { type: 'string' },
    'billing-export': { type: 'string' },
    'bq-location': { type: 'string' },
  }) as Record<string, unknown>;
  const text = (name: string): string | undefined => values[name] as string | undefined;
  const project = required(values, 'project', PROJECT_ID, 'a Google Cloud project id');
  const bqLocation =
    checked(values, 'bq-location', BQ_LOCATION, 'a BigQuery location such as US or EU') ?? 'US';
  const views = values.view as string[] | undefined;
  const billingExport = text('billing-export');
  return {
    project,
    dataset: text('dataset') ?? 'costguard',
    ...(views ? { views: [...new Set(views)] } : {}),
    ...(text('report-id') !== undefined ? { reportId: text('report-id') } : {}),
    ...(text('report-name') !== undefined ? { reportName: text('report-name') } : {}),
    ...(billingExport !== undefined ? { billingExport: parseExportTable(billingExport) } : {}),
    bqLocation,
  };
}

/** `npm run looker-studio`: prints the data sources, the URL and, if asked, the export binding. */
export function lookerStudioCli(argv: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, LOOKER_STUDIO_USAGE, argv, () => {
    const options = parseLookerStudioOptions(argv);
    const url = lookerStudioUrl(options);
    const views = options.views ?? LOOKER_VIEWS.map((v) => v.name);
    io.out(
      `Looker Studio data sources on ${options.project}:${options.dataset} (alias, view, date range dimension):`,
    );
    for (const view of LOOKER_VIEWS.filter((v) => views.includes(v.name))) {
      io.out(`  ${aliasOf(view.name).padEnd(4)} ${view.name.padEnd(29)} ${view.dateColumn}`);
    }
    io.out('Open this URL to create the report (Looker Studio Linking API):');
    io.out(`  ${url}`);
    if (options.billingExport) {
      const sql = billingExportViewSql(
        options,
        options.billingExport,
        io.root ? join(io.root, 'sql') : undefined,
      );
      io.out('Point billing_export at the Cloud Billing export (once; later migrations keep it):');
      io.out(`  ${formatCommand(bqQuery(options.project, options.bqLocation, queryText(sql)))}`);
    }
  });
}

function money(value: unknown): string {
  return Number(value ?? 0).toFixed(2);
}

/**
 * For `npm start`: what the main Looker Studio data sources hold, read from the views through
 * the ledger (`${dataset}` is bound by it), one line each.
 */
export async function previewCostViews(
  ledger: Pick<Ledger, 'query'>,
  print: (line: string) => void,
): Promise<void> {
  const teams = await ledger.query<{ team: string; cost: unknown; currency: string }>(
    `SELECT team, SUM(cost) AS cost, MAX(currency) AS currency FROM \`\${dataset}.cost_by_label_daily\`
     GROUP BY team ORDER BY cost DESC, team`,
  );
  print(
    `  cost_by_label_daily: ${teams.map((t) => `${t.team} ${money(t.cost)} ${t.currency}`).join(', ') || 'no recorded cost yet'}`,
  );
  const [savings] = await ledger.query<{ spot: unknown; saved: unknown; currency: string | null }>(
    `SELECT SUM(spot_cost) AS spot, SUM(savings) AS saved, MAX(currency) AS currency
     FROM \`\${dataset}.spot_savings_daily\``,
  );
  print(
    savings?.spot === null || savings?.spot === undefined
      ? '  spot_savings_daily: no Spot hours priced yet'
      : `  spot_savings_daily: Spot cost ${money(savings.spot)}, saved ${money(savings.saved)} ${savings.currency ?? ''} against on-demand prices`,
  );
  const [runs] = await ledger.query<{ runs: unknown; cost: unknown }>(
    `SELECT COUNT(*) AS runs, SUM(recorded_cost) AS cost FROM \`\${dataset}.run_costs\``,
  );
  print(`  run_costs: ${Number(runs?.runs ?? 0)} runs, ${money(runs?.cost)} recorded on their VMs`);
  const [compliance] = await ledger.query<{ day: unknown; share: unknown; cost_share: unknown }>(
    `SELECT CAST(usage_date AS STRING) AS day,
       SAFE_DIVIDE(SUM(compliant_vms), SUM(compliant_vms) + SUM(non_compliant_vms)) AS share,
       SAFE_DIVIDE(SUM(compliant_cost), SUM(compliant_cost) + SUM(non_compliant_cost)) AS cost_share
     FROM \`\${dataset}.label_compliance_share_daily\`
     GROUP BY usage_date ORDER BY usage_date DESC LIMIT 1`,
  );
  const percent = (value: unknown): string =>
    value === null || value === undefined ? '-' : `${Math.round(Number(value) * 100)}%`;
  const costShare =
    compliance?.cost_share === null || compliance?.cost_share === undefined
      ? ''
      : `, and ${percent(compliance.cost_share)} of their cost`;
  print(
    compliance
      ? `  label_compliance_share_daily: ${String(compliance.day)}: ${percent(compliance.share)} of checked VMs compliant${costShare}`
      : '  label_compliance_share_daily: no label checks yet',
  );
  const [enforcement] = await ledger.query<{ stopped: unknown; saving: unknown }>(
    `SELECT SUM(vms_stopped + vms_would_stop) AS stopped,
       SUM(saving_per_hour + would_save_per_hour) AS saving
     FROM \`\${dataset}.enforcement_periods\``,
  );
  print(
    `  enforcement_periods: ${Number(enforcement?.stopped ?? 0)} VMs stopped (or would be, in dry run), ${money(enforcement?.saving)} an hour`,
  );
  const [reconciled] = await ledger.query<{ days: unknown }>(
    `SELECT COUNT(*) AS days FROM \`\${dataset}.billing_reconciliation\` WHERE billed_cost > 0`,
  );
  const days = Number(reconciled?.days ?? 0);
  print(
    days > 0
      ? `  billing_reconciliation: ${days} project-days compared with the Cloud Billing export`
      : '  billing_reconciliation: nothing billed yet (npm run looker-studio -- --billing-export points it at the export)',
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(lookerStudioCli, process.argv.slice(2));
}
