/**
 * What a run of recordSpotCosts reports, and the running totals it is made from: rows seen and
 * written, cost per provisioning model and currency, where prices and attributes came from, per
 * run and per hour. Pure: totals are summed as each project's rows arrive.
 */
import { isTransient } from '../core/errors.js';
import type { PriceSource } from '../core/pricing.js';
import { PRICE_SOURCES } from '../core/pricing.js';
import { toNumeric, type CostRow } from './plan-cost-rows.js';
import type { AttributesSource } from './vm-attributes.js';

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
export class CostTotals {
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
export class RunTotals {
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

export interface RunPhases {
  /** Reading projects and the ledger, summed over projects read at once. */
  read: number;
  /** Pricing, summed over projects priced at once. */
  price: number;
  write: number;
  alert: number;
}

export interface RunFacts {
  readonly window: { readonly start: Date; readonly end: Date };
  readonly totals: RunTotals;
  readonly alerts: { raised: number; posted: number; failed: number; requests: number };
  readonly pricing: { catalogLoadedAt: string | undefined; lastCatalogError: string | undefined };
  readonly failures: ProjectFailure[];
  readonly gaps: ZoneGapSummary[];
  readonly durationMs: number;
  readonly phasesMs: RunPhases;
}

/** The run's reply and log summary. */
export function recordSummary(run: RunFacts): RecordSummary {
  const { totals, alerts } = run;
  return {
    window: { start: run.window.start.toISOString(), end: run.window.end.toISOString() },
    hoursRecorded: [...totals.byHour().keys()],
    rows: { seen: totals.seen, written: totals.written, unchanged: totals.seen - totals.written },
    costByProvisioningModel: totals.costs.list(),
    priceSources: totals.priceSources,
    attributeSources: totals.attributeSources,
    inventorySnapshots: totals.snapshots,
    writeRequests: totals.requests + alerts.requests,
    alerts: { raised: alerts.raised, posted: alerts.posted, failed: alerts.failed },
    pricing: {
      catalogLoadedAt: run.pricing.catalogLoadedAt ?? null,
      catalogReachable: run.pricing.lastCatalogError === undefined,
    },
    failures: run.failures,
    gaps: run.gaps,
    durationMs: Math.round(run.durationMs),
    phasesMs: {
      read: Math.round(run.phasesMs.read),
      price: Math.round(run.phasesMs.price),
      write: Math.round(run.phasesMs.write),
      alert: Math.round(run.phasesMs.alert),
    },
  };
}

/** Projects whose reading failed; a failure a retry can fix makes the reply ask for one. */
export function projectFailures(
  projects: readonly string[],
  outcomes: readonly PromiseSettledResult<unknown>[],
): Array<ProjectFailure & { readonly error: unknown }> {
  return outcomes.flatMap((outcome, i) =>
    outcome.status === 'rejected'
      ? [
          {
            project: projects[i] as string,
            retryable: isTransient(outcome.reason),
            error: outcome.reason as unknown,
          },
        ]
      : [],
  );
}
