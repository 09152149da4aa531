import { settleAll } from '../core/concurrency.js';
import type { Vm } from '../core/vm.js';

/**
 * The VMs of several projects, a few projects at a time. A project that cannot be listed comes
 * back with its error instead of failing the rest, so the enforcers act on the projects they
 * could list and say which were left out (the budget enforcer and the label sweep both do).
 */
export interface ListingFailure {
  readonly project: string;
  readonly error: unknown;
}

const PROJECT_CONCURRENCY = 4;

export async function listVmsIn(
  projects: readonly string[],
  list: (project: string) => Promise<readonly Vm[]>,
): Promise<{ vms: Vm[]; failures: ListingFailure[] }> {
  const listed = await settleAll(projects, PROJECT_CONCURRENCY, list);
  const vms: Vm[] = [];
  const failures: ListingFailure[] = [];
  listed.forEach((result, i) => {
    if (result.status === 'fulfilled') vms.push(...result.value);
    else failures.push({ project: projects[i] as string, error: result.reason });
  });
  return { vms, failures };
}
