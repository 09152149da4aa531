import type { CloudEvent } from '@google-cloud/functions-framework';
import type { BudgetDirectory } from '../adapters/budgets.js';
import { OperationNotConfirmedError, type ComputeFleet } from '../adapters/compute.js';
import type { ProjectDirectory } from '../adapters/projects.js';
import type { Notifier, PostedMessage, SlackMessage } from '../adapters/slack.js';
import type { Clock } from '../core/clock.js';
import { settleAll } from '../core/concurrency.js';
import {
  errorMessage,
  isNotFound,
  isTransient,
  TransientError,
  ValidationError,
} from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { HourlyRate, PriceLookup } from '../core/pricing.js';
import { asPriority } from '../core/labels.js';
import { regionOfZone, vmKey, type Vm } from '../core/vm.js';
import {
  decideOnNotification,
  type Decision,
  type NotificationOutcome,
} from './decide-notification.js';
import {
  actedVms,
  actionRow,
  notificationRow,
  tierText,
  type ActionName,
  type EnforcementLedger,
  type NotificationSummary,
  type RecordedDecision,
  type VmOutcome,
} from './enforcement-ledger.js';
import { KeyLock } from './key-lock.js';
import { describeGaps, listVmsIn } from './list-vms.js';
import { recheckUnconfirmed } from './recheck-unconfirmed.js';
import { messageIdOf, parseBudgetNotification, type BudgetNotification } from './notification.js';
import {
  concernsTier,
  planShedding,
  UNPRICED,
  type PlannedAction,
  type PlannedVm,
  type SheddingPlan,
} from './plan-shedding.js';
import { nextTier, type SheddingPolicy } from './policy.js';
import { resolveScope, type EnforcementScope } from './scope.js';
import { followUpMessage, forecastMessage, notifyMessage, tierMessage } from './slack-report.js';
import { stopRequestId } from './stop-request-id.js';
import { untrustedReason, type TrustedBudgets } from './trusted-budgets.js';

/**
 * The budget enforcer: for each notification, read the period's history from the ledger,
 * decide (a pure function), and carry the decision out: shed a tier (stop VMs with bounded
 * concurrency, or only say what would stop in dry run), notify, or record why nothing was done.
 * Every decision is a ledger row and a log line; each tier gets one Slack message per period.
 */
export const MESSAGE_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';

export interface BudgetEnforcerDeps {
  readonly fleet: Pick<ComputeFleet, 'listing' | 'stopAll' | 'get'>;
  readonly budgets: Pick<BudgetDirectory, 'scope'>;
  readonly projects: Pick<ProjectDirectory, 'idOf'>;
  readonly prices: PriceLookup;
  readonly ledger: EnforcementLedger;
  readonly notifier: Notifier;
  readonly logger: Logger;
  readonly clock: Clock;
}

export interface BudgetEnforcerConfig {
  readonly policy: SheddingPolicy;
  /** The governed projects the policy applies to: nothing outside these is ever touched. */
  readonly projects: readonly string[];
  /** Stop VMs for real; otherwise a dry run that records WOULD_STOP. */
  readonly enforce: boolean;
  readonly stopConcurrency: number;
  readonly dashboardUrl: string | undefined;
  /** The deployed billing account and budgets: a notification from any other is not believed. */
  readonly trusted: TrustedBudgets;
}

export interface EnforcementReport {
  readonly messageId: string;
  readonly decision: Decision['kind'] | 'untrusted';
  readonly outcome: NotificationOutcome | 'DUPLICATE' | 'UNTRUSTED';
  readonly tier: number | undefined;
  readonly outcomes: readonly VmOutcome[];
  readonly savingPerHour: number;
}

export type BudgetEnforcer = (notification: BudgetNotification) => Promise<EnforcementReport>;

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

export function makeBudgetEnforcer(
  deps: BudgetEnforcerDeps,
  config: BudgetEnforcerConfig,
): BudgetEnforcer {
  const { logger } = deps;
  const { policy } = config;
  // Deliveries for one budget run one at a time, so a duplicate sees the first one's record.
  const lock = new KeyLock();
  const dryRun = !config.enforce;

  async function scopeOf(n: BudgetNotification): Promise<EnforcementScope> {
    const budget = await deps.budgets.scope(n.billingAccountId, n.budgetId);
    const ids = new Map<string, string | undefined>();
    for (const entry of budget.projects) ids.set(entry, await deps.projects.idOf(entry));
    return resolveScope(budget, ids, config.projects);
  }

  /** Hourly rates of the VMs the tier concerns; a VM that cannot be priced counts as zero. */
  async function ratesOf(concerned: readonly Vm[]): Promise<Map<string, HourlyRate>> {
    // The pricing engine keeps its quotes, so VMs of one shape are priced once.
    const priced = await settleAll(concerned, 8, (vm) => deps.prices.rate(vm));
    const rates = new Map<string, HourlyRate>();
    priced.forEach((result, i) => {
      const vm = concerned[i] as Vm;
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

  async function execute(n: BudgetNotification, plan: SheddingPlan): Promise<VmOutcome[]> {
    const tier = tierText(plan.tier.at);
    const planned = plan.decisions.map((d) => ({
      d,
      requestId:
        d.action === 'STOP'
          ? stopRequestId(n.budgetId, n.costIntervalStart, tier, d.vm)
          : undefined,
    }));
    const stops = planned.filter((p) => p.requestId !== undefined);
    if (!dryRun && stops.length > 0) {
      // The intent is on record before any stop is requested, so a delivery cut short between
      // the stops and their outcome rows still counts them against the tier's cap on redelivery.
      const at = deps.clock.now();
      await deps.ledger.recordActions(
        stops.map((p) =>
          actionRow(
            n,
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
      // The stops are done and recorded; a Slack outage must not make Pub/Sub redeliver them.
      logger.error('Slack message not sent', { ...context, error });
      return undefined;
    }
  }

  async function record(n: BudgetNotification, summary: NotificationSummary): Promise<void> {
    await deps.ledger.recordNotification(notificationRow(n, summary, deps.clock.now()));
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
    n: BudgetNotification,
    decision: Extract<Decision, { kind: 'shed' }>,
    context: Record<string, unknown>,
  ): Promise<EnforcementReport> {
    const { tier } = decision;
    const scope = await scopeOf(n);
    const { vms, failures, gaps } = await listVmsIn(scope.projects, (project) =>
      deps.fleet.listing(project, { status: 'RUNNING' }),
    );
    for (const { project, error } of failures) {
      logger.error('Listing VMs failed; the project is left out of this attempt', {
        project,
        error,
      });
    }
    if (gaps.length > 0) {
      // Their VMs are not in this plan: the tier stays INCOMPLETE so a later notification
      // lists those zones again.
      logger.error('Zones could not be listed; their VMs are left out of this attempt', {
        ...context,
        tier: tier.at,
        zones: gaps.map((g) => `${g.project}/${g.zone}`),
        codes: gaps.map((g) => g.code),
      });
    }
    // Read on every delivery, not only on a resumed one: a delivery whose notification row was
    // never written (a failed write, a timeout, a crash) is redelivered looking like the first.
    // Read before the recheck below, whose confirmations it would otherwise count again;
    // UNCONFIRMED stops are the recheck's.
    const earlier = dryRun
      ? []
      : (await deps.ledger.unreported(n, tier.at)).filter((d) => d.action !== 'UNCONFIRMED');
    // Stops an earlier delivery could not confirm are looked at before planning again.
    const rechecked = dryRun
      ? { confirmed: [], pending: [] }
      : await recheckUnconfirmed(deps, n, tier.at);
    const shedding = { tier, policy, scope: new Set(scope.projects) };
    // VMs an earlier delivery stopped or asked to stop are settled below, never planned again.
    const settled = new Set(
      earlier.filter((d) => d.action === 'STOPPED' || d.action === 'STOPPING').map(decisionKey),
    );
    const candidates = vms.filter((vm) => !settled.has(vmKey(vm)));
    const rates = await ratesOf(candidates.filter((vm) => concernsTier(vm, shedding)));
    const alreadyStopped =
      tier.maxStops !== undefined && !dryRun ? await deps.ledger.stoppedSoFar(n, tier.at) : 0;
    const plan = planShedding({ ...shedding, vms: candidates, rates, alreadyStopped });
    const replanned = new Set(plan.decisions.map((d) => vmKey(d.vm)));
    const recovered = await recover(
      earlier.filter((d) => settled.has(decisionKey(d)) || !replanned.has(decisionKey(d))),
    );
    const fresh = await execute(n, plan);
    const outcomes = [...recovered.map((r) => r.outcome), ...fresh];
    const now = deps.clock.now();
    for (const o of [...recovered.filter((r) => r.changed).map((r) => r.outcome), ...fresh]) {
      const { vm, priority, rate } = o.planned;
      const line = {
        ...context,
        tier: tier.at,
        project: vm.project,
        zone: vm.zone,
        instance: vm.name,
        priority,
        action: o.action,
        reason: o.reason,
        hourlyCost: rate.source === 'unknown' ? undefined : rate.hourly,
        requestId: o.requestId,
      };
      if (o.action === 'FAILED') logger.error('Budget enforcement: VM not stopped', line);
      else logger.info('Budget enforcement decision', line);
    }
    // Decisions already on record as final are not written again; resolved intents are.
    const toRecord = [...recovered.filter((r) => r.changed).map((r) => r.outcome), ...fresh];
    await deps.ledger.recordActions(toRecord.map((o) => actionRow(n, plan, o, dryRun, now)));

    const failed = outcomes.filter((o) => o.action === 'FAILED');
    const unconfirmed = outcomes.filter((o) => o.action === 'UNCONFIRMED');
    const listingsToRetry = failures.filter((f) => isTransient(f.error)).length;
    const retry =
      failed.some((o) => o.transient) ||
      unconfirmed.length > 0 ||
      rechecked.pending.length > 0 ||
      listingsToRetry > 0;
    const unreached = gaps.length > 0 ? `zones unreachable: ${describeGaps(gaps)}` : undefined;
    const scopeNote = [
      scope.note,
      ...failures.map((f) => `listing ${f.project} failed (${errorMessage(f.error)})`),
      ...(unreached ? [unreached] : []),
    ].join('; ');
    const planned = actedVms(outcomes);
    // Stops confirmed by this delivery for an earlier one count with this attempt's.
    const acted = {
      vms: planned.vms,
      savingPerHour:
        planned.savingPerHour + rechecked.confirmed.reduce((sum, c) => sum + c.hourly, 0),
    };
    const confirmedLater = rechecked.confirmed.length;
    const message = decision.thread
      ? followUpMessage({
          notification: n,
          plan,
          outcomes,
          acted,
          threadTs: decision.thread.ts,
          unreached: gaps.length > 0 ? describeGaps(gaps) : undefined,
          confirmedLater,
        })
      : tierMessage({
          notification: n,
          plan,
          outcomes,
          acted,
          dryRun,
          scopeNote,
          dashboardUrl: config.dashboardUrl,
          unreached: gaps.length > 0 ? describeGaps(gaps) : undefined,
          confirmedLater,
        });
    const posted = await post(message, context);
    // A governed project that could not be listed, even for good, leaves the tier incomplete:
    // later notifications of the period try it again (only a transient failure is redelivered).
    // So does a zone Compute could not reach: its VMs were never planned.
    const outcome: NotificationOutcome =
      retry || failures.length > 0 || gaps.length > 0 ? 'INCOMPLETE' : 'ACTED';
    await record(n, {
      outcome,
      tier: tier.at,
      reason: `${decision.reason}; ${scopeNote}`,
      dryRun,
      stopped: acted.vms.length + confirmedLater,
      failed: failed.length,
      spared: outcomes.filter((o) => o.action.startsWith('SKIPPED_')).length,
      savingPerHour: acted.savingPerHour,
      priceCurrency: plan.currency,
      // The thread root stays the tier's message, so every follow-up lands under it.
      slack: decision.thread ?? posted,
    });
    logger.notice(dryRun ? 'Budget tier planned (dry run)' : 'Budget tier enforced', {
      ...context,
      tier: tier.at,
      outcome,
      stopped: acted.vms.length + confirmedLater,
      failed: failed.length,
      unconfirmed: unconfirmed.length + rechecked.pending.length,
      spared: outcomes.filter((o) => o.action.startsWith('SKIPPED_')).length,
      recovered: recovered.length,
      savingPerHour: acted.savingPerHour,
      ...(unreached ? { unreachableZones: gaps.map((g) => `${g.project}/${g.zone}`) } : {}),
    });
    if (retry) {
      throw new TransientError(
        `Budget ${n.budgetId} tier ${tier.at}: ${failed.filter((o) => o.transient).length} stop(s) and ${listingsToRetry} listing(s) failed transiently, ${unconfirmed.length + rechecked.pending.length} stop(s) unconfirmed; the message will be redelivered`,
      );
    }
    return {
      messageId: n.messageId,
      decision: 'shed',
      outcome,
      tier: tier.at,
      outcomes,
      savingPerHour: acted.savingPerHour,
    };
  }

  async function handle(n: BudgetNotification): Promise<EnforcementReport> {
    const history = await deps.ledger.history(n);
    const decision = decideOnNotification(n, history, policy, dryRun);
    const context = {
      messageId: n.messageId,
      budgetId: n.budgetId,
      billingAccountId: n.billingAccountId,
      period: n.costIntervalStart,
      costAmount: n.costAmount,
      budgetAmount: n.budgetAmount,
      spendRatio: n.spendRatio,
      dryRun,
    };
    logger.info('Budget notification decision', {
      ...context,
      decision: decision.kind,
      reason: decision.reason,
    });
    const report = (outcome: EnforcementReport['outcome'], tier?: number): EnforcementReport => ({
      messageId: n.messageId,
      decision: decision.kind,
      outcome,
      tier,
      outcomes: [],
      savingPerHour: 0,
    });
    switch (decision.kind) {
      case 'duplicate':
        return report('DUPLICATE');
      case 'record':
        await record(n, quietSummary(decision.outcome, decision.tier?.at, decision.reason));
        return report(decision.outcome, decision.tier?.at);
      case 'forecast-warning': {
        const posted = await post(
          forecastMessage({
            notification: n,
            threshold: decision.threshold,
            next: nextTier(policy, undefined),
          }),
          context,
        );
        await record(n, quietSummary('FORECAST_WARNING', undefined, decision.reason, posted));
        return report('FORECAST_WARNING');
      }
      case 'notify': {
        const posted = await post(
          notifyMessage({
            notification: n,
            tier: decision.tier,
            next: nextTier(policy, decision.tier),
            dashboardUrl: config.dashboardUrl,
          }),
          context,
        );
        await record(n, quietSummary('NOTIFIED', decision.tier.at, decision.reason, posted));
        return report('NOTIFIED', decision.tier.at);
      }
      case 'shed':
        return shed(n, decision, context);
    }
  }

  return async (n) => {
    const untrusted = untrustedReason(n, config.trusted);
    if (untrusted !== undefined) {
      logger.error('Budget notification from an unknown source; acknowledged without action', {
        messageId: n.messageId,
        budgetId: n.budgetId,
        billingAccountId: n.billingAccountId,
        reason: untrusted,
      });
      return {
        messageId: n.messageId,
        decision: 'untrusted',
        outcome: 'UNTRUSTED',
        tier: undefined,
        outcomes: [],
        savingPerHour: 0,
      };
    }
    return lock.run(n.budgetId, () => handle(n));
  };
}

/**
 * The CloudEvent edge: validates the delivery and hands the notification to the enforcer. A
 * message that does not validate is one error line with its messageId and is acknowledged.
 */
export function makeBudgetEventLogic(
  enforce: BudgetEnforcer,
  logger: Logger,
): (event: CloudEvent<unknown>) => Promise<void> {
  return async (event) => {
    const messageId = messageIdOf(event.data, event.id);
    let notification: BudgetNotification;
    try {
      if (event.type !== MESSAGE_PUBLISHED) {
        throw new ValidationError(`Unexpected event type ${String(event.type)}`, [
          `type: expected ${MESSAGE_PUBLISHED}`,
        ]);
      }
      notification = parseBudgetNotification(event.data, event.id);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      logger.error('Budget notification rejected; acknowledged without action', {
        messageId,
        eventId: event.id,
        error: error.message,
        issues: error.issues,
      });
      return;
    }
    await enforce(notification);
  };
}
