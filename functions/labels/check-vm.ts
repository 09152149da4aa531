/**
 * One VM's label check, carried out through the fleet port: the VM is evaluated (pure), its
 * labels written read-merge-write under the fingerprint (re-evaluated on every attempt, so a
 * concurrent writer's labels are kept), and it is stopped with a deterministic requestId if its
 * deadline has passed. A check never rejects: a failed check is an outcome of its own.
 */
import type { ComputeFleet } from '../adapters/compute.js';
import type { VmTagReader } from '../adapters/vm-tags.js';
import { isoDay } from '../core/clock.js';
import { errorMessage, isNotFound, isTransient } from '../core/errors.js';
import type { HourlyRate } from '../core/pricing.js';
import { nameBasedUuid } from '../core/request-id.js';
import { vmKey, type Vm } from '../core/vm.js';
import type { CheckOutcome, CheckRun } from './check-outcome.js';
import { evaluateLabels, type LabelContext, type LabelEvaluation } from './evaluate-labels.js';
import type { LabelPolicy } from './label-policy.js';
import type { ProjectLabelSource } from './project-labels.js';

export interface VmCheckDeps {
  readonly fleet: Pick<ComputeFleet, 'updateLabels' | 'stop'>;
  readonly policy: LabelPolicy;
  /** VMs' Resource Manager tags, for a policy whose exemptions come from a tag. */
  readonly tags?: VmTagReader | undefined;
}

export type VmCheck = (
  vm: Vm,
  run: CheckRun,
  projectLabels: ProjectLabelSource,
  rate: HourlyRate | undefined,
) => Promise<CheckOutcome>;

export function createVmCheck({ fleet, policy, tags }: VmCheckDeps): VmCheck {
  /**
   * The context a VM is judged in. Under an exempt tag a VM is first judged untagged; only one
   * the check would act on or report (not a compliant one) has its tags read, one call each.
   */
  const judge = async (vm: Vm, context: LabelContext): Promise<[LabelEvaluation, LabelContext]> => {
    if (policy.exemptTag === undefined) return [evaluateLabels(vm, policy, context), context];
    const untagged = { ...context, tags: {} };
    const first = evaluateLabels(vm, policy, untagged);
    if (first.action === 'none') return [first, untagged];
    const read = (await tags?.tagsOf([vm]))?.get(vmKey(vm));
    const tagged = { ...context, tags: read };
    return [evaluateLabels(vm, policy, tagged), tagged];
  };

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
      rate = price;
      const [plan, context] = await judge(vm, {
        today,
        projectLabels: await projectLabels.labelsOf(vm.project),
      });
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
