import type { ComputeFleet } from '../adapters/compute.js';
import type { Notifier } from '../adapters/slack.js';
import { decideOnNotification } from '../budget/decide-notification.js';
import type { EnforcementLedger, VmOutcome } from '../budget/enforcement-ledger.js';
import { KeyLock } from '../core/key-lock.js';
import { describeGaps, listVmsIn, type ListingFailure, type ZoneGap } from '../budget/list-vms.js';
import { tierReached } from '../budget/policy.js';
import { makeShedPath, priceVms } from '../budget/shed-tier.js';
import type { ShedTrigger } from '../budget/shed-trigger.js';
import { HOUR_MS, type Clock } from '../core/clock.js';
import { isTransient } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { HourlyRate, PriceLookup } from '../core/pricing.js';
import { vmKey, type Vm } from '../core/vm.js';
import { capHourRows, capRunRow, type CapLedger } from './cap-ledger.js';
import { describeScope, type SpotCap } from './cap-policy.js';
import { capPeriod, computeCapSpend, type CapSpend } from './cap-spend.js';

/**
 * enforceSpotCap, carried out: list the running fleet of the governed projects once, price it,
 * read how far the recorder has got, then for each cap compute its spend so far (recorded +
 * estimated), forecast and headroom, decide with the budget enforcer's decision function and
 * hand the decision to the one shedding path. Every run writes one cap_runs row per cap, which
 * is also the cap's memory: a tier acts once per period, across runs, overlaps and crashes.
 */
export interface CapEnforcerDeps {
  readonly fleet: Pick<ComputeFleet, 'listing' | 'stopAll' | 'get'>;
  readonly prices: PriceLookup;
  /** enforcement_actions: the VM decisions, shared with the budget enforcer. */
  readonly actions: Pick<
    EnforcementLedger,
    'stoppedSoFar' | 'recordActions' | 'unconfirmedStops' | 'unreported'
  >;
  readonly ledger: CapLedger;
  readonly notifier: Notifier;
  readonly logger: Logger;
  readonly clock: Clock;
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
  readonly forecast: number;
  readonly forecastMethod: string;
  readonly headroom: number;
  readonly tierReached: number | undefined;
  readonly outcome: string;
  readonly tier: number | undefined;
  /** `project/zone/name` of the VMs this run stopped (or would stop, in dry run). */
  readonly stopped: readonly string[];
  readonly retry: string | undefined;
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

/** Whether the VM is in the cap's scope (projects, provisioning models, label). */
export function inCapScope(vm: Vm, cap: SpotCap, projects: ReadonlySet<string>): boolean {
  return (
    projects.has(vm.project) &&
    (cap.provisioningModels as readonly string[]).includes(vm.provisioningModel) &&
    (!cap.scope.label || vm.labels[cap.scope.label.key] === cap.scope.label.value)
  );
}

/** The projects a cap covers: those it names, or every governed project. */
export function capProjects(cap: SpotCap, governed: readonly string[]): readonly string[] {
  return cap.scope.projects ?? governed;
}

const LOOKBACK_MS = 7 * 24 * HOUR_MS;

export function makeCapEnforcer(
  deps: CapEnforcerDeps,
  config: CapEnforcerConfig,
): () => Promise<CapRunReport> {
  const { logger, clock } = deps;
  const dryRun = !config.enforce;
  const lock = new KeyLock();
  const act = makeShedPath({ ...deps, ledger: deps.actions }, config);

  async function runCap(
    cap: SpotCap,
    run: {
      runId: string;
      now: Date;
      vms: readonly Vm[];
      rates: ReadonlyMap<string, HourlyRate>;
      failures: readonly ListingFailure[];
      gaps: readonly ZoneGap[];
      through: Date | undefined;
    },
  ): Promise<CapReport> {
    const { runId, now } = run;
    const period = capPeriod(cap.period, now);
    const projects = capProjects(cap, config.projects);
    const projectSet = new Set(projects);
    const scoped = run.vms.filter((vm) => inCapScope(vm, cap, projectSet));
    // A rate in another currency than the cap's cannot be added to it; it is left out and said.
    const priced = scoped.filter((vm) => run.rates.get(vmKey(vm))?.currency === cap.currency);
    const recorded = await deps.ledger.recordedHours(cap, projects, period.start, now);
    const history = await deps.ledger.history(cap.name, period.start);
    const spend: CapSpend = computeCapSpend({
      amount: cap.amount,
      period,
      now,
      recorded,
      recordedThrough: run.through,
      running: priced.map((vm) => ({
        hourly: run.rates.get(vmKey(vm))?.hourly ?? 0,
        startedAt: vm.startedAt ? new Date(vm.startedAt) : undefined,
      })),
      recentHours: config.recentHours,
    });
    const reached = tierReached(cap, spend.spendRatio)?.at;
    const forecastTier = tierReached(cap, spend.forecastRatio)?.at;
    const failures = run.failures.filter((f) => projectSet.has(f.project));
    const gaps = run.gaps.filter((g) => projectSet.has(g.project));
    const scope = describeScope(cap.scope, projects);
    const notes = [
      scoped.length > priced.length
        ? `${scoped.length - priced.length} running VM(s) without a ${cap.currency} price are left out of the estimate`
        : undefined,
      ...failures.map((f) => `${f.project} could not be listed; its running VMs are not estimated`),
      ...(gaps.length > 0
        ? [`zones unreachable, their running VMs not estimated: ${describeGaps(gaps)}`]
        : []),
    ].filter((s): s is string => s !== undefined);
    const trigger: ShedTrigger = {
      kind: 'cap',
      id: cap.name,
      displayName: cap.name,
      runId,
      billingAccountId: '',
      periodStart: period.start.toISOString(),
      spend: spend.spend,
      amount: cap.amount,
      currency: cap.currency,
      spendRatio: spend.spendRatio,
      outlook: {
        recorded: spend.recorded,
        estimated: spend.estimated,
        forecast: spend.forecast,
        forecastMethod: spend.forecastMethod,
        periodEnd: period.end.toISOString(),
        elapsed:
          (now.getTime() - period.start.getTime()) /
          (period.end.getTime() - period.start.getTime()),
        scope,
      },
    };
    const decision = decideOnNotification(
      {
        messageId: runId,
        costAmount: spend.spend,
        spendRatio: spend.spendRatio,
        forecastThresholdExceeded: forecastTier,
      },
      history,
      cap,
      dryRun,
    );
    const context = {
      runId,
      cap: cap.name,
      period: trigger.periodStart,
      recorded: spend.recorded,
      estimated: spend.estimated,
      spend: spend.spend,
      forecast: spend.forecast,
      capAmount: cap.amount,
      spendRatio: spend.spendRatio,
      dryRun,
    };
    logger.info('Spot cap decision', {
      ...context,
      recordedThrough: spend.recordedThrough.toISOString(),
      runningVms: spend.runningVms,
      forecastMethod: spend.forecastMethod,
      headroom: spend.headroom,
      decision: decision.kind,
      reason: decision.reason,
    });
    // The hours first: they are keyed by run, so a run retried after a crash writes them again
    // harmlessly, and the run row (the cap's state) comes last.
    await deps.ledger.recordHours(
      capHourRows({
        cap,
        runId,
        runAt: now,
        period,
        spend,
        recorded,
        previousThrough: history.lastRecordedThrough,
      }),
    );
    const base = {
      cap: cap.name,
      periodStart: trigger.periodStart,
      periodEnd: period.end.toISOString(),
      amount: cap.amount,
      currency: cap.currency,
      recorded: spend.recorded,
      estimated: spend.estimated,
      spend: spend.spend,
      recordedThrough: spend.recordedThrough.toISOString(),
      runningVms: spend.runningVms,
      forecast: spend.forecast,
      forecastMethod: spend.forecastMethod,
      headroom: spend.headroom,
      tierReached: reached,
    };
    if (decision.kind === 'duplicate') {
      return { ...base, outcome: 'DUPLICATE', tier: undefined, stopped: [], retry: undefined };
    }
    const report = await act({
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
        deps.ledger.recordRun(
          capRunRow({
            cap,
            scope,
            runId,
            runAt: now,
            period,
            spend,
            tierReached: reached,
            forecastTier,
            summary: { ...summary, reason: [summary.reason, ...notes].join('; ') },
          }),
        ),
    });
    const stopped = report.outcomes
      .filter((o: VmOutcome) => o.action === 'STOPPED' || o.action === 'WOULD_STOP')
      .map((o) => vmKey(o.planned.vm));
    return { ...base, outcome: report.outcome, tier: report.tier, stopped, retry: report.retry };
  }

  return async () => {
    const now = clock.now();
    const runId = `run-${now.toISOString()}`;
    if (config.caps.length === 0) {
      return { runId, runAt: now.toISOString(), dryRun, caps: [], failures: [], retry: false };
    }
    const listed = new Set(config.caps.flatMap((cap) => capProjects(cap, config.projects)));
    const { vms, failures, gaps } = await listVmsIn([...listed], (project) =>
      deps.fleet.listing(project, { status: 'RUNNING' }),
    );
    for (const { project, error } of failures) {
      logger.error('Listing VMs failed; the project is left out of this cap run', {
        runId,
        project,
        error,
      });
    }
    const governed = vms.filter((vm) =>
      config.caps.some((cap) => inCapScope(vm, cap, new Set(capProjects(cap, config.projects)))),
    );
    const rates = await priceVms(deps.prices, logger, governed);
    const since = new Date(
      Math.max(
        Math.min(...config.caps.map((cap) => capPeriod(cap.period, now).start.getTime())),
        now.getTime() - LOOKBACK_MS,
      ),
    );
    const through = await deps.ledger.recordedThrough([...listed], since);
    const caps: CapReport[] = [];
    // Caps run one after the other: each is a few ledger reads, and stops are paced per cap.
    for (const cap of config.caps) {
      caps.push(
        await lock.run(cap.name, () =>
          runCap(cap, { runId, now, vms: governed, rates, failures, gaps, through }),
        ),
      );
    }
    const report: CapRunReport = {
      runId,
      runAt: now.toISOString(),
      dryRun,
      caps,
      failures: failures.map((f) => ({ project: f.project, retryable: isTransient(f.error) })),
      retry: caps.some((c) => c.retry !== undefined),
    };
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
    return report;
  };
}
