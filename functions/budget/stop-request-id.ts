/**
 * The Compute requestId of a stop made by a budget or a Spot cap. It is derived from the
 * trigger, period, tier and VM, so a redelivered message or a repeated cap run sends the same
 * id and Compute does not stop twice.
 */
import { nameBasedUuid } from '../core/request-id.js';
import type { VmRef } from '../core/vm.js';
import type { TriggerKind } from './shed-trigger.js';

export function stopRequestId(
  triggerId: string,
  periodStart: string,
  tier: string,
  vm: VmRef,
  kind: TriggerKind = 'budget',
): string {
  return nameBasedUuid(
    `costguard/${kind}-stop/${triggerId}/${periodStart}/${tier}/${vm.project}/${vm.zone}/${vm.name}`,
  );
}
