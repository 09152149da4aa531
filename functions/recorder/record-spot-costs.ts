import { performance } from 'node:perf_hooks';
import type { ComputeFleet } from '../adapters/compute.js';
import type { UptimeReader, UptimeSample } from '../adapters/monitoring.js';
import type { Notifier } from '../adapters/slack.js';
import { HOUR_MS, type Clock } from '../core/clock.js';
import { settleAll } from '../core/concurrency.js';
import { isTransient } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { PricedMachine, PriceSource } from '../core/pricing.js';
import type { Vm } from '../core/vm.js';
import type { PriceQuote, PricingEngine } from '../pricing/price-lookup.js';
import { alertMessage } from './alert-message.js';
import { planAlerts, type SpotAlert } from './plan-alerts.js';
import {
  machineKeyOf,
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
import { TABLES, type SpotCostLedger } from './spot-cost-ledger.js';
import { planInventorySnapshots, type AttributesSource } from './vm-attributes.js';

/**
 * recordSpotCosts, carried out: read uptime (one paged listTimeSeries per project) and the
 * inventory (one paged aggregatedList per project) for the catch-up window, price every VM hour,
 * write the rows the ledger does not have yet (batched, keyed), snapshot the inventory, and
 * raise Spot-spend alerts. A project that cannot be read is reported and the others recorded.
 */
export interface RecorderDeps {
  fleet: Pick<ComputeFleet, 'listAll'>;
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
  insertRequests: number;
  alerts: { raised: number; posted: number; failed: number };
  /** When the catalog prices in use were loaded; whether the last attempt to load them worked. */
  pricing: { catalogLoadedAt: string | null; catalogReachable: boolean };
  failures: ProjectFailure[];
  durationMs: number;
  /** Where the time went: reading projects and the ledger, pricing, writing, alerting. */
  phasesMs: { read: number; price: number; write: number; alert: number };
}

interface ProjectRead {
  project: string;
  samples: UptimeSample[];
  vms: Vm[];
}

function costTotals(rows: readonly CostRow[]): CostTotal[] {
  const totals = new Map<
    string,
    { model: string; currency: string; rows: number; cost?: number; onDemand?: number }
  >();
  for (const row of rows) {
    const key = `${row.provisioningModel}|${row.currency}`;
    const t = totals.get(key) ?? { model: row.provisioningModel, currency: row.currency, rows: 0 };
    t.rows++;
    if (row.cost !== undefined) t.cost = (t.cost ?? 0) + row.cost;
    if (row.onDemandCost !== undefined) t.onDemand = (t.onDemand ?? 0) + row.onDemandCost;
    totals.set(key, t);
  }
  return [...totals.values()]
    .sort((a, b) => a.model.localeCompare(b.model) || a.currency.localeCompare(b.currency))
    .map((t) => ({
      provisioningModel: t.model,
      currency: t.currency,
      rows: t.rows,
      cost: toNumeric(t.cost),
      onDemandCost: toNumeric(t.onDemand),
    }));
}

function groupByHour(rows: readonly CostRow[]): Map<string, CostRow[]> {
  const hours = new Map<string, CostRow[]>();
  for (const row of rows) {
    const iso = row.hour.toISOString();
    const list = hours.get(iso);
    if (list) list.push(row);
    else hours.set(iso, [row]);
  }
  return new Map([...hours].sort(([a], [b]) => a.localeCompare(b)));
}

function countBy<K extends string>(keys: readonly K[], values: readonly K[]): Record<K, number> {
  const out = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  for (const v of values) out[v]++;
  return out;
}

export function makeRecorder(deps: RecorderDeps, config: RecorderConfig) {
  const { clock, logger } = deps;
  const concurrency = config.concurrency ?? 4;

  const readProjects = async (
    start: Date,
    end: Date,
  ): Promise<{ reads: ProjectRead[]; failures: ProjectFailure[] }> => {
    const outcomes = await settleAll(config.projects, concurrency, async (project) => {
      const [uptime, vms] = await Promise.all([
        deps.uptime.hourly(project, start, end),
        deps.fleet.listAll(project),
      ]);
      return { project, samples: uptime.samples, vms };
    });
    const reads: ProjectRead[] = [];
    const failures: ProjectFailure[] = [];
    outcomes.forEach((outcome, i) => {
      const project = config.projects[i] as string;
      if (outcome.status === 'fulfilled') {
        reads.push(outcome.value);
        return;
      }
      const failure = { project, retryable: isTransient(outcome.reason) };
      failures.push(failure);
      logger.error('Could not read the project; its hours are recorded by a later run', {
        project,
        retryable: failure.retryable,
        error: outcome.reason,
      });
    });
    return { reads, failures };
  };

  const quoteAll = async (machines: readonly PricedMachine[]): Promise<Map<string, PriceQuote>> => {
    const outcomes = await settleAll(machines, 16, (m) => deps.pricing.quote(m));
    const quotes = new Map<string, PriceQuote>();
    outcomes.forEach((outcome, i) => {
      const machine = machines[i] as PricedMachine;
      if (outcome.status === 'fulfilled') quotes.set(machineKeyOf(machine), outcome.value);
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
      let ts: string | undefined;
      try {
        const message = alertMessage(new Date(iso), hourAlerts, config.viewUrl);
        ts = (await deps.notifier.post(message))?.ts;
        // Without Slack configured the notifier only logs the message.
        if (deps.notifier.enabled) posted++;
      } catch (error) {
        // Not recorded, so the next run (the hour is still in its window) tries again.
        failed++;
        logger.error('Could not post the Spot spend alert; a later run retries it', {
          hour: iso,
          error,
        });
        continue;
      }
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
      const [{ reads, failures }, recorded, inventory, history, sent] = await Promise.all([
        readProjects(window.start, window.end),
        deps.ledger.recordedRows(config.projects, window.start, window.end),
        deps.ledger.latestInventory(config.projects, clock.now()),
        deps.ledger.spotSpend(config.projects, historyStart, window.end),
        deps.ledger.sentAlerts(window.start, window.end),
      ]);

      const readDone = performance.now();
      const samples = reads.flatMap((r) => r.samples);
      const vms = reads.flatMap((r) => r.vms);
      const attributes = resolveAttributes(samples, vms, inventory);
      const quotes = await quoteAll(machinesToQuote(attributes));
      const rows = planCostRows(samples, attributes, quotes, config.currency);
      const written = rowsToWrite(rows, recorded);
      const priceDone = performance.now();

      const recordedAt = clock.now();
      const snapshots = planInventorySnapshots(vms, inventory, recordedAt);
      const inventoryInsert = await deps.ledger.insert(TABLES.inventory, snapshots);
      const costInsert = await deps.ledger.insert(
        TABLES.costs,
        written.map((row) => toLedgerRow(row, recordedAt)),
      );

      const writeDone = performance.now();
      for (const [hour, hourRows] of groupByHour(written)) {
        logger.info('Recorded hour', {
          hour,
          rows: hourRows.length,
          costs: costTotals(hourRows),
          priceSources: countBy(
            ['catalog', 'price-book', 'unknown'],
            hourRows.map((r) => r.priceSource),
          ),
        });
      }

      const alerts = planAlerts({
        hours: window.hours,
        rows,
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
        hoursRecorded: [...groupByHour(written).keys()],
        rows: {
          seen: rows.length,
          written: written.length,
          unchanged: rows.length - written.length,
        },
        costByProvisioningModel: costTotals(written),
        priceSources: countBy(
          ['catalog', 'price-book', 'unknown'],
          written.map((r) => r.priceSource),
        ),
        attributeSources: countBy(
          ['compute', 'inventory', 'monitoring'],
          written.map((r) => r.attributes.source),
        ),
        inventorySnapshots: snapshots.length,
        insertRequests: inventoryInsert.requests + costInsert.requests + alerting.requests,
        alerts: { raised: alerts.length, posted: alerting.posted, failed: alerting.failed },
        pricing: {
          catalogLoadedAt: status.catalogLoadedAt ?? null,
          catalogReachable: status.lastCatalogError === undefined,
        },
        failures,
        durationMs: Math.round(alertDone - began),
        phasesMs: {
          read: Math.round(readDone - began),
          price: Math.round(priceDone - readDone),
          write: Math.round(writeDone - priceDone),
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
        durationMs: summary.durationMs,
        phasesMs: summary.phasesMs,
      });
      return summary;
    },
  };
}

export type Recorder = ReturnType<typeof makeRecorder>;
