/**
 * The VMs of several projects, a few projects at a time. A project that cannot be listed comes
 * back with its error instead of failing the rest, so the enforcers act on the projects they
 * could list and say which were left out (the budget enforcer, the cap and the label sweep do).
 */
import type { FleetListing } from './compute.js';
import { settleAll } from '../core/concurrency.js';
import type { Vm } from '../core/vm.js';

export interface ListingFailure {
  readonly project: string;
  readonly error: unknown;
}

/** Zones of a project that Compute could not list (unreachable): their VMs are missing. */
export interface ZoneGap {
  readonly project: string;
  readonly zone: string;
  readonly code: string;
}

/** How a gap reads in a log line, a ledger reason or a Slack message: `project/zone`. */
export function describeGaps(gaps: readonly ZoneGap[]): string {
  return gaps.map((g) => `${g.project}/${g.zone}`).join(', ');
}

// Listings in flight at once: each is one paged read of its own project (reads are quota per project).
const PROJECT_CONCURRENCY = 10;

export async function listVmsIn(
  projects: readonly string[],
  list: (project: string) => Promise<readonly Vm[] | FleetListing>,
): Promise<{ vms: Vm[]; failures: ListingFailure[]; gaps: ZoneGap[] }> {
  const listed = await settleAll(projects, PROJECT_CONCURRENCY, list);
  const vms: Vm[] = [];
  const failures: ListingFailure[] = [];
  const gaps: ZoneGap[] = [];
  listed.forEach((result, i) => {
    const project = projects[i] as string;
    if (result.status === 'rejected') {
      failures.push({ project, error: result.reason });
      return;
    }
    const value = result.value;
    if ('vms' in value) {
      vms.push(...value.vms);
      for (const gap of value.gaps) gaps.push({ project, zone: gap.zone, code: gap.code });
    } else vms.push(...value);
  });
  return { vms, failures, gaps };
}
