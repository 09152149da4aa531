/**
 * One VM's label check, carried out through the fleet port: the VM is evaluated (pure), its
 * labels written read-merge-write under the fingerprint (re-evaluated on every attempt, so a
 * concurrent writer's labels are kept), and it is stopped with a deterministic requestId if its
 * deadline has passed. A check never rejects: a failed check is an outcome of its own.
 */
import type { ComputeFleet } from '../adapters/compute.js';
import { isoDay } from '../core/clock.js';
import { errorMessage, isNotFound, isTransient } from '../core/errors.js';
import type { HourlyRate } from '../core/pricing.js';
import { nameBasedUuid } from '../core/request-id.js';
import { vmKey, type Vm } from '../core/vm.js';
import type { CheckOutcome, CheckRun } from './check-outcome.js';
import { evaluateLabels, type LabelEvaluation } from './evaluate-labels.js';
import type { LabelPolicy } from './label-policy.js';
import type { ProjectLabelSource } from './project-labels.js';

export interface VmCheckDeps {
  readonly fleet: Pick<ComputeFleet, 'updateLabels' | 'stop'>;
  readonly policy: LabelPolicy;
}

export type VmCheck = (
  vm: Vm,
  run: CheckRun,
  projectLabels: ProjectLabelSource,
  rate: HourlyRate | undefined,
) => Promise<CheckOutcome>;

export function createVmCheck({ fleet, policy }: VmCheckDeps): VmCheck {
  return async (vm, run, projectLabels, price) => {
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
      const context = { today, projectLabels: await projectLabels.labelsOf(vm.project) };
      rate = price;
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
  };
}
