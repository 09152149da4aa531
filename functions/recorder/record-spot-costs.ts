import { performance } from 'node:perf_hooks';
import { LoadRows } from '../adapters/bigquery.js';
import type { ComputeFleet } from '../adapters/compute.js';
import type { UptimeReader } from '../adapters/monitoring.js';
import { postBestEffort, type Notifier } from '../adapters/slack.js';
import { HOUR_MS, type Clock } from '../core/clock.js';
import { settleAll } from '../core/concurrency.js';
import { isTransient } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import {
  PRICE_SOURCES,
  pricedMachineKey,
  type PricedMachine,
  type PriceSource,
} from '../core/pricing.js';
import type { PriceQuote, PricingEngine } from '../pricing/price-lookup.js';
import { alertMessage } from './alert-message.js';
import { isAlertable, planAlerts, type SpotAlert } from './plan-alerts.js';
import {
  machinesToQuote,
  planCostRows,
  resolveAttributes,
  rowsToWrite,
  toLedgerRow,
  toNumeric,
  type CostRow,
} from './plan-cost-rows.js';
import { planWindow } from './plan-window.js';
import type { SpotAlertRules } from './settings.js';
import { SNAPSHOT_REFRESH_MS, TABLES, type SpotCostLedger } from './spot-cost-ledger.js';
import { latestSnapshots, planInventorySnapshots, type AttributesSource } from './vm-attributes.js';

/**
 * recordSpotCosts, carried out: read what the ledger holds for the catch-up window (one query per
 * table for every project), uptime (one paged listTimeSeries per project) and the inventory (one
 * paged aggregatedList per project), price every VM hour, append the rows the ledger does not
 * have yet and the changed snapshots (one load job per table for the whole run), and raise
 * Spot-spend alerts. A project that cannot be read is reported and the others recorded.
 */
export interface RecorderDeps {
  fleet: Pick<ComputeFleet, 'listing'>;
  uptime: Pick<UptimeReader, 'hourly'>;
  pricing: Pick<PricingEngine, 'quote' | 'status'>;
  ledger: SpotCostLedger;
  notifier: Notifier;
  clock: Clock;
  logger: Logger;
}

export interface RecorderConfig {
  projects: readonly string[];
  catchUpHours: number;
  settleMinutes: number;
  currency: string;
  alerts: SpotAlertRules;
  /** Linked from alerts: the dashboard, or the spot_cost_hours view in the console. */
  viewUrl: string;
  slackChannel: string | undefined;
  /** Projects read at once (default 4). */
  concurrency?: number;
}

export interface RecordRequest {
  /** Overrides the configured catch-up window for this run (a manual backfill). */
  catchUpHours?: number;
}

/**
 * Zones of a project Compute could not list: their VMs' hours are not recorded by this run
 * (their labels could not be read) and are left to a later run, whose window still holds them.
 */
export interface ZoneGapSummary {
  project: string;
  zones: string[];
}

/** A project that could not be read; the error itself is in the log, not in the reply. */
export interface ProjectFailure {
  project: string;
  retryable: boolean;
}

export interface CostTotal {
  provisioningModel: string;
  currency: string;
  rows: number;
  cost: string | null;
  onDemandCost: string | null;
}

export interface RecordSummary {
  window: { start: string; end: string };
  /** Hours for which this run wrote at least one row. */
  hoursRecorded: string[];
  rows: { seen: number; written: number; unchanged: number };
  /** Over the rows written by this run. */
  costByProvisioningModel: CostTotal[];
  priceSources: Record<PriceSource, number>;
  attributeSources: Record<AttributesSource, number>;
  inventorySnapshots: number;
  /** Load job uploads and alert insert requests. */
  writeRequests: number;
  alerts: { raised: number; posted: number; failed: number };
  /** When the catalog prices in use were loaded; whether the last attempt to load them worked. */
  pricing: { catalogLoadedAt: string | null; catalogReachable: boolean };
  failures: ProjectFailure[];
  /** Zones that could not be listed; their hours are recorded by a later run. */
  gaps: ZoneGapSummary[];
  durationMs: number;
  /** Where the time went: reading projects and the ledger, pricing, writing, alerting. */
  phasesMs: { read: number; price: number; write: number; alert: number };
}

/** Cost per provisioning model and currency, summed as rows arrive. */
class CostTotals {
  private readonly totals = new Map<
    string,
    { model: string; currency: string; rows: number; cost?: number; onDemand?: number }
  >();

  add(row: CostRow): void {
    const key = `${row.provisioningModel}|${row.currency}`;
    const t = this.totals.get(key) ?? {
      model: row.provisioningModel,
      currency: row.currency,
      rows: 0,
    };
    t.rows++;
    if (row.cost !== undefined) t.cost = (t.cost ?? 0) + row.cost;
    if (row.onDemandCost !== undefined) t.onDemand = (t.onDemand ?? 0) + row.onDemandCost;
    this.totals.set(key, t);
  }

  list(): CostTotal[] {
    return [...this.totals.values()]
      .sort((a, b) => a.model.localeCompare(b.model) || a.currency.localeCompare(b.currency))
      .map((t) => ({
        provisioningModel: t.model,
        currency: t.currency,
        rows: t.rows,
        cost: toNumeric(t.cost),
        onDemandCost: toNumeric(t.onDemand),
      }));
  }
}

const ATTRIBUTE_SOURCES: readonly AttributesSource[] = ['compute', 'inventory', 'monitoring'];

/** What a run wrote, summed over its projects as each finishes, and per hour for the log. */
class RunTotals {
  seen = 0;
  written = 0;
  snapshots = 0;
  requests = 0;
  readonly costs = new CostTotals();
  readonly priceSources = zeroCounts(PRICE_SOURCES);
  readonly attributeSources = zeroCounts(ATTRIBUTE_SOURCES);
  private readonly hours = new Map<
    string,
    { rows: number; costs: CostTotals; priceSources: Record<PriceSource, number> }
  >();

  add(seen: number, written: readonly CostRow[], snapshots: number): void {
    this.seen += seen;
    this.written += written.length;
    this.snapshots += snapshots;
    for (const row of written) {
      this.costs.add(row);
      this.priceSources[row.priceSource]++;
      this.attributeSources[row.attributes.source]++;
      const iso = row.hour.toISOString();
      const hour = this.hours.get(iso) ?? {
        rows: 0,
        costs: new CostTotals(),
        priceSources: zeroCounts(PRICE_SOURCES),
      };
      hour.rows++;
      hour.costs.add(row);
      hour.priceSources[row.priceSource]++;
      this.hours.set(iso, hour);
    }
  }

  /** Hours written, in time order. */
  byHour(): Map<
    string,
    { rows: number; costs: CostTotals; priceSources: Record<PriceSource, number> }
  > {
    return new Map([...this.hours].sort(([a], [b]) => a.localeCompare(b)));
  }
}

function zeroCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

export function makeRecorder(deps: RecorderDeps, config: RecorderConfig) {
  const { clock, logger } = deps;
  const concurrency = config.concurrency ?? 4;

  const quoteAll = async (machines: readonly PricedMachine[]): Promise<Map<string, PriceQuote>> => {
    const outcomes = await settleAll(machines, 16, (m) => deps.pricing.quote(m));
    const quotes = new Map<string, PriceQuote>();
    outcomes.forEach((outcome, i) => {
      const machine = machines[i] as PricedMachine;
      if (outcome.status === 'fulfilled') quotes.set(pricedMachineKey(machine), outcome.value);
      else logger.warn('Could not price a machine', { machine, error: outcome.reason });
    });
    return quotes;
  };

  const raiseAlerts = async (
    alerts: readonly SpotAlert[],
    recordedAt: Date,
  ): Promise<{ posted: number; failed: number; requests: number }> => {
    const byHour = new Map<string, SpotAlert[]>();
    for (const alert of alerts) {
      const iso = alert.hour.toISOString();
      const list = byHour.get(iso);
      if (list) list.push(alert);
      else byHour.set(iso, [alert]);
    }
    let posted = 0;
    let failed = 0;
    let requests = 0;
    for (const [iso, hourAlerts] of byHour) {
      for (const alert of hourAlerts) {
        logger.notice('Spot spend alert', {
          alertKey: alert.key,
          scope: alert.scope,
          reasons: alert.reasons,
          spend: alert.spend,
          limit: alert.limit,
          trailingAverage: alert.trailingAverage,
          currency: alert.currency,
        });
      }
      const post = await postBestEffort(
        deps.notifier,
        logger,
        alertMessage(new Date(iso), hourAlerts, config.viewUrl),
        {
          message: 'Could not post the Spot spend alert; a later run retries it',
          context: { hour: iso },
        },
      );
      if (!post.sent) {
        // Not recorded, so the next run (the hour is still in its window) tries again.
        failed++;
        continue;
      }
      const ts = post.posted?.ts;
      // Without Slack configured the notifier only logs the message.
      if (deps.notifier.enabled) posted++;
      const { requests: made } = await deps.ledger.insert(
        TABLES.alerts,
        hourAlerts.map((a) => ({
          key: a.key,
          row: {
            alert_key: a.key,
            usage_hour: iso,
            scope: a.scope,
            team: a.team ?? null,
            reasons: a.reasons.join(','),
            spend: toNumeric(a.spend),
            hourly_limit: toNumeric(a.limit),
            trailing_average: toNumeric(a.trailingAverage),
            spike_multiple: a.spikeMultiple ?? null,
            currency: a.currency,
            top_vms: JSON.stringify(a.topVms),
            slack_channel: deps.notifier.enabled ? (config.slackChannel ?? null) : null,
            slack_ts: ts ?? null,
            recorded_at: recordedAt.toISOString(),
          },
        })),
      );
      requests += made;
    }
    return { posted, failed, requests };
  };

  return {
    async record(request: RecordRequest = {}): Promise<RecordSummary> {
      const began = performance.now();
      const window = planWindow(clock.now(), {
        catchUpHours: request.catchUpHours ?? config.catchUpHours,
        settleMinutes: config.settleMinutes,
      });
      const historyStart = new Date(window.start.getTime() - 24 * HOUR_MS);
      const recordedAt = clock.now();
      const ledgerRead = performance.now();
      const [history, sent, recorded, inventory] = await Promise.all([
        deps.ledger.spotSpend(config.projects, historyStart, window.end),
        deps.ledger.sentAlerts(window.start, window.end),
        deps.ledger.recordedRows(config.projects, window.start, window.end),
        deps.ledger.inventoryHistory(config.projects, window.start, recordedAt),
      ]);
      // Snapshots this old are written again, so that the next runs' bounded read finds them.
      const current = new Map(
        [...latestSnapshots(inventory)].filter(
          ([, s]) => recordedAt.getTime() - s.recordedAt.getTime() < SNAPSHOT_REFRESH_MS,
        ),
      );

      // Each project is read and priced on its own, so that memory holds a few projects' VMs
      // at a time rather than the whole fleet; what outlives a project is its rows as JSON
      // lines for the load jobs, the Spot rows the alerts need, and running totals.
      const totals = new RunTotals();
      const spotRows: CostRow[] = [];
      const costLines = new LoadRows();
      const snapshotLines = new LoadRows();
      const phases = { read: performance.now() - ledgerRead, price: 0, write: 0 };
      const gaps: ZoneGapSummary[] = [];
      const outcomes = await settleAll(config.projects, concurrency, async (project) => {
        const started = performance.now();
        const [uptime, listing] = await Promise.all([
          deps.uptime.hourly(project, window.start, window.end),
          deps.fleet.listing(project),
        ]);
        const read = performance.now();
        const vms = listing.vms;
        // A zone Compute could not reach: its VMs' labels are unknown now, so their hours wait
        // for a later run (the catch-up window re-reads them) instead of landing unattributed.
        const unreachable = new Set(listing.gaps.map((g) => g.zone));
        const samples =
          unreachable.size === 0
            ? uptime.samples
            : uptime.samples.filter((sample) => !unreachable.has(sample.zone));
        if (unreachable.size > 0) {
          gaps.push({ project, zones: [...unreachable].sort() });
          logger.error('Zones could not be listed; their hours are recorded by a later run', {
            project,
            zones: [...unreachable].sort(),
            hoursHeldBack: uptime.samples.length - samples.length,
          });
        }
        const attributes = resolveAttributes(samples, vms, inventory);
        const quotes = await quoteAll(machinesToQuote(attributes));
        const rows = planCostRows(samples, attributes, quotes, config.currency);
        const written = rowsToWrite(rows, recorded);
        const snapshots = planInventorySnapshots(vms, current, recordedAt);
        costLines.add(written.map((row) => toLedgerRow(row, recordedAt)));
        snapshotLines.add(snapshots);
        phases.read += read - started;
        phases.price += performance.now() - read;
        totals.add(rows.length, written, snapshots.length);
        for (const row of rows) if (isAlertable(row)) spotRows.push(row);
      });
      // Snapshots first: a run that fails between the two loads re-writes its cost rows, and
      // finds the snapshots it already wrote.
      const writeStarted = performance.now();
      const inventoryLoad = await deps.ledger.load(TABLES.inventory, snapshotLines);
      const costLoad = await deps.ledger.load(TABLES.costs, costLines);
      totals.requests += inventoryLoad.uploads + costLoad.uploads;
      phases.write = performance.now() - writeStarted;
      const failures: ProjectFailure[] = [];
      outcomes.forEach((outcome, i) => {
        if (outcome.status === 'fulfilled') return;
        const project = config.projects[i] as string;
        const failure = { project, retryable: isTransient(outcome.reason) };
        failures.push(failure);
        logger.error('Could not record the project; its hours are recorded by a later run', {
          project,
          retryable: failure.retryable,
          error: outcome.reason,
        });
      });
      const writeDone = performance.now();
      const byHour = totals.byHour();
      for (const [hour, hour_] of byHour) {
        logger.info('Recorded hour', {
          hour,
          rows: hour_.rows,
          costs: hour_.costs.list(),
          priceSources: hour_.priceSources,
        });
      }

      const alerts = planAlerts({
        hours: window.hours,
        rows: spotRows,
        history,
        rules: config.alerts,
        sent,
        currency: config.currency,
      });
      const alerting = await raiseAlerts(alerts, recordedAt);
      const alertDone = performance.now();

      const status = deps.pricing.status();
      const summary: RecordSummary = {
        window: { start: window.start.toISOString(), end: window.end.toISOString() },
        hoursRecorded: [...byHour.keys()],
        rows: {
          seen: totals.seen,
          written: totals.written,
          unchanged: totals.seen - totals.written,
        },
        costByProvisioningModel: totals.costs.list(),
        priceSources: totals.priceSources,
        attributeSources: totals.attributeSources,
        inventorySnapshots: totals.snapshots,
        writeRequests: totals.requests + alerting.requests,
        alerts: { raised: alerts.length, posted: alerting.posted, failed: alerting.failed },
        pricing: {
          catalogLoadedAt: status.catalogLoadedAt ?? null,
          catalogReachable: status.lastCatalogError === undefined,
        },
        failures,
        gaps,
        durationMs: Math.round(alertDone - began),
        // Projects are read and priced a few at a time: read and price are summed over them.
        phasesMs: {
          read: Math.round(phases.read),
          price: Math.round(phases.price),
          write: Math.round(phases.write),
          alert: Math.round(alertDone - writeDone),
        },
      };
      logger.info('Recorded Spot costs', {
        window: summary.window,
        hoursRecorded: summary.hoursRecorded,
        rows: summary.rows,
        priceSources: summary.priceSources,
        attributeSources: summary.attributeSources,
        inventorySnapshots: summary.inventorySnapshots,
        alerts: summary.alerts,
        failedProjects: failures.map((f) => f.project),
        unreachableZones: gaps.flatMap((g) => g.zones.map((z) => `${g.project}/${z}`)),
        durationMs: summary.durationMs,
        phasesMs: summary.phasesMs,
      });
      return summary;
    },
  };
}

export type Recorder = ReturnType<typeof makeRecorder>;
