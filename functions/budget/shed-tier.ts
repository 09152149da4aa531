import { OperationNotConfirmedError, type ComputeFleet } from '../adapters/compute.js';
import type { Notifier, PostedMessage, SlackMessage } from '../adapters/slack.js';
import type { Clock } from '../core/clock.js';
import { settleAll } from '../core/concurrency.js';
import { errorMessage, isNotFound, isTransient } from '../core/errors.js';
import { asPriority } from '../core/labels.js';
import type { Logger } from '../core/logger.js';
import type { HourlyRate, PriceLookup } from '../core/pricing.js';
import { regionOfZone, vmKey, type Vm } from '../core/vm.js';
import type { Decision, NotificationOutcome } from './decide-notification.js';
import {
  actedVms,
  actionRow,
  tierText,
  type ActionName,
  type EnforcementLedger,
  type NotificationSummary,
  type RecordedDecision,
  type VmOutcome,
} from './enforcement-ledger.js';
import { describeGaps, type ListingFailure, type ZoneGap } from './list-vms.js';
import {
  concernsTier,
  planShedding,
  UNPRICED,
  type PlannedAction,
  type PlannedVm,
  type SheddingPlan,
} from './plan-shedding.js';
import { nextTier, type SheddingPolicy } from './policy.js';
import { recheckUnconfirmed } from './recheck-unconfirmed.js';
import { triggerNoun, type ShedTrigger } from './shed-trigger.js';
import { followUpMessage, forecastMessage, notifyMessage, tierMessage } from './slack-report.js';
import { stopRequestId } from './stop-request-id.js';

/**
 * The one shedding path, for every trigger (a budget notification, a Spot cap run): given a
 * decision about a tier, carry it out: shed (plan with the pure planner, record the intent, stop
 * with bounded concurrency, or only say what would stop in dry run), notify, warn of a forecast,
 * or record why nothing was done. Every decision is a ledger row and a log line; each tier gets
 * one Slack message per period, and a resumed tier posts into that message's thread.
 */
export interface ShedPathDeps {
  readonly fleet: Pick<ComputeFleet, 'stopAll' | 'get'>;
  readonly prices: PriceLookup;
  readonly ledger: Pick<
    EnforcementLedger,
    'stoppedSoFar' | 'recordActions' | 'unconfirmedStops' | 'unreported'
  >;
  readonly notifier: Notifier;
  readonly logger: Logger;
  readonly clock: Clock;
}

export interface ShedPathConfig {
  /** Stop VMs for real; otherwise a dry run that records WOULD_STOP. */
  readonly enforce: boolean;
  readonly stopConcurrency: number;
  readonly dashboardUrl: string | undefined;
}

/** The running VMs a trigger may act on, and the projects that could not be listed. */
export interface FleetInScope {
  readonly projects: readonly string[];
  readonly vms: readonly Vm[];
  readonly failures: readonly ListingFailure[];
  /** Zones Compute could not reach: their VMs are missing, so the tier stays open. */
  readonly gaps: readonly ZoneGap[];
  readonly note: string;
  /** Rates already known by `vmKey`; the others are priced here. */
  readonly rates?: ReadonlyMap<string, HourlyRate>;
}

/** One trigger's decision, with what carrying it out needs. */
export interface Occasion {
  readonly trigger: ShedTrigger;
  readonly policy: SheddingPolicy;
  readonly decision: Exclude<Decision, { kind: 'duplicate' }>;
  /** Keys every log line of the occasion carries. */
  readonly context: Record<string, unknown>;
  inScope(): Promise<FleetInScope>;
  /** Writes the trigger's own record of the outcome (its durable state). */
  record(summary: NotificationSummary): Promise<void>;
}

export interface ShedReport {
  readonly decision: Decision['kind'];
  readonly outcome: NotificationOutcome;
  readonly tier: number | undefined;
  readonly outcomes: readonly VmOutcome[];
  readonly savingPerHour: number;
  /** Why a retry of the trigger should finish the tier (stops or listings failed transiently). */
  readonly retry: string | undefined;
}

/** Hourly rates by `vmKey`; a VM that cannot be priced is left out (it counts as zero). */
export async function priceVms(
  prices: PriceLookup,
  logger: Logger,
  vms: readonly Vm[],
): Promise<Map<string, HourlyRate>> {
  // The pricing engine keeps its quotes, so VMs of one shape are priced once.
  const priced = await settleAll(vms, 8, (vm) => prices.rate(vm));
  const rates = new Map<string, HourlyRate>();
  priced.forEach((result, i) => {
    const vm = vms[i] as Vm;
    if (result.status === 'fulfilled') rates.set(vmKey(vm), result.value);
    else {
      logger.warn('Pricing failed; the VM is ordered as unpriced', {
        machineType: vm.machineType,
        region: vm.region,
        error: result.reason,
      });
    }
  });
  return rates;
}

const NOT_RUNNING = new Set(['TERMINATED', 'STOPPED', 'STOPPING', 'SUSPENDED', 'SUSPENDING']);

function isStopped(vm: Vm): boolean {
  return NOT_RUNNING.has(vm.status);
}

function decisionKey(d: RecordedDecision): string {
  return vmKey({ project: d.project, zone: d.zone, name: d.instance });
}

const RECORDED_PLAN: Partial<Record<ActionName, PlannedAction>> = {
  SKIPPED_EXEMPT: 'SKIP_EXEMPT',
  SKIPPED_MIG: 'SKIP_MIG',
  SKIPPED_CAP: 'SKIP_CAP',
};

/** An earlier decision as a planned VM, with the VM as it is now where it still exists. */
function plannedFrom(d: RecordedDecision, now: Vm | undefined): PlannedVm {
  const vm: Vm = now ?? {
    project: d.project,
    zone: d.zone,
    region: regionOfZone(d.zone),
    name: d.instance,
    id: d.instanceId ?? '',
    status: 'UNKNOWN',
    machineType: d.machineType ?? '',
    provisioningModel:
      d.provisioningModel === 'SPOT' || d.provisioningModel === 'PREEMPTIBLE'
        ? d.provisioningModel
        : 'STANDARD',
    terminationAction: undefined,
    labels: {},
    labelFingerprint: '',
    gpus: [],
    managedBy: undefined,
    createdAt: undefined,
  };
  return {
    vm,
    priority: asPriority(d.priority) ?? 'low',
    rate:
      d.hourlyCost === undefined
        ? UNPRICED
        : {
            hourly: d.hourlyCost,
            spot: undefined,
            onDemand: 0,
            currency: d.priceCurrency ?? UNPRICED.currency,
            source: d.priceSource as HourlyRate['source'],
          },
    action: RECORDED_PLAN[d.action] ?? 'STOP',
    reason: d.reason.replace(/; stop requested$/, ''),
  };
}

export function makeShedPath(
  deps: ShedPathDeps,
  config: ShedPathConfig,
): (occasion: Occasion) => Promise<ShedReport> {
  const { logger } = deps;
  const dryRun = !config.enforce;

  async function execute(t: ShedTrigger, plan: SheddingPlan): Promise<VmOutcome[]> {
    const tier = tierText(plan.tier.at);
    const planned = plan.decisions.map((d) => ({
      d,
      requestId:
        d.action === 'STOP' ? stopRequestId(t.id, t.periodStart, tier, d.vm, t.kind) : undefined,
    }));
    const stops = planned.filter((p) => p.requestId !== undefined);
    if (!dryRun && stops.length > 0) {
      // The intent is on record before any stop is requested, so an attempt cut short between
      // the stops and their outcome rows still counts them against the tier's cap on a retry.
      const at = deps.clock.now();
      await deps.ledger.recordActions(
        stops.map((p) =>
          actionRow(
            t,
            plan,
            {
              planned: p.d,
              requestId: p.requestId,
              transient: false,
              action: 'STOPPING',
              reason: `${p.d.reason}; stop requested`,
            },
            dryRun,
            at,
          ),
        ),
      );
    }
    const results = dryRun
      ? []
      : await deps.fleet.stopAll(
          stops.map((p) => ({ ref: p.d.vm, requestId: p.requestId as string })),
          { requests: config.stopConcurrency },
        );
    const byKey = new Map(stops.map((p, i) => [vmKey(p.d.vm), results[i]]));
    return planned.map(({ d, requestId }): VmOutcome => {
      const base = { planned: d, requestId, transient: false };
      switch (d.action) {
        case 'SKIP_EXEMPT':
          return { ...base, action: 'SKIPPED_EXEMPT', reason: d.reason };
        case 'SKIP_MIG':
          return { ...base, action: 'SKIPPED_MIG', reason: d.reason };
        case 'SKIP_CAP':
          return { ...base, action: 'SKIPPED_CAP', reason: d.reason };
        case 'STOP': {
          if (dryRun) return { ...base, action: 'WOULD_STOP', reason: `${d.reason}; dry run` };
          const result = byKey.get(vmKey(d.vm));
          if (result?.status === 'fulfilled')
            return { ...base, action: 'STOPPED', reason: d.reason };
          const error: unknown = result?.reason;
          // A VM deleted since it was listed needs no stop: it is done.
          if (isNotFound(error)) {
            return { ...base, action: 'STOPPED', reason: `${d.reason}; already gone` };
          }
          if (error instanceof OperationNotConfirmedError) {
            return {
              ...base,
              action: 'UNCONFIRMED',
              reason: `${d.reason}; ${error.message}`,
              transient: true,
            };
          }
          return {
            ...base,
            action: 'FAILED',
            reason: errorMessage(error),
            transient: isTransient(error),
          };
        }
      }
    });
  }

  /**
   * What became of an earlier delivery's decisions: a stop it asked for (a STOPPING intent) is
   * settled by the VM's state now (stopped or gone: done; still running: stopped now, with the
   * intent's requestId so Compute never stops it twice); a decision it recorded stands.
   */
  async function recover(
    decisions: readonly RecordedDecision[],
  ): Promise<Array<{ outcome: VmOutcome; changed: boolean }>> {
    const pending = decisions.filter((d) => d.action === 'STOPPING');
    const seen = await settleAll(pending, config.stopConcurrency, (d) =>
      deps.fleet.get({ project: d.project, zone: d.zone, name: d.instance }),
    );
    const state = new Map(pending.map((d, i) => [decisionKey(d), seen[i]]));
    const restop = pending.filter((d) => {
      const read = state.get(decisionKey(d));
      return read?.status === 'fulfilled' && read.value !== undefined && !isStopped(read.value);
    });
    const results =
      restop.length === 0
        ? []
        : await deps.fleet.stopAll(
            restop.map((d) => ({
              ref: { project: d.project, zone: d.zone, name: d.instance },
              requestId: d.requestId as string,
            })),
            { requests: config.stopConcurrency },
          );
    const restopped = new Map(restop.map((d, i) => [decisionKey(d), results[i]]));
    return decisions.map((d) => {
      const read = state.get(decisionKey(d));
      const vm = read?.status === 'fulfilled' ? read.value : undefined;
      const planned = plannedFrom(d, vm);
      const base = { planned, requestId: d.requestId, transient: false };
      const intent = d.reason.replace(/; stop requested$/, '');
      if (d.action !== 'STOPPING') {
        return { outcome: { ...base, action: d.action, reason: d.reason }, changed: false };
      }
      if (read?.status === 'rejected') {
        const error: unknown = read.reason;
        return {
          outcome: {
            ...base,
            action: 'FAILED',
            reason: `${intent}; state unknown: ${errorMessage(error)}`,
            transient: isTransient(error),
          },
          changed: true,
        };
      }
      if (!vm) {
        return {
          outcome: { ...base, action: 'STOPPED', reason: `${intent}; already gone` },
          changed: true,
        };
      }
      const result = restopped.get(decisionKey(d));
      if (!result) {
        return {
          outcome: {
            ...base,
            action: 'STOPPED',
            reason: `${intent}; stop requested by an earlier delivery, found ${vm.status}`,
          },
          changed: true,
        };
      }
      if (result.status === 'fulfilled' || isNotFound(result.reason)) {
        return {
          outcome: { ...base, action: 'STOPPED', reason: `${intent}; stopped on redelivery` },
          changed: true,
        };
      }
      const error: unknown = result.reason;
      if (error instanceof OperationNotConfirmedError) {
        return {
          outcome: {
            ...base,
            action: 'UNCONFIRMED',
            reason: `${intent}; ${error.message}`,
            transient: true,
          },
          changed: true,
        };
      }
      return {
        outcome: {
          ...base,
          action: 'FAILED',
          reason: errorMessage(error),
          transient: isTransient(error),
        },
        changed: true,
      };
    });
  }

  async function post(
    message: SlackMessage,
    context: Record<string, unknown>,
  ): Promise<PostedMessage | undefined> {
    try {
      return await deps.notifier.post(message);
    } catch (error) {
      // The stops are done and recorded; a Slack outage must not make the trigger retry them.
      logger.error('Slack message not sent', { ...context, error });
      return undefined;
    }
  }

  function quietSummary(
    outcome: NotificationOutcome,
    tier: number | undefined,
    reason: string,
    slack?: PostedMessage,
  ): NotificationSummary {
    return {
      outcome,
      tier,
      reason,
      dryRun,
      stopped: 0,
      failed: 0,
      spared: 0,
      savingPerHour: undefined,
      priceCurrency: undefined,
      slack,
    };
  }

  async function shed(
    o: Occasion,
    decision: Extract<Decision, { kind: 'shed' }>,
  ): Promise<ShedReport> {
    const { trigger: t, policy, context } = o;
    const noun = triggerNoun(t);
    const { tier } = decision;
    const scope = await o.inScope();
    for (const { project, error } of scope.failures) {
      logger.error('Listing VMs failed; the project is left out of this attempt', {
        ...context,
        project,
        error,
      });
    }
    const { gaps } = scope;
    if (gaps.length > 0) {
      // Their VMs are not in this plan: the tier stays INCOMPLETE so a later attempt lists
      // those zones again.
      logger.error('Zones could not be listed; their VMs are left out of this attempt', {
        ...context,
        tier: tier.at,
        zones: gaps.map((g) => `${g.project}/${g.zone}`),
        codes: gaps.map((g) => g.code),
      });
    }
    // Read on every attempt, not only on a resumed one: an attempt whose own record was never
    // written (a failed write, a timeout, a crash) is retried looking like the first. Read
    // before the recheck below, whose confirmations it would otherwise count again;
    // UNCONFIRMED stops are the recheck's.
    const earlier = dryRun
      ? []
      : (await deps.ledger.unreported(t, tier.at)).filter((d) => d.action !== 'UNCONFIRMED');
    // Stops an earlier attempt could not confirm are looked at before planning again.
    const rechecked = dryRun
      ? { confirmed: [], pending: [] }
      : await recheckUnconfirmed(deps, t, tier.at);
    const shedding = { tier, policy, scope: new Set(scope.projects) };
    // VMs an earlier attempt stopped or asked to stop are settled below, never planned again.
    const settled = new Set(
      earlier.filter((d) => d.action === 'STOPPED' || d.action === 'STOPPING').map(decisionKey),
    );
    const candidates = scope.vms.filter((vm) => !settled.has(vmKey(vm)));
    const concerned = candidates.filter((vm) => concernsTier(vm, shedding));
    const known = scope.rates ?? new Map<string, HourlyRate>();
    const rates = new Map(known);
    const unpriced = concerned.filter((vm) => !known.has(vmKey(vm)));
    for (const [key, rate] of await priceVms(deps.prices, logger, unpriced)) rates.set(key, rate);
    const alreadyStopped =
      tier.maxStops !== undefined && !dryRun ? await deps.ledger.stoppedSoFar(t, tier.at) : 0;
    const plan = planShedding({ ...shedding, vms: candidates, rates, alreadyStopped });
    const replanned = new Set(plan.decisions.map((d) => vmKey(d.vm)));
    const recovered = await recover(
      earlier.filter((d) => settled.has(decisionKey(d)) || !replanned.has(decisionKey(d))),
    );
    const fresh = await execute(t, plan);
    const outcomes = [...recovered.map((r) => r.outcome), ...fresh];
    // Decisions already on record as final are not written or logged again; resolved intents are.
    const toRecord = [...recovered.filter((r) => r.changed).map((r) => r.outcome), ...fresh];
    const now = deps.clock.now();
    for (const outcome of toRecord) {
      const { vm, priority, rate } = outcome.planned;
      const line = {
        ...context,
        tier: tier.at,
        project: vm.project,
        zone: vm.zone,
        instance: vm.name,
        priority,
        action: outcome.action,
        reason: outcome.reason,
        hourlyCost: rate.source === 'unknown' ? undefined : rate.hourly,
        requestId: outcome.requestId,
      };
      if (outcome.action === 'FAILED') logger.error(`${noun} enforcement: VM not stopped`, line);
      else logger.info(`${noun} enforcement decision`, line);
    }
    await deps.ledger.recordActions(toRecord.map((x) => actionRow(t, plan, x, dryRun, now)));

    const failed = outcomes.filter((x) => x.action === 'FAILED');
    const unconfirmed = outcomes.filter((x) => x.action === 'UNCONFIRMED');
    const transientStops = failed.filter((x) => x.transient).length;
    const notConfirmed = unconfirmed.length + rechecked.pending.length;
    const listingsToRetry = scope.failures.filter((f) => isTransient(f.error)).length;
    const unreached = gaps.length > 0 ? describeGaps(gaps) : undefined;
    const scopeNote = [
      scope.note,
      ...scope.failures.map((f) => `listing ${f.project} failed (${errorMessage(f.error)})`),
      ...(unreached ? [`zones unreachable: ${unreached}`] : []),
    ].join('; ');
    const planned = actedVms(outcomes);
    // Stops confirmed by this attempt for an earlier one count with this attempt's.
    const acted = {
      vms: planned.vms,
      savingPerHour:
        planned.savingPerHour + rechecked.confirmed.reduce((sum, c) => sum + c.hourly, 0),
    };
    const confirmedLater = rechecked.confirmed.length;
    const message = decision.thread
      ? followUpMessage({
          trigger: t,
          plan,
          outcomes,
          acted,
          threadTs: decision.thread.ts,
          unreached,
          confirmedLater,
        })
      : tierMessage({
          trigger: t,
          plan,
          outcomes,
          acted,
          dryRun,
          scopeNote,
          dashboardUrl: config.dashboardUrl,
          unreached,
          confirmedLater,
        });
    const posted = await post(message, context);
    // A project that could not be listed, even for good, leaves the tier incomplete: later
    // attempts of the period try it again (only a transient failure asks for a retry now). So
    // does a zone Compute could not reach: its VMs were never planned.
    const retry = transientStops > 0 || notConfirmed > 0 || listingsToRetry > 0;
    const outcome: NotificationOutcome =
      retry || scope.failures.length > 0 || gaps.length > 0 ? 'INCOMPLETE' : 'ACTED';
    await o.record({
      outcome,
      tier: tier.at,
      reason: `${decision.reason}; ${scopeNote}`,
      dryRun,
      stopped: acted.vms.length + confirmedLater,
      failed: failed.length,
      spared: outcomes.filter((x) => x.action.startsWith('SKIPPED_')).length,
      savingPerHour: acted.savingPerHour,
      priceCurrency: plan.currency,
      // The thread root stays the tier's message, so every follow-up lands under it.
      slack: decision.thread ?? posted,
    });
    logger.notice(dryRun ? `${noun} tier planned (dry run)` : `${noun} tier enforced`, {
      ...context,
      tier: tier.at,
      outcome,
      stopped: acted.vms.length + confirmedLater,
      failed: failed.length,
      unconfirmed: notConfirmed,
      spared: outcomes.filter((x) => x.action.startsWith('SKIPPED_')).length,
      recovered: recovered.length,
      savingPerHour: acted.savingPerHour,
      ...(gaps.length > 0 ? { unreachableZones: gaps.map((g) => `${g.project}/${g.zone}`) } : {}),
    });
    return {
      decision: 'shed',
      outcome,
      tier: tier.at,
      outcomes,
      savingPerHour: acted.savingPerHour,
      retry: retry
        ? `${noun} ${t.id} tier ${tier.at}: ${transientStops} stop(s) and ${listingsToRetry} listing(s) failed transiently, ${notConfirmed} stop(s) unconfirmed`
        : undefined,
    };
  }

  return async (o) => {
    const { trigger: t, policy, decision, context } = o;
    const quiet = (outcome: NotificationOutcome, tier?: number): ShedReport => ({
      decision: decision.kind,
      outcome,
      tier,
      outcomes: [],
      savingPerHour: 0,
      retry: undefined,
    });
    switch (decision.kind) {
      case 'record':
        await o.record(quietSummary(decision.outcome, decision.tier?.at, decision.reason));
        return quiet(decision.outcome, decision.tier?.at);
      case 'forecast-warning': {
        const posted = await post(
          forecastMessage({
            trigger: t,
            threshold: decision.threshold,
            next: nextTier(policy, undefined),
            dashboardUrl: t.kind === 'budget' ? undefined : config.dashboardUrl,
          }),
          context,
        );
        await o.record(quietSummary('FORECAST_WARNING', undefined, decision.reason, posted));
        return quiet('FORECAST_WARNING');
      }
      case 'notify': {
        const posted = await post(
          notifyMessage({
            trigger: t,
            tier: decision.tier,
            next: nextTier(policy, decision.tier),
            dashboardUrl: config.dashboardUrl,
          }),
          context,
        );
        await o.record(quietSummary('NOTIFIED', decision.tier.at, decision.reason, posted));
        return quiet('NOTIFIED', decision.tier.at);
      }
      case 'shed':
        return shed(o, decision);
    }
  };
}
