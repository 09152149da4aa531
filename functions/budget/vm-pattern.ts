/**
 * A VM named in a policy as `project/zone/name`, where any part may be `*`: priorities and
 * exemptions kept in configuration, which only those who deploy can change, instead of labels
 * any VM owner can set.
 */
import type { VmRef } from '../core/vm.js';

export const VM_PATTERN =
  /^(\*|[a-z][a-z0-9-]{4,28}[a-z0-9])\/(\*|[a-z]+-[a-z]+\d+-[a-z])\/(\*|[a-z]([-a-z0-9]{0,61}[a-z0-9])?)$/;

/** How many parts of the pattern name the VM exactly, or undefined when it does not match. */
export function matchVm(
  pattern: string,
  vm: Pick<VmRef, 'project' | 'zone' | 'name'>,
): number | undefined {
  const parts = pattern.split('/');
  const actual = [vm.project, vm.zone, vm.name];
  let exact = 0;
  for (const [i, part] of parts.entries()) {
    if (part === '*') continue;
    if (part !== actual[i]) return undefined;
    exact++;
  }
  return exact;
}
