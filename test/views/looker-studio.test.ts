import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationFiles } from '../../functions/adapters/bigquery.js';
import {
  aliasOf,
  LOOKER_VIEWS,
  lookerStudioCli,
  lookerStudioUrl,
  lookerViewsIn,
  previewCostViews,
} from '../../deploy/looker-studio.js';
import { ledgerObjects } from '../../deploy/summary.js';
import { SQL_ROOT, ViewLedger } from './view-ledger.js';

// The Looker Studio side: the Linking API URL for a deployed dataset, the command that prints
// it, and the catalogue of data sources kept in step with the SQL and the README section.
function params(url: string): URLSearchParams {
  const parsed = new URL(url);
  expect(`${parsed.origin}${parsed.pathname}`).toBe(
    'https://lookerstudio.google.com/reporting/create',
  );
  return parsed.searchParams;
}

async function cli(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await lookerStudioCli(argv, {
    env: {},
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { code, out, err };
}

/** The document's list items ("- ..."), each with its wrapped lines joined by a space. */
function listItems(doc: string): string[] {
  const items: string[] = [];
  let open = false;
  for (const line of doc.split('\n')) {
    if (line.startsWith('- ')) items.push(line);
    else if (open && line.startsWith('  ')) items[items.length - 1] += ` ${line.trim()}`;
    open = line.startsWith('- ') || (open && line.startsWith('  '));
  }
  return items;
}

describe('Looker Studio Linking API URL', () => {
  it('opens a blank report in edit mode with one BigQuery data source per view', () => {
    const p = params(lookerStudioUrl({ project: 'acme-costs', dataset: 'costguard' }));
    expect(p.get('c.mode')).toBe('edit');
    expect(p.has('c.reportId')).toBe(false);
    expect(p.get('r.reportName')).toBe('costguard costs (costguard)');
    LOOKER_VIEWS.forEach((view, i) => {
      expect(
        ['connector', 'type', 'projectId', 'datasetId', 'tableId', 'datasourceName'].map((k) =>
          p.get(`ds.ds${i}.${k}`),
        ),
      ).toEqual([
        'bigQuery',
        'TABLE',
        'acme-costs',
        'costguard',
        view.name,
        `costguard ${view.name}`,
      ]);
    });
    expect([...p.keys()].filter((k) => k.startsWith('ds.')).length).toBe(LOOKER_VIEWS.length * 6);
  });

  it('fills a template report: each view keeps its alias, whatever the selection', () => {
    const p = params(
      lookerStudioUrl({
        project: 'acme-costs',
        dataset: 'finops',
        views: ['billing_reconciliation', 'cost_daily'],
        reportId: '0f6d1c5e-4b1a-4c8e-9a51-7f3e2d1b0c9a',
        reportName: 'Spot costs & savings',
      }),
    );
    expect(p.get('c.reportId')).toBe('0f6d1c5e-4b1a-4c8e-9a51-7f3e2d1b0c9a');
    expect(p.has('c.mode')).toBe(false);
    expect(p.get('r.reportName')).toBe('Spot costs & savings');
    expect(p.get('ds.ds0.tableId')).toBe('cost_daily');
    expect(p.get('ds.ds8.tableId')).toBe('billing_reconciliation');
    expect(p.get('ds.ds8.datasetId')).toBe('finops');
    expect([...p.keys()].filter((k) => k.endsWith('.tableId'))).toEqual([
      'ds.ds0.tableId',
      'ds.ds8.tableId',
    ]);
  });

  it.each([
    {
      target: { project: 'Acme', dataset: 'costguard' },
      message: '--project: expected a Google Cloud project id',
    },
    {
      target: { project: 'acme-costs', dataset: 'cost-guard' },
      message: '--dataset: expected a BigQuery dataset id',
    },
    {
      target: { project: 'acme-costs', dataset: 'costguard', reportId: 'x&ds.ds0.projectId=evil' },
      message: '--report-id: expected a Looker Studio report id',
    },
    {
      target: { project: 'acme-costs', dataset: 'costguard', views: ['runs'] },
      message: '--view: expected one of',
    },
  ])('refuses $target', ({ target, message }) => {
    expect(() => lookerStudioUrl(target)).toThrow(message);
  });

  it('links every view the migration creates, in alias order', () => {
    const created = ledgerObjects(migrationFiles(SQL_ROOT));
    expect(lookerViewsIn(created.views)).toEqual(LOOKER_VIEWS.map((v) => v.name));
    expect(lookerViewsIn(['vm_inventory_latest', 'spot_cost_hours', 'cost_daily'])).toEqual([
      'cost_daily',
      'spot_cost_hours',
    ]);
    expect(aliasOf('spot_cost_hours')).toBe('ds9');
    expect(aliasOf('cap_status')).toBe('ds10');
    expect(
      ['preemption_rate_daily', 'preemptions_by_team', 'run_attempts'].map((v) => aliasOf(v)),
    ).toEqual(['ds13', 'ds14', 'ds15']);
    expect(aliasOf('sustained_use_discounts_monthly')).toBe('ds12');
    expect(() => aliasOf('preemption_events')).toThrow('--view: expected one of');
  });
});

describe('npm run looker-studio', () => {
  it('prints the data sources with their date dimension and the URL', async () => {
    const { code, out, err } = await cli([
      '--project',
      'acme-costs',
      '--view',
      'cost_daily',
      '--view',
      'run_costs',
    ]);
    expect({ code, err }).toEqual({ code: 0, err: [] });
    expect(out.slice(0, 4)).toEqual([
      'Looker Studio data sources on acme-costs:costguard (alias, view, date range dimension):',
      '  ds0  cost_daily                    usage_date',
      '  ds4  run_costs                     requested_date',
      'Open this URL to create the report (Looker Studio Linking API):',
    ]);
    const p = params((out[4] ?? '').trim());
    expect([p.get('ds.ds0.tableId'), p.get('ds.ds4.tableId')]).toEqual(['cost_daily', 'run_costs']);
    expect(out).toHaveLength(5);
  });

  it('prints the bq command that points billing_export at the Cloud Billing export', async () => {
    const { code, out } = await cli([
      '--project',
      'acme-costs',
      '--dataset',
      'finops',
      '--bq-location',
      'EU',
      '--billing-export',
      'acme-billing.billing_export.gcp_billing_export_v1_01D4EE_079462_DFD6EC',
    ]);
    expect(code).toBe(0);
    expect(out.at(-2)).toBe(
      'Point billing_export at the Cloud Billing export (once; later migrations keep it):',
    );
    const command = out.at(-1) ?? '';
    expect(command).toMatch(
      /^ {2}bq --project_id=acme-costs --location=EU query --use_legacy_sql=false \$'CREATE OR REPLACE VIEW `finops\.billing_export` AS\\n/,
    );
    expect(command).toContain(
      'FROM `acme-billing.billing_export.gcp_billing_export_v1_01D4EE_079462_DFD6EC`',
    );
  });

  it.each([
    { argv: [], message: '--project is required' },
    { argv: ['--project', 'acme-costs', '--colour', 'red'], message: "Unknown option '--colour'" },
    {
      argv: ['--project', 'acme-costs', '--billing-export', 'gcp_billing_export_v1_X'],
      message: '--billing-export: expected PROJECT.DATASET.TABLE',
    },
    {
      argv: ['--project', 'acme-costs', '--bq-location', 'moon base'],
      message: '--bq-location: expected',
    },
    {
      argv: ['--project', 'acme-costs', '--view', 'spot_costs'],
      message: '--view: expected one of',
    },
  ])('refuses $argv with the usage and exit code 2, printing no URL', async ({ argv, message }) => {
    const { code, out, err } = await cli(argv);
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err[0]).toContain(message);
    expect(err[1]).toMatch(/^Usage: npm run looker-studio -- --project P/);
  });
});

describe('Looker Studio data sources', () => {
  let ledger: ViewLedger;

  beforeAll(async () => {
    ledger = await ViewLedger.create({ empty: true });
  });
  afterAll(() => ledger.close());

  it.each(LOOKER_VIEWS)('$name has its date column, metrics and ratios', async (view) => {
    const names = (await ledger.fields(view.name)).map((f) => f.name);
    expect(names).toEqual(
      expect.arrayContaining([
        view.dateColumn,
        ...view.metrics,
        ...view.ratios.map((r) => r.field),
      ]),
    );
  });

  it('previews an empty ledger without failing', async () => {
    const lines: string[] = [];
    await previewCostViews({ query: (sql) => ledger.rows(sql) as never }, (line) =>
      lines.push(line),
    );
    expect(lines).toEqual([
      '  cost_by_label_daily: no recorded cost yet',
      '  spot_savings_daily: no Spot hours priced yet',
      '  run_costs: 0 runs, 0.00 recorded on their VMs',
      '  label_compliance_share_daily: no label checks yet',
      '  enforcement_periods: 0 VMs stopped (or would be, in dry run), 0.00 an hour',
      '  billing_reconciliation: nothing billed yet (npm run looker-studio -- --billing-export points it at the export)',
    ]);
  });

  it('are documented: view, date range dimension and metrics, and the command', () => {
    const doc = readFileSync(new URL('../../docs/views.md', import.meta.url), 'utf8');
    for (const view of LOOKER_VIEWS) {
      const row = listItems(doc).find((item) => item.startsWith(`- \`${view.name}\`: `));
      expect({ view: view.name, documented: row !== undefined }).toEqual({
        view: view.name,
        documented: true,
      });
      expect(row).toContain(`\`${view.dateColumn}\``);
      expect(view.metrics.filter((metric) => !(row ?? '').includes(metric))).toEqual([]);
    }
    expect(doc).toContain('npm run looker-studio -- --project');
  });

  it('document each ratio with the calculated field that gives it over many rows', () => {
    const doc = readFileSync(new URL('../../docs/views.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('**Ratios.**'), doc.indexOf('What the numbers mean:'));
    const documented = listItems(section).map((item) =>
      /^- `(\w+)`, per-row field (\w+); calculated field over many rows: `(.*)`$/
        .exec(item)
        ?.slice(1),
    );
    expect(documented).toEqual(
      LOOKER_VIEWS.flatMap((view) => view.ratios.map((r) => [view.name, r.field, r.overRows])),
    );
  });
});
