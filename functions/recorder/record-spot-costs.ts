/**
 * recordSpotCosts, carried out: read what the ledger holds for the catch-up window (one query per
 * table for every project), then per project uptime (one paged listTimeSeries) and the inventory
 * (one paged aggregatedList), price every VM hour, and plan the rows the ledger does not have
 * yet (pure planners); write them and the changed snapshots (one load job per table for the
 * whole run); then report: a log line per hour, Spot-spend alerts, the preemption backstop and
 * the daily preemption digest, the run's summary. A project that cannot be read is reported and
 * the others recorded.
 */
import { performance } from 'node:perf_hooks';
import type { ComputeFleet } from '../adapters/compute.js';
import type { UptimeReader } from '../adapters/monitoring.js';
import type { Notifier } from '../adapters/slack.js';
import { HOUR_MS, type Clock } from '../core/clock.js';
import { settleAll } from '../core/concurrency.js';
import type { Logger } from '../core/logger.js';
import { priceMachines } from '../core/pricing.js';
import { isSpotLike } from '../core/vm.js';
import type { PricingEngine } from '../pricing/price-lookup.js';
import { isAlertable, planAlerts } from './plan-alerts.js';
import {
  machinesToQuote,
  planCostRows,
  resolveAttributes,
  rowsToWrite,
  type CostRow,
  type RecordedVersion,
} from './plan-cost-rows.js';
import { planWindow, type RecordingWindow } from './plan-window.js';
import { showsPreemption } from './preemption-signs.js';
import type { PreemptionDigest } from './preemption-digest.js';
import { createAlertReporter } from './raise-alerts.js';
import {
  projectFailures,
  recordSummary,
  RunTotals,
  type RecordRequest,
  type RecordSummary,
  type RunPhases,
  type ZoneGapSummary,
} from './record-summary.js';
import type { SpotAlertRules } from './settings.js';
import { RunWrites, SNAPSHOT_REFRESH_MS, type SpotCostLedger } from './spot-cost-ledger.js';
import {
  latestSnapshots,
  planInventorySnapshots,
  type InventoryHistory,
  type InventorySnapshot,
} from './vm-attributes.js';

export type { RecordRequest, RecordSummary } from './record-summary.js';

export interface RecorderDeps {
  fleet: Pick<ComputeFleet, 'listing'>;
  uptime: Pick<UptimeReader, 'hourly'>;
  pricing: Pick<PricingEngine, 'quote' | 'status'>;
  ledger: SpotCostLedger;
  notifier: Notifier;
  clock: Clock;
  logger: Logger;
  config: RecorderConfig;
  /** The preemption backstop: records the projects' preemptions since a time that events missed. */
  preemptions?: {
    sweep(since: Date, projects: readonly string[]): Promise<{ recorded: readonly string[] }>;
  };
  /** The daily preemption digest to Slack, once the previous day has closed. */
  preemptionDigest?: PreemptionDigest;
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

export interface Recorder {
  record(request?: RecordRequest): Promise<RecordSummary>;
}

/** What a run knows before it reads the projects, and what it gathers from each of them. */
interface RunState {
  readonly window: RecordingWindow;
  readonly recordedAt: Date;
  readonly recorded: Map<string, RecordedVersion>;
  readonly inventory: InventoryHistory;
  /** Each VM's latest snapshot, where it is recent enough not to be written again. */
  readonly current: Map<string, InventorySnapshot>;
  readonly totals: RunTotals;
  readonly writes: RunWrites;
  /** The Spot rows the alerts look at. */
  readonly spotRows: CostRow[];
  /** Per project, the Spot VMs its last snapshots hold: Compute listing one no more is a sign. */
  readonly lastSeenSpot: Map<string, string[]>;
  /** Projects whose listing shows no preemption since the window's start: the backstop skips them. */
  readonly quiet: Set<string>;
  readonly gaps: ZoneGapSummary[];
  readonly phases: RunPhases;
}

export function createRecorder(deps: RecorderDeps): Recorder {
  const { clock, logger, ledger, config } = deps;
  const raiseAlerts = createAlertReporter({ ...deps, config });

  /**
   * One project read, priced and planned on its own, so that memory holds a few projects' VMs
   * at a time; what outlives it is its rows as JSON lines, its Spot rows and running totals.
   */
  async function recordProject(project: string, run: RunState): Promise<void> {
    const { window, recordedAt } = run;
    const started = performance.now();
    const [uptime, listing] = await Promise.all([
      deps.uptime.hourly(project, window.start, window.end),
      deps.fleet.listing(project),
    ]);
    const read = performance.now();
    // A zone Compute could not reach: its VMs' labels are unknown now, so their hours wait
    // for a later run (the catch-up window re-reads them) instead of landing unattributed.
    const unreachable = new Set(listing.gaps.map((g) => g.zone));
    const samples =
      unreachable.size === 0
        ? uptime.samples
        : uptime.samples.filter((sample) => !unreachable.has(sample.zone));
    if (unreachable.size > 0) {
      run.gaps.push({ project, zones: [...unreachable].sort() });
      logger.error('Zones could not be listed; their hours are recorded by a later run', {
        project,
        zones: [...unreachable].sort(),
        hoursHeldBack: uptime.samples.length - samples.length,
      });
    }
    const known = function* (): Generator<string> {
      for (const sample of uptime.samples) yield sample.instanceId;
      yield* run.lastSeenSpot.get(project) ?? [];
    };
    if (!showsPreemption(listing.vms, known(), window.start)) run.quiet.add(project);
    const attributes = resolveAttributes(samples, listing.vms, run.inventory);
    const quotes = await priceMachines(
      machinesToQuote(attributes),
      (machine) => deps.pricing.quote(machine),
      (machine, error) => logger.warn('Could not price a machine', { machine, error }),
    );
    const rows = planCostRows(samples, attributes, quotes, config.currency);
    const written = rowsToWrite(rows, run.recorded);
    const snapshots = planInventorySnapshots(listing.vms, run.current, recordedAt);
    run.writes.add(written, snapshots);
    run.totals.add(rows.length, written, snapshots.length);
    for (const row of rows) if (isAlertable(row)) run.spotRows.push(row);
    run.phases.read += read - started;
    run.phases.price += performance.now() - read;
  }

  return {
    async record(request = {}) {
      const began = performance.now();
      const window = planWindow(clock.now(), {
        catchUpHours: request.catchUpHours ?? config.catchUpHours,
        settleMinutes: config.settleMinutes,
      });
      const recordedAt = clock.now();
      const historyStart = new Date(window.start.getTime() - 24 * HOUR_MS);
      const [history, sent, recorded, inventory] = await Promise.all([
        ledger.spotSpend(config.projects, historyStart, window.end),
        ledger.sentAlerts(window.start, window.end),
        ledger.recordedRows(config.projects, window.start, window.end),
        ledger.inventoryHistory(config.projects, window.start, recordedAt),
      ]);
      const latest = latestSnapshots(inventory);
      // Snapshots this old are written again, so that the next runs' bounded read finds them.
      const current = new Map(
        [...latest].filter(
          ([, s]) => recordedAt.getTime() - s.recordedAt.getTime() < SNAPSHOT_REFRESH_MS,
        ),
      );
      const lastSeenSpot = new Map<string, string[]>();
      for (const s of latest.values()) {
        if (!isSpotLike(s.provisioningModel)) continue;
        const ids = lastSeenSpot.get(s.project) ?? [];
        ids.push(s.instanceId);
        lastSeenSpot.set(s.project, ids);
      }
      const run: RunState = {
        ...{ window, recordedAt, recorded, inventory, current, spotRows: [], gaps: [] },
        ...{ lastSeenSpot, quiet: new Set<string>() },
        totals: new RunTotals(),
        writes: new RunWrites(recordedAt),
        phases: { read: performance.now() - began, price: 0, write: 0, alert: 0 },
      };
      const outcomes = await settleAll(config.projects, config.concurrency ?? 4, (project) =>
        recordProject(project, run),
      );
      const writeStarted = performance.now();
      run.totals.requests += (await ledger.write(run.writes)).uploads;
      run.phases.write = performance.now() - writeStarted;

      // Report: failed projects, the hours written, the alerts they raise, the run's summary.
      const failures = projectFailures(config.projects, outcomes).map(({ error, ...failure }) => {
        logger.error('Could not record the project; its hours are recorded by a later run', {
          ...failure,
          error,
        });
        return failure;
      });
      for (const [hour, { rows, costs, priceSources }] of run.totals.byHour()) {
        logger.info('Recorded hour', { hour, rows, costs: costs.list(), priceSources });
      }
      const alertStarted = performance.now();
      const alerts = planAlerts({
        hours: window.hours,
        rows: run.spotRows,
        history,
        rules: config.alerts,
        sent,
        currency: config.currency,
      });
      const delivery = await raiseAlerts(alerts, recordedAt);
      run.phases.alert = performance.now() - alertStarted;
      // The preemption backstop: Compute's preemption operations the events missed, read in the
      // projects whose listing shows a sign of one or could not be read.
      const suspects = config.projects.filter((project) => !run.quiet.has(project));
      await deps.preemptions?.sweep(window.start, suspects).catch((error: unknown) => {
        logger.error('Could not check for missed preemptions; the next run does', { error });
      });
      // After the backstop, so that the digest counts the preemptions it filled in.
      await deps.preemptionDigest?.(clock.now()).catch((error: unknown) => {
        logger.error('Could not send the preemption digest; the next run does', { error });
      });
      const summary = recordSummary({
        ...{ window, totals: run.totals, failures, gaps: run.gaps, phasesMs: run.phases },
        alerts: { raised: alerts.length, ...delivery },
        pricing: deps.pricing.status(),
        durationMs: performance.now() - began,
      });
      logger.info('Recorded Spot costs', {
        window: summary.window,
        hoursRecorded: summary.hoursRecorded,
        rows: summary.rows,
        priceSources: summary.priceSources,
        attributeSources: summary.attributeSources,
        inventorySnapshots: summary.inventorySnapshots,
        alerts: summary.alerts,
        failedProjects: failures.map((f) => f.project),
        unreachableZones: run.gaps.flatMap((g) => g.zones.map((z) => `${g.project}/${z}`)),
        durationMs: summary.durationMs,
        phasesMs: summary.phasesMs,
      });
      return summary;
    },
  };
}
