/**
 * enforceSpotCap, carried out: list the running fleet of the governed projects once and price
 * it, read how far the recorder has got; then for each cap read its spend so far (recorded +
 * estimated), forecast and headroom (a pure reading, cap-reading.ts), decide with the budget
 * enforcer's decision function, and hand the decision to the one shedding path. Every run
 * writes one cap_runs row per cap, which is also the cap's memory: a tier acts once per period,
 * across runs, overlaps and crashes.
 */
import type { ComputeFleet } from '../adapters/compute.js';
import type { VmTagReader } from '../adapters/vm-tags.js';
import { listVmsIn } from '../adapters/list-vms.js';
import type { Notifier } from '../adapters/slack.js';
import { decideOnNotification } from '../budget/decide-notification.js';
import type { ShedHolds } from '../budget/enforcement-ledger.js';
import { createTierShedder, type TierLedger } from '../budget/shed-tier.js';
import { HOUR_MS, type Clock } from '../core/clock.js';
import { isTransient } from '../core/errors.js';
import { KeyLock } from '../core/key-lock.js';
import type { Logger } from '../core/logger.js';
import { priceVms, type PriceLookup } from '../core/pricing.js';
import { vmKey } from '../core/vm.js';
import type { CapLedger } from './cap-ledger.js';
import type { SpotCap } from './cap-policy.js';
import { capProjects, inCapScope, readCap, type CapReading, type RunFleet } from './cap-reading.js';
import { periodOfCap, type CapPeriod } from './cap-spend.js';
import type { BudgetDirectory, BudgetPeriod } from '../adapters/budgets.js';

export interface CapEnforcerDeps {
  readonly fleet: Pick<ComputeFleet, 'listing' | 'stopAll' | 'get'>;
  readonly prices: PriceLookup;
  /** enforcement_actions: the VM decisions, shared with the budget enforcer. */
  readonly actions: TierLedger;
  readonly ledger: Pick<
    CapLedger,
    'recordedThrough' | 'recordedHours' | 'history' | 'recordRun' | 'recordHours'
  >;
  /** Holds put from Slack (snoozes, restarts) that the tiers honour. */
  readonly holds?: ShedHolds;
  /** VMs' Resource Manager tags, for a policy that takes priorities from them. */
  readonly tags?: VmTagReader;
  /** The periods of the budgets caps follow (`period: "budget"`). */
  readonly budgets: Pick<BudgetDirectory, 'period'>;
  readonly notifier: Notifier;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly config: CapEnforcerConfig;
}

export interface CapEnforcerConfig {
  readonly caps: readonly SpotCap[];
  /** The governed projects; a cap that names projects names some of these. */
  readonly projects: readonly string[];
  readonly enforce: boolean;
  readonly stopConcurrency: number;
  readonly dashboardUrl: string | undefined;
  readonly recentHours: number;
}

export interface CapReport {
  readonly cap: string;
  readonly periodStart: string;
  readonly periodEnd: string;
  readonly amount: number;
  readonly currency: string;
  readonly recorded: number;
  readonly estimated: number;
  readonly spend: number;
  readonly recordedThrough: string;
  readonly runningVms: number;
  /** VMs stopped since the last recorded hour whose time up to the stop is in `estimated`. */
  readonly stoppedVms: number;
  readonly forecast: number;
  readonly forecastMethod: string;
  readonly headroom: number;
  readonly tierReached: number | undefined;
  readonly outcome: string;
  readonly tier: number | undefined;
  /** `project/zone/name` of the VMs this run stopped (or would stop, in dry run). */
  readonly stopped: readonly string[];
  readonly retry: string | undefined;
  /** Why the cap was not checked (NO_PERIOD: its budget's period does not hold the run). */
  readonly reason?: string;
}

export interface CapRunReport {
  readonly runId: string;
  readonly runAt: string;
  readonly dryRun: boolean;
  readonly caps: readonly CapReport[];
  /** Projects that could not be listed; their running VMs are missing from the estimates. */
  readonly failures: ReadonlyArray<{ project: string; retryable: boolean }>;
  /** Whether a retry could finish what this run left undone. */
  readonly retry: boolean;
}

export interface CapEnforcer {
  /** One run over every cap. */
  run(): Promise<CapRunReport>;
}

const LOOKBACK_MS = 7 * 24 * HOUR_MS;

/** Whether a VM's last stop (Compute's lastStopTimestamp) falls after `after`. */
function stoppedSince(stoppedAt: string | undefined, after: Date): boolean {
  if (stoppedAt === undefined) return false;
  const at = Date.parse(stoppedAt);
  return Number.isFinite(at) && at > after.getTime();
}

/** A cap's figures as its report shows them, before the decision is carried out. */
function figuresOf(
  cap: SpotCap,
  r: CapReading,
): Omit<CapReport, 'outcome' | 'tier' | 'stopped' | 'retry'> {
  const { spend } = r;
  return {
    cap: cap.name,
    periodStart: r.trigger.periodStart,
    periodEnd: r.period.end.toISOString(),
    amount: cap.amount,
    currency: cap.currency,
    recorded: spend.recorded,
    estimated: spend.estimated,
    spend: spend.spend,
    recordedThrough: spend.recordedThrough.toISOString(),
    runningVms: spend.runningVms,
    stoppedVms: spend.stoppedVms,
    forecast: spend.forecast,
    forecastMethod: spend.forecastMethod,
    headroom: spend.headroom,
    tierReached: r.tierReached,
  };
}

/** The keys every log line about the cap in this run carries. */
function logContext(cap: SpotCap, r: CapReading, dryRun: boolean): Record<string, unknown> {
  const { spend } = r;
  return {
    runId: r.trigger.runId,
    cap: cap.name,
    period: r.trigger.periodStart,
    recorded: spend.recorded,
    estimated: spend.estimated,
    spend: spend.spend,
    forecast: spend.forecast,
    capAmount: cap.amount,
    spendRatio: spend.spendRatio,
    dryRun,
  };
}

/** The report of a cap no period held at the run: nothing was read, decided or stopped. */
function uncheckedReport(cap: SpotCap, reason: string): CapReport {
  return {
    cap: cap.name,
    periodStart: '',
    periodEnd: '',
    amount: cap.amount,
    currency: cap.currency,
    recorded: 0,
    estimated: 0,
    spend: 0,
    recordedThrough: '',
    runningVms: 0,
    stoppedVms: 0,
    forecast: 0,
    forecastMethod: '',
    headroom: cap.amount,
    tierReached: undefined,
    outcome: 'NO_PERIOD',
    tier: undefined,
    stopped: [],
    retry: undefined,
    reason,
  };
}

export function createCapEnforcer(deps: CapEnforcerDeps): CapEnforcer {
  const { logger, clock, config } = deps;
  const dryRun = !config.enforce;
  const lock = new KeyLock();
  const shedder = createTierShedder({ ...deps, ledger: deps.actions });

  async function runCap(cap: SpotCap, period: CapPeriod, run: RunFleet): Promise<CapReport> {
    const { runId, now } = run;
    // Read: the ledger's figures and the cap's runs of the period, then the pure reading.
    const projects = capProjects(cap, config.projects);
    const [recorded, history] = await Promise.all([
      deps.ledger.recordedHours(cap, projects, period.start, now),
      deps.ledger.history(cap.name, period.start),
    ]);
    const { recentHours } = config;
    const reading = readCap({ cap, period, governed: config.projects, run, recorded, recentHours });
    const { spend, trigger } = reading;
    // Decide, as the budget enforcer does.
    const decision = decideOnNotification(reading.spendReading, history, cap, dryRun);
    const context = logContext(cap, reading, dryRun);
    logger.info('Spot cap decision', {
      ...context,
      recordedThrough: spend.recordedThrough.toISOString(),
      runningVms: spend.runningVms,
      stoppedVms: spend.stoppedVms,
      forecastMethod: spend.forecastMethod,
      headroom: spend.headroom,
      decision: decision.kind,
      reason: decision.reason,
    });
    // The hours first: they are keyed by run, so a run retried after a crash writes them again
    // harmlessly, and the run row (the cap's state) comes last.
    await deps.ledger.recordHours({
      cap,
      runId,
      runAt: now,
      period,
      spend,
      recorded,
      previousThrough: history.lastRecordedThrough,
    });
    const figures = figuresOf(cap, reading);
    if (decision.kind === 'duplicate') {
      return { ...figures, outcome: 'DUPLICATE', tier: undefined, stopped: [], retry: undefined };
    }
    // Act and report, through the one shedding path.
    const { scoped, failures, gaps, scope, notes } = reading;
    const report = await shedder.carryOut({
      trigger,
      policy: cap,
      decision,
      context,
      // The fleet was listed once for every cap of the run.
      inScope: () =>
        Promise.resolve({
          projects,
          vms: scoped,
          failures,
          gaps,
          note: [scope, ...notes].join('; '),
          rates: run.rates,
        }),
      record: (summary) =>
        deps.ledger.recordRun({
          cap,
          scope,
          runId,
          runAt: now,
          period,
          spend,
          tierReached: reading.tierReached,
          forecastTier: reading.forecastTier,
          summary: { ...summary, reason: [summary.reason, ...notes].join('; ') },
        }),
    });
    const stopped = report.outcomes
      .filter((o) => o.action === 'STOPPED' || o.action === 'WOULD_STOP')
      .map((o) => vmKey(o.planned.vm));
    return { ...figures, outcome: report.outcome, tier: report.tier, stopped, retry: report.retry };
  }

  /**
   * Each cap's period at `now`: a budget's is read once per run for all the caps that follow
   * it; a budget that cannot be read (it was deleted, the read was refused) leaves its caps
   * unchecked this run, said in their reports, while a transient failure fails the run.
   */
  async function periodsOf(
    runId: string,
    now: Date,
  ): Promise<Map<string, { period: CapPeriod } | { problem: string }>> {
    const names = [...new Set(config.caps.flatMap((cap) => (cap.budget ? [cap.budget] : [])))];
    const budgets = new Map<string, BudgetPeriod | undefined>();
    for (const name of names) {
      try {
        budgets.set(name, await deps.budgets.period(name));
      } catch (error) {
        if (isTransient(error)) throw error;
        logger.error('A budget a cap follows could not be read; its caps are not checked', {
          runId,
          budget: name,
          error,
        });
        budgets.set(name, undefined);
      }
    }
    return new Map(
      config.caps.map((cap) => [
        cap.name,
        periodOfCap(cap, now, cap.budget ? budgets.get(cap.budget) : undefined),
      ]),
    );
  }

  /**
   * The run's fleet: every cap's projects listed once (stopped VMs too: one that stopped since
   * the last recorded hour ran for part of the estimate), the VMs some cap governs priced once.
   */
  async function listFleet(
    runId: string,
    now: Date,
    periods: readonly CapPeriod[],
  ): Promise<RunFleet> {
    const listed = new Set(config.caps.flatMap((cap) => capProjects(cap, config.projects)));
    const { vms, failures, gaps } = await listVmsIn([...listed], (project) =>
      deps.fleet.listing(project),
    );
    for (const { project, error } of failures) {
      logger.error('Listing VMs failed; the project is left out of this cap run', {
        runId,
        project,
        error,
      });
    }
    const earliest = Math.min(now.getTime(), ...periods.map((p) => p.start.getTime()));
    const since = new Date(Math.max(earliest, now.getTime() - LOOKBACK_MS));
    const through = await deps.ledger.recordedThrough([...listed], since);
    const governed = vms.filter((vm) =>
      config.caps.some((cap) => inCapScope(vm, cap, new Set(capProjects(cap, config.projects)))),
    );
    const running = governed.filter((vm) => vm.status === 'RUNNING');
    const stopped = governed.filter(
      (vm) => vm.status !== 'RUNNING' && stoppedSince(vm.stoppedAt, through ?? since),
    );
    const rates = await priceVms(deps.prices, logger, [...running, ...stopped]);
    return { runId, now, vms: running, stopped, rates, failures, gaps, through };
  }

  async function run(): Promise<CapRunReport> {
    const now = clock.now();
    const runId = `run-${now.toISOString()}`;
    if (config.caps.length === 0) {
      return { runId, runAt: now.toISOString(), dryRun, caps: [], failures: [], retry: false };
    }
    const periods = await periodsOf(runId, now);
    const held = [...periods.values()].flatMap((p) => ('period' in p ? [p.period] : []));
    const fleet = await listFleet(runId, now, held);
    const caps: CapReport[] = [];
    // Caps run one after the other: each is a few ledger reads, and stops are paced per cap.
    for (const cap of config.caps) {
      const found = periods.get(cap.name) ?? { problem: 'no period' };
      if ('problem' in found) {
        logger.warn('Spot cap not checked: no period holds this run', {
          runId,
          cap: cap.name,
          reason: found.problem,
        });
        caps.push(uncheckedReport(cap, found.problem));
        continue;
      }
      caps.push(await lock.run(cap.name, () => runCap(cap, found.period, fleet)));
    }
    logger.notice(dryRun ? 'Spot caps checked (dry run)' : 'Spot caps checked', {
      runId,
      caps: caps.map((c) => ({
        cap: c.cap,
        spend: c.spend,
        forecast: c.forecast,
        outcome: c.outcome,
        stopped: c.stopped.length,
      })),
    });
    return {
      runId,
      runAt: now.toISOString(),
      dryRun,
      caps,
      failures: fleet.failures.map((f) => ({
        project: f.project,
        retryable: isTransient(f.error),
      })),
      retry: caps.some((c) => c.retry !== undefined),
    };
  }

  return { run };
}
