/**
 * The label enforcers: the scheduled sweep over every governed project, and the check of one VM
 * right after it is created. Each reads as docs/architecture.md's flow: list (the input is parsed
 * in entry.ts), decide per VM (pure evaluation), carry the decision out through the fleet port
 * (check-vm.ts), then report once: a ledger row and a log line per VM, a Slack digest per sweep.
 */
import type { ComputeFleet } from '../adapters/compute.js';
import type { VmTagReader } from '../adapters/vm-tags.js';
import type { Ledger } from '../adapters/bigquery.js';
import { listVmsIn } from '../adapters/list-vms.js';
import type { Notifier } from '../adapters/slack.js';
import type { Clock } from '../core/clock.js';
import { settleAll } from '../core/concurrency.js';
import { TransientError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { priceVms, type PriceLookup } from '../core/pricing.js';
import { vmKey } from '../core/vm.js';
import type { InstanceInsertEntry } from './audit-event.js';
import type { CheckRun, CreateCheckResult, SweepReport, SweepRequest } from './check-outcome.js';
import {
  identifyCreated,
  inPolicyScope,
  skipBeforeLookup,
  sweepNeedsRetry,
} from './check-verdicts.js';
import { createVmCheck } from './check-vm.js';
import { createComplianceLedger } from './compliance-ledger.js';
import type { LabelPolicy } from './label-policy.js';
import { memoiseProjectLabels, type ProjectLabelSource } from './project-labels.js';
import { createCheckReporter } from './report-checks.js';

export interface LabelEnforcerDeps {
  readonly fleet: Pick<ComputeFleet, 'listing' | 'get' | 'updateLabels' | 'stop'>;
  readonly ledger: Pick<Ledger, 'insert'>;
  readonly notifier: Notifier;
  readonly prices: PriceLookup;
  readonly projectLabels: ProjectLabelSource;
  /** VMs' Resource Manager tags, for a policy whose exemptions come from a tag. */
  readonly tags?: VmTagReader;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly config: LabelEnforcerConfig;
}

export interface LabelEnforcerConfig {
  readonly policy: LabelPolicy;
  /** The governed projects the policy applies to. */
  readonly projects: readonly string[];
  readonly dryRun: boolean;
  readonly concurrency: number;
  readonly dashboardUrl?: string | undefined;
}

export interface LabelEnforcer {
  /** Checks every VM of the governed projects; throws TransientError after recording if a retry could finish it. */
  sweep(request: SweepRequest): Promise<SweepReport>;
  /** Checks the VM an instance insert created; both audit entries of one insert may call it. */
  checkCreated(entry: InstanceInsertEntry): Promise<CreateCheckResult>;
}

export function createLabelEnforcer(deps: LabelEnforcerDeps): LabelEnforcer {
  const { fleet, clock, logger, prices, config } = deps;
  const { policy } = config;
  const checkVm = createVmCheck({ fleet, policy, tags: deps.tags });
  const ledger = createComplianceLedger(deps.ledger, clock);
  const report = createCheckReporter({
    ledger,
    notifier: deps.notifier,
    logger,
    config: { stops: policy.action === 'stop', dashboardUrl: config.dashboardUrl },
  });

  return {
    async sweep(request) {
      const run: CheckRun = {
        id: request.id,
        kind: 'sweep',
        checkedAt: clock.now(),
        dryRun: config.dryRun || request.dryRun === true,
      };
      const projects = request.projects ?? config.projects;
      const listed = await listVmsIn(projects, (project) => fleet.listing(project));
      const vms = listed.vms.filter((vm) => inPolicyScope(vm, policy));
      const rates = await priceVms(prices, logger, vms);
      const projectLabels = memoiseProjectLabels(deps.projectLabels);
      const settled = await settleAll(vms, config.concurrency, (vm) =>
        checkVm(vm, run, projectLabels, rates.get(vmKey(vm))),
      );
      // A check does not reject: a failed check is an outcome of its own.
      const outcomes = settled.map((s) => {
        if (s.status === 'rejected') throw s.reason as Error;
        return s.value;
      });
      const { report: sweepReport, ledgerError } = await report.sweep(
        run,
        projects,
        listed,
        outcomes,
      );
      if (ledgerError !== undefined) throw ledgerError as Error;
      if (sweepNeedsRetry(listed, outcomes)) {
        throw new TransientError(`Label sweep ${run.id} left work a retry can finish`);
      }
      return sweepReport;
    },

    async checkCreated(entry) {
      const notLooked = skipBeforeLookup(entry, config.projects);
      if (notLooked) return report.skipped(entry, notLooked);
      const found = identifyCreated(entry, await fleet.get(entry.ref));
      if ('skip' in found) return report.skipped(entry, found.skip);
      const { vm } = found;
      await ledger.recordShape(vm);
      if (!inPolicyScope(vm, policy)) {
        return report.skipped(entry, `${vm.provisioningModel} VMs are outside the policy scope`);
      }
      const run: CheckRun = {
        id: `create-${entry.operationId}`,
        kind: 'create',
        checkedAt: clock.now(),
        dryRun: config.dryRun,
      };
      const rates = await priceVms(prices, logger, [vm]);
      const outcome = await checkVm(vm, run, deps.projectLabels, rates.get(vmKey(vm)));
      await report.created(run, outcome);
      if (outcome.status === 'failed' && outcome.transient) {
        throw new TransientError(
          `Label check of ${vm.name} failed transiently: ${outcome.error ?? ''}`,
        );
      }
      return { checked: true, outcome };
    },
  };
}
