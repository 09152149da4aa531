import { createHash } from 'node:crypto';
import type { VmRef } from '../core/vm.js';

// A fixed namespace for costguard's name-based (version 5) UUIDs.
const NAMESPACE = Buffer.from('5f1c2b7e9a4d4c3e8b6a0d2e4f6a8c1b', 'hex');

/** A name-based UUID (RFC 9562 version 5): the same name always gives the same UUID. */
export function nameBasedUuid(name: string): string {
  const bytes = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

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
