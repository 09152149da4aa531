/**
 * Whether a project's Compute listing shows that one of its VMs may have been preempted since a
 * time, so that the hourly preemption backstop reads that project's operations and no other's
 * (one Compute call per project otherwise, every hour, mostly finding nothing).
 */
import { isSpotLike, type Vm } from '../core/vm.js';

/**
 * A preemption leaves a sign in the listing: it stops the VM (Compute's lastStopTimestamp), or
 * with termination action DELETE removes it, so a VM the run knew of (its uptime, its last
 * snapshot) is no longer listed. A project with neither had no preemption since `since`; a
 * zone that could not be listed hides its VMs, and so counts as a sign.
 */
export function showsPreemption(
  listed: readonly Pick<Vm, 'id' | 'provisioningModel' | 'stoppedAt'>[],
  known: Iterable<string>,
  since: Date,
): boolean {
  const ids = new Set<string>();
  for (const vm of listed) {
    const stopped = vm.stoppedAt === undefined ? Number.NaN : Date.parse(vm.stoppedAt);
    if (isSpotLike(vm.provisioningModel) && stopped >= since.getTime()) return true;
    ids.add(vm.id);
  }
  for (const id of known) if (!ids.has(id)) return true;
  return false;
}
