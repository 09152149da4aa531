import { nameBasedUuid } from '../core/request-id.js';
import type { VmRef } from '../core/vm.js';

/**
 * The Compute requestId of a budget stop. It is derived from the budget, period, tier and VM,
 * so a redelivered or retried message sends the same id and Compute does not stop twice.
 */
export function stopRequestId(
  budgetId: string,
  costIntervalStart: string,
  tier: string,
  vm: VmRef,
): string {
  return nameBasedUuid(
    `costguard/budget-stop/${budgetId}/${costIntervalStart}/${tier}/${vm.project}/${vm.zone}/${vm.name}`,
  );
}
