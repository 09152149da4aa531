import { nameBasedUuid } from '../core/request-id.js';
import type { ComputeFleet } from '../adapters/compute.js';
import type { Ledger } from '../adapters/bigquery.js';
import { postBestEffort, type Notifier } from '../adapters/slack.js';
import { isoDay, type Clock } from '../core/clock.js';
import { settleAll } from '../core/concurrency.js';
import { errorMessage, isNotFound, isTransient, TransientError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { pricedMachineKey, type HourlyRate, type PriceLookup } from '../core/pricing.js';
import { vmKey, type Vm } from '../core/vm.js';
import { listVmsIn } from '../adapters/list-vms.js';
import { TABLES } from '../recorder/spot-cost-ledger.js';
import { planInventorySnapshots } from '../recorder/vm-attributes.js';
import type { InstanceInsertEntry } from './audit-event.js';
import { acted, type CheckOutcome, type CheckRun } from './check-outcome.js';
import { COMPLIANCE_TABLE, complianceRows } from './compliance-rows.js';
import { evaluateLabels, type LabelEvaluation } from './evaluate-labels.js';
import { composeLabelDigest, summariseChecks, type DigestCounts } from './label-digest.js';
import type { LabelPolicy } from './label-policy.js';
import { memoiseProjectLabels, type ProjectLabelSource } from './project-labels.js';

/**
 * Carries out label checks: the scheduled sweep over every governed project, and the check of
 * one VM right after it is created. Each VM is evaluated (pure), its labels written read-merge-
 * write under the fingerprint (re-evaluated on every attempt, so a concurrent writer's labels
 * are kept), stopped with a deterministic requestId if its deadline has passed, and recorded:
 * one ledger row and one log line per VM, one Slack digest per sweep.
 */
export interface LabelEnforcerDeps {
  readonly fleet: Pick<ComputeFleet, 'listing' | 'get' | 'updateLabels' | 'stop'>;
  readonly ledger: Pick<Ledger, 'insert'>;
  readonly notifier: Notifier;
  readonly prices: PriceLookup;
  readonly projectLabels: ProjectLabelSource;
  readonly logger: Logger;
  readonly clock: Clock;
}

export interface LabelEnforcerConfig {
  readonly policy: LabelPolicy;
  /** The governed projects the policy applies to. */
  readonly projects: readonly string[];
  readonly dryRun: boolean;
  readonly concurrency: number;
  readonly dashboardUrl?: string | undefined;
}

export interface SweepRequest {
  readonly id: string;
  /** Can only make a run safer: a configured dry run stays one. */
  readonly dryRun?: boolean;
  /** A subset of the configured projects. */
  readonly projects?: readonly string[];
}

export interface VmActionSummary {
  readonly vm: string;
  readonly action: string;
  readonly status: string;
  readonly stopAfter?: string;
}

export interface SweepReport {
  readonly runId: string;
  readonly dryRun: boolean;
  readonly projects: readonly string[];
  readonly failedProjects: readonly string[];
  /** Zones Compute could not reach (`project/zone`): their VMs were not checked this run. */
  readonly unreachableZones: readonly string[];
  readonly counts: DigestCounts;
  /** The VMs acted on (or failed), first 100; every VM is in the ledger. */
  readonly actions: readonly VmActionSummary[];
  readonly rowsRecorded: number;
  readonly digestPosted: boolean;
}

const MAX_REPORTED_ACTIONS = 100;

export type CreateCheckResult =
  | { readonly checked: true; readonly outcome: CheckOutcome }
  | { readonly checked: false; readonly reason: string };

export interface LabelEnforcer {
  /** Checks every VM of the governed projects; throws TransientError after recording if a retry could finish it. */
  sweep(request: SweepRequest): Promise<SweepReport>;
  /** Checks the VM an instance insert created; both audit entries of one insert may call it. */
  checkCreated(entry: InstanceInsertEntry): Promise<CreateCheckResult>;
}

export function makeLabelEnforcer(
  deps: LabelEnforcerDeps,
  config: LabelEnforcerConfig,
): LabelEnforcer {
  const { fleet, logger } = deps;
  const { policy } = config;

  /** Prices each machine shape once per run; a price that cannot be had is left out. */
  function rateLookup(): (vm: Vm) => Promise<HourlyRate | undefined> {
    const cache = new Map<string, Promise<HourlyRate | undefined>>();
    return (vm) => {
      const key = pricedMachineKey(vm);
      let rate = cache.get(key);
      if (!rate) {
        rate = deps.prices.rate(vm).catch((error: unknown) => {
          logger.warn('No price for the machine; cost left out', { machine: key, error });
          return undefined;
        });
        cache.set(key, rate);
      }
      return rate;
    };
  }

  async function checkVm(
    vm: Vm,
    run: CheckRun,
    projectLabels: ProjectLabelSource,
    rateOf: (vm: Vm) => Promise<HourlyRate | undefined>,
  ): Promise<CheckOutcome> {
    const today = isoDay(run.checkedAt);
    let evaluation: LabelEvaluation | undefined;
    let rate: HourlyRate | undefined;
    let labels: Readonly<Record<string, string>> = vm.labels;
    let wrote = false;
    const outcome = (status: CheckOutcome['status'], error?: unknown): CheckOutcome => {
      // Without the project's labels the VM is judged as found, with no defaults from them.
      const e = evaluation ?? evaluateLabels(vm, policy, { today, projectLabels: {} });
      return {
        vm,
        evaluation: e,
        status,
        labels,
        compliant: wrote ? e.compliant : e.compliantBefore,
        violations: wrote ? e.violations : e.violationsBefore,
        rate,
        error: error === undefined ? undefined : errorMessage(error),
        transient: error !== undefined && isTransient(error),
      };
    };
    try {
      const [labelsOfProject, price] = await Promise.all([
        projectLabels.labelsOf(vm.project),
        rateOf(vm),
      ]);
      rate = price;
      const context = { today, projectLabels: labelsOfProject };
      const plan = evaluateLabels(vm, policy, context);
      evaluation = plan;
      if (run.dryRun) return outcome(plan.write || plan.stop ? 'planned' : 'done');
      if (plan.write) {
        let seen = false;
        const written = await fleet.updateLabels(vm, (current) => {
          seen = true;
          // Re-evaluated on every attempt: after a lost race the other writer's labels count.
          evaluation = evaluateLabels({ ...vm, labels: current }, policy, context);
          labels = current;
          return evaluation.write ? { ...evaluation.write } : undefined;
        });
        if (!seen) return outcome('gone');
        if (written) {
          labels = written;
          wrote = true;
        }
      }
      if (evaluation.stop) {
        await fleet.stop(vm, nameBasedUuid(`labels|${run.id}|${vmKey(vm)}|${vm.id}|stop`));
      }
      return outcome('done');
    } catch (error) {
      // Deleted between the listing and the change (a Spot VM with termination action DELETE).
      if (isNotFound(error)) return outcome('gone');
      return outcome('failed', error);
    }
  }

  function logOutcome(run: CheckRun, o: CheckOutcome): void {
    const e = o.evaluation;
    const fields = {
      runId: run.id,
      checkKind: run.kind,
      project: o.vm.project,
      zone: o.vm.zone,
      vm: o.vm.name,
      instanceId: o.vm.id,
      compliant: o.compliant,
      exempt: e.exempt,
      violations: o.violations,
      changes: e.changes,
      fixedKeys: e.fixedKeys,
      action: e.action,
      actionStatus: o.status,
      reason: e.reason,
      stopAfter: e.stopAfter,
      dryRun: run.dryRun,
      ...(o.error ? { error: o.error } : {}),
    };
    if (o.status === 'failed') logger.error('Label check failed', fields);
    else if (acted(o)) logger.notice('Label check acted', fields);
    else logger.info('Label check', fields);
  }

  async function record(run: CheckRun, outcomes: readonly CheckOutcome[]): Promise<number> {
    const rows = complianceRows(run, outcomes, deps.clock.now());
    const { inserted } = await deps.ledger.insert(COMPLIANCE_TABLE, rows);
    return inserted;
  }

  function inScope(vm: Vm): boolean {
    return policy.provisioningModels.includes(vm.provisioningModel);
  }

  return {
    async sweep(request: SweepRequest): Promise<SweepReport> {
      const run: CheckRun = {
        id: request.id,
        kind: 'sweep',
        checkedAt: deps.clock.now(),
        dryRun: config.dryRun || request.dryRun === true,
      };
      const projects = request.projects ?? config.projects;
      const listed = await listVmsIn(projects, (project) => fleet.listing(project));
      for (const { project, error } of listed.failures) {
        logger.error('Could not list the VMs of a project; it is left out of this sweep', {
          runId: run.id,
          project,
          error,
        });
      }
      const failedProjects = listed.failures.map((f) => f.project);
      const unreachableZones = listed.gaps.map((g) => `${g.project}/${g.zone}`);
      if (unreachableZones.length > 0) {
        logger.error('Zones could not be listed; their VMs are left out of this sweep', {
          runId: run.id,
          zones: unreachableZones,
          codes: listed.gaps.map((g) => g.code),
        });
      }
      const vms = listed.vms.filter(inScope);
      const projectLabels = memoiseProjectLabels(deps.projectLabels);
      const rateOf = rateLookup();
      const settled = await settleAll(vms, config.concurrency, (vm) =>
        checkVm(vm, run, projectLabels, rateOf),
      );
      const outcomes = settled.map((s) => {
        // checkVm does not reject: a failed check is an outcome of its own.
        if (s.status === 'rejected') throw s.reason as Error;
        return s.value;
      });
      for (const o of outcomes) logOutcome(run, o);
      // A zone Compute could not reach is retried: the sweep is asked to run again.
      const retryable =
        listed.gaps.length > 0 ||
        listed.failures.some((f) => isTransient(f.error)) ||
        outcomes.some((o) => o.status === 'failed' && o.transient);

      let rowsRecorded = 0;
      let ledgerError: unknown;
      try {
        rowsRecorded = await record(run, outcomes);
      } catch (error) {
        ledgerError = error;
        logger.error('Could not record the sweep in the ledger', { runId: run.id, error });
      }

      const digest = summariseChecks(outcomes, { stops: policy.action === 'stop' });
      const message = composeLabelDigest(run, digest, {
        failedProjects,
        unreachableZones,
        dashboardUrl: config.dashboardUrl,
      });
      const digestPosted =
        (
          await postBestEffort(deps.notifier, logger, message, {
            message: 'Could not post the sweep digest to Slack',
            context: { runId: run.id },
          })
        ).posted !== undefined;

      const { counts } = digest;
      const actions = outcomes
        .filter((o) => acted(o) || o.status === 'failed')
        .slice(0, MAX_REPORTED_ACTIONS)
        .map((o) => ({
          vm: vmKey(o.vm),
          action: o.evaluation.action,
          status: o.status,
          ...(o.evaluation.stopAfter ? { stopAfter: o.evaluation.stopAfter } : {}),
        }));
      const report: SweepReport = {
        runId: run.id,
        dryRun: run.dryRun,
        projects,
        failedProjects,
        unreachableZones,
        counts,
        actions,
        rowsRecorded,
        digestPosted,
      };
      logger.notice('Label sweep finished', { ...report, actions: actions.length });
      if (ledgerError !== undefined) throw ledgerError as Error;
      if (retryable) {
        throw new TransientError(`Label sweep ${run.id} left work a retry can finish`);
      }
      return report;
    },

    async checkCreated(entry: InstanceInsertEntry): Promise<CreateCheckResult> {
      const context = {
        project: entry.ref.project,
        zone: entry.ref.zone,
        vm: entry.ref.name,
        operationId: entry.operationId,
        phase: entry.phase,
        api: entry.api,
        principal: entry.principal,
      };
      const skip = (reason: string): CreateCheckResult => {
        logger.info('Created VM not checked', { ...context, reason });
        return { checked: false, reason };
      };
      if (entry.failure) return skip(`the insert failed (${entry.failure})`);
      if (!config.projects.includes(entry.ref.project))
        return skip('outside the governed projects');
      const vm = await fleet.get(entry.ref);
      if (!vm) {
        return skip(
          entry.phase === 'first'
            ? 'not visible yet; the last audit entry checks it'
            : 'the VM no longer exists',
        );
      }
      if (entry.instanceId !== undefined && vm.id !== entry.instanceId) {
        return skip(`the name now belongs to another instance (${vm.id})`);
      }
      // The VM's shape as created, so that its uptime is priced even if it is deleted before the
      // next hourly cost run sees it (a short-lived Spot VM); keyed, so a retry adds nothing.
      await deps.ledger.insert(
        TABLES.inventory,
        planInventorySnapshots([vm], new Map(), deps.clock.now()),
      );
      if (!inScope(vm)) return skip(`${vm.provisioningModel} VMs are outside the policy scope`);
      const run: CheckRun = {
        id: `create-${entry.operationId}`,
        kind: 'create',
        checkedAt: deps.clock.now(),
        dryRun: config.dryRun,
      };
      const outcome = await checkVm(vm, run, deps.projectLabels, rateLookup());
      logOutcome(run, outcome);
      await record(run, [outcome]);
      if (outcome.status === 'failed' && outcome.transient) {
        throw new TransientError(
          `Label check of ${vm.name} failed transiently: ${outcome.error ?? ''}`,
        );
      }
      return { checked: true, outcome };
    },
  };
}
