/**
 * The recorder's tables in the ledger: what is already recorded for a window, the last inventory
 * snapshot of each VM, Spot spend per hour and team, alerts already raised, the load jobs of cost
 * rows and snapshots, and the keyed inserts of alerts. Each read covers every project at once and
 * filters the base tables on their partition column before ranking versions, so BigQuery scans
 * only the partitions of the window.
 */
import { z } from 'zod';
import { LoadRows, type KeyedRow, type Ledger, type TextRow } from '../adapters/bigquery.js';
import { HOUR_MS } from '../core/clock.js';
import { errorMessage, httpStatusOf, PermanentError } from '../core/errors.js';
import { PRICE_SOURCES } from '../core/pricing.js';
import { PROVISIONING_MODELS, type AttachedGpu } from '../core/vm.js';
import type { HourSpend, SpotAlert } from './plan-alerts.js';
import type { TeamPreemptions } from './preemption-digest.js';
import { toLedgerRow, toNumeric, type CostRow, type RecordedVersion } from './plan-cost-rows.js';
import { instanceKey, type InventoryHistory, type InventorySnapshot } from './vm-attributes.js';

export const TABLES = {
  costs: 'spot_costs',
  inventory: 'vm_inventory',
  alerts: 'spot_cost_alerts',
  costView: 'spot_cost_hours',
} as const;

/**
 * A VM's snapshot is written again once it is this old, even unchanged, so every VM seen by a run
 * has a snapshot younger than this; the inventory read therefore looks back only this far (plus
 * the hourly schedule and a margin) from the start of the hours being recorded.
 */
export const SNAPSHOT_REFRESH_MS = 20 * HOUR_MS;
export const INVENTORY_LOOKBACK_MS = 24 * HOUR_MS;

/**
 * Rows per page of the reads that grow with the fleet (a snapshot or a cost row per VM, read as
 * text): a page of snapshots is about 1.5 MB of JSON, a page of recorded versions about 1 MB.
 */
const INVENTORY_PAGE_ROWS = 2_500;
const RECORDED_PAGE_ROWS = 10_000;

const recordedRow = z.object({
  row_key: z.string(),
  uptime_seconds: z.coerce.number(),
  price_source: z.enum(PRICE_SOURCES),
});

const gpuList = z.array(z.object({ type: z.string(), count: z.number().int().nonnegative() }));
const labelMap = z.record(z.string(), z.string());

const inventoryRow = z.object({
  project_id: z.string(),
  zone: z.string(),
  instance_id: z.string(),
  instance_name: z.string(),
  machine_type: z.string(),
  provisioning_model: z.enum(PROVISIONING_MODELS),
  termination_action: z.enum(['STOP', 'DELETE']).nullable(),
  gpus: z.string().nullable(),
  labels: z.string().nullable(),
  fingerprint: z.string(),
  recorded_at_text: z.string().datetime(),
});

const digestRow = z.object({
  team: z.string().nullable(),
  preemptions: z.coerce.number(),
  lost_hours: z.coerce.number().nullable(),
  lost_cost: z.coerce.number().nullable(),
  currency: z.string().nullable(),
});

const spendRow = z.object({
  usage_hour_text: z.string(),
  team: z.string().nullable(),
  spend: z.coerce.number(),
});

function json<T>(text: string | null, schema: z.ZodType<T>, fallback: T): T {
  if (text === null) return fallback;
  const parsed = schema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : fallback;
}

// Timestamps go as Date values: the client drops a string given the TIMESTAMP type.

/** `project_id IN (@p0, @p1, ...)` with its parameters: portable and never spliced text. */
export function projectFilter(projects: readonly string[]): {
  sql: string;
  params: Record<string, string>;
} {
  const params = Object.fromEntries(projects.map((p, i) => [`p${i}`, p]));
  return { sql: `project_id IN (${projects.map((_, i) => `@p${i}`).join(', ')})`, params };
}

export class SpotCostLedger {
  constructor(private readonly ledger: Pick<Ledger, 'query' | 'queryPages' | 'insert' | 'load'>) {}

  /** A query; a table or view that does not exist is a permanent error naming the fix. */
  private query(
    sql: string,
    params: Record<string, unknown>,
    types: Record<string, string>,
  ): Promise<Array<Record<string, unknown>>> {
    return this.read(() => this.ledger.query(sql, params, types));
  }

  /** The same, with the rows handed over page by page as text. */
  private async queryPages(
    sql: string,
    params: Record<string, unknown>,
    types: Record<string, string>,
    pageRows: number,
    onPage: (rows: TextRow[]) => void,
  ): Promise<void> {
    await this.read(() => this.ledger.queryPages(sql, params, types, pageRows, onPage));
  }

  private async read<T>(query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (error) {
      const status = httpStatusOf(error);
      const missing = /not found|does not exist/i.test(errorMessage(error));
      if (status === 404 || (status === 400 && missing)) {
        throw new PermanentError(
          `The cost ledger tables are missing or incomplete; run the ledger migration (${errorMessage(error)})`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  async recordedRows(
    projects: readonly string[],
    start: Date,
    end: Date,
  ): Promise<Map<string, RecordedVersion>> {
    const filter = projectFilter(projects);
    const out = new Map<string, RecordedVersion>();
    await this.queryPages(
      `SELECT row_key, uptime_seconds, price_source
       FROM (
         SELECT row_key, uptime_seconds, price_source,
           ROW_NUMBER() OVER (PARTITION BY row_key ORDER BY recorded_at DESC, uptime_seconds DESC) AS version_rank
         FROM \`\${dataset}.${TABLES.costs}\`
         WHERE usage_hour >= @start AND usage_hour < @end AND ${filter.sql}
       )
       WHERE version_rank = 1`,
      { start, end, ...filter.params },
      { start: 'TIMESTAMP', end: 'TIMESTAMP' },
      RECORDED_PAGE_ROWS,
      (rows) => {
        for (const raw of rows) {
          const row = recordedRow.parse(raw);
          out.set(row.row_key, {
            uptimeSeconds: row.uptime_seconds,
            priceSource: row.price_source,
          });
        }
      },
    );
    return out;
  }

  /**
   * Every snapshot of the projects' VMs written from a day before the window's start (the
   * lookback) until now, oldest first per instance: the
   * attributes each VM had over time, so an hour is priced with the shape it had then.
   */
  async inventoryHistory(
    projects: readonly string[],
    windowStart: Date,
    now: Date,
  ): Promise<InventoryHistory> {
    const filter = projectFilter(projects);
    const out = new Map<string, InventorySnapshot[]>();
    // Most VMs share their label set and GPU list: each distinct text is parsed and held once.
    const labelSets = new Map<string, Record<string, string>>();
    const gpuLists = new Map<string, AttachedGpu[]>();
    const shared = <T>(texts: Map<string, T>, text: string | null, parse: () => T): T => {
      if (text === null) return parse();
      let value = texts.get(text);
      if (value === undefined) {
        value = parse();
        texts.set(text, value);
      }
      return value;
    };
    const addPage = (rows: ReadonlyArray<Record<string, unknown>>): void => {
      for (const raw of rows) {
        const row = inventoryRow.parse(raw);
        const key = instanceKey(row.project_id, row.instance_id);
        const list = out.get(key) ?? [];
        list.push({
          project: row.project_id,
          zone: row.zone,
          instanceId: row.instance_id,
          instanceName: row.instance_name,
          machineType: row.machine_type,
          provisioningModel: row.provisioning_model,
          terminationAction: row.termination_action ?? undefined,
          gpus: shared(gpuLists, row.gpus, () => json(row.gpus, gpuList, [])),
          labels: shared(labelSets, row.labels, () => json(row.labels, labelMap, {})),
          fingerprint: row.fingerprint,
          recordedAt: new Date(row.recorded_at_text),
        });
        out.set(key, list);
      }
    };
    await this.queryPages(
      `SELECT project_id, zone, instance_id, instance_name, machine_type, provisioning_model,
         termination_action, TO_JSON_STRING(gpus) AS gpus, TO_JSON_STRING(labels) AS labels, fingerprint,
         FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%SZ', recorded_at) AS recorded_at_text
       FROM \`\${dataset}.${TABLES.inventory}\`
       WHERE recorded_at >= @since AND recorded_at <= @now AND ${filter.sql}
       ORDER BY project_id, instance_id, recorded_at, snapshot_key`,
      { since: new Date(windowStart.getTime() - INVENTORY_LOOKBACK_MS), now, ...filter.params },
      { since: 'TIMESTAMP', now: 'TIMESTAMP' },
      INVENTORY_PAGE_ROWS,
      addPage,
    );
    return out;
  }

  /** Recorded Spot spend per hour and team in [start, end). */
  async spotSpend(projects: readonly string[], start: Date, end: Date): Promise<HourSpend[]> {
    const filter = projectFilter(projects);
    const rows = await this.query(
      `SELECT FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%SZ', usage_hour) AS usage_hour_text, team,
         CAST(SUM(cost) AS STRING) AS spend
       FROM \`\${dataset}.${TABLES.costView}\`
       WHERE usage_hour >= @start AND usage_hour < @end AND ${filter.sql}
         AND provisioning_model IN ('SPOT', 'PREEMPTIBLE') AND cost IS NOT NULL
       GROUP BY usage_hour_text, team`,
      { start, end, ...filter.params },
      { start: 'TIMESTAMP', end: 'TIMESTAMP' },
    );
    return rows.map((raw) => {
      const row = spendRow.parse(raw);
      return {
        hour: new Date(row.usage_hour_text).toISOString(),
        team: row.team ?? undefined,
        spend: row.spend,
      };
    });
  }

  async sentAlerts(start: Date, end: Date): Promise<Set<string>> {
    const rows = await this.query(
      `SELECT alert_key FROM \`\${dataset}.${TABLES.alerts}\`
       WHERE usage_hour >= @start AND usage_hour < @end`,
      { start, end },
      { start: 'TIMESTAMP', end: 'TIMESTAMP' },
    );
    return new Set(rows.map((raw) => z.object({ alert_key: z.string() }).parse(raw).alert_key));
  }

  /**
   * The alerts of one hour, with where Slack put them (a channel without Slack configured is
   * not recorded); keyed by hour and scope, so an alert is recorded once.
   */
  async recordAlerts(
    hour: Date,
    alerts: readonly SpotAlert[],
    delivery: { readonly channel: string | undefined; readonly ts: string | undefined },
    recordedAt: Date,
  ): Promise<{ requests: number }> {
    const rows = alerts.map((a) => ({
      key: a.key,
      row: {
        alert_key: a.key,
        usage_hour: hour.toISOString(),
        scope: a.scope,
        team: a.team ?? null,
        reasons: a.reasons.join(','),
        spend: toNumeric(a.spend),
        hourly_limit: toNumeric(a.limit),
        trailing_average: toNumeric(a.trailingAverage),
        spike_multiple: a.spikeMultiple ?? null,
        currency: a.currency,
        top_vms: JSON.stringify(a.topVms),
        slack_channel: delivery.channel ?? null,
        slack_ts: delivery.ts ?? null,
        recorded_at: recordedAt.toISOString(),
      },
    }));
    const { requests } = await this.ledger.insert(TABLES.alerts, rows);
    return { requests };
  }

  /**
   * The preemption digest of one UTC day in one read: whether it was posted already (its key in
   * the alerts table), and the day's preemptions per team as `preemptions_by_team` counts them.
   */
  /** The day's preemptions per team, as `preemptions_by_team` holds them. */
  async preemptionDigest(day: Date): Promise<TeamPreemptions[]> {
    const rows = await this.query(
      `SELECT team, preemptions, lost_hours, lost_cost, currency
       FROM \`\${dataset}.preemptions_by_team\` WHERE day = DATE(@day)
       ORDER BY team`,
      { day },
      { day: 'TIMESTAMP' },
    );
    return rows.map((raw) => {
      const row = digestRow.parse(raw);
      return {
        team: row.team ?? undefined,
        preemptions: row.preemptions,
        lostHours: row.lost_hours ?? 0,
        lostCost: row.lost_cost ?? undefined,
        currency: row.currency ?? undefined,
      };
    });
  }

  /**
   * The day's preemption digest as Slack took it (or, for a day without preemptions, that there
   * was nothing to post), in the alerts table under the day's key (its first hour, scope
   * `preemptions`), so that later runs find it with `sentAlerts` and read the day no more.
   */
  async recordDigest(
    digest: {
      readonly key: string;
      readonly day: Date;
      readonly teams: readonly TeamPreemptions[];
    },
    delivery: { readonly channel: string | undefined; readonly ts: string | undefined },
    recordedAt: Date,
  ): Promise<void> {
    const lostCost = digest.teams.reduce((sum, t) => sum + (t.lostCost ?? 0), 0);
    const currency = digest.teams.find((t) => t.currency !== undefined)?.currency;
    await this.ledger.insert(TABLES.alerts, [
      {
        key: digest.key,
        row: {
          alert_key: digest.key,
          usage_hour: digest.day.toISOString(),
          scope: 'preemptions',
          team: null,
          reasons: 'preemption-digest',
          spend: toNumeric(lostCost),
          hourly_limit: null,
          trailing_average: null,
          spike_multiple: null,
          currency: currency ?? '',
          top_vms: JSON.stringify(digest.teams),
          slack_channel: delivery.channel ?? null,
          slack_ts: delivery.ts ?? null,
          recorded_at: recordedAt.toISOString(),
        },
      },
    ]);
  }

  /**
   * A run's cost rows and snapshots: one load job per table. Snapshots first: a run that fails
   * between the two loads re-writes its cost rows, and finds the snapshots it already wrote.
   */
  async write(run: RunWrites): Promise<{ uploads: number }> {
    const inventory = await this.ledger.load(TABLES.inventory, run.snapshots);
    const costs = await this.ledger.load(TABLES.costs, run.costs);
    return { uploads: inventory.uploads + costs.uploads };
  }
}

/**
 * What a run writes, gathered project by project as JSON lines, so that memory holds rows
 * rather than every project's VMs until the load jobs.
 */
export class RunWrites {
  readonly costs = new LoadRows();
  readonly snapshots = new LoadRows();

  constructor(private readonly recordedAt: Date) {}

  add(costs: readonly CostRow[], snapshots: readonly KeyedRow[]): void {
    this.costs.add(costs.map((row) => toLedgerRow(row, this.recordedAt)));
    this.snapshots.add(snapshots);
  }
}
