/**
 * A stop whose operation had not finished when an earlier delivery stopped waiting is
 * UNCONFIRMED in the ledger. The tier's next delivery looks at each such VM: stopped (or gone)
 * becomes STOPPED; still stopping stays UNCONFIRMED; running again is left to the plan, which
 * lists it and requests the stop once more (the same requestId, so Compute starts nothing new).
 */
import type { ComputeFleet } from '../adapters/compute.js';
import type { Clock } from '../core/clock.js';
import { settleAll } from '../core/concurrency.js';
import type { Logger } from '../core/logger.js';
import type { Vm } from '../core/vm.js';
import type { EnforcementLedger, UnconfirmedStop } from './enforcement-ledger.js';
import type { ShedTrigger } from './shed-trigger.js';
import type { Settled } from './tier-verdicts.js';

export interface RecheckResult {
  /** VMs confirmed stopped by this look, with their hourly cost where it was known. */
  readonly confirmed: ReadonlyArray<{ readonly stop: UnconfirmedStop; readonly hourly: number }>;
  /** VMs whose stop is still not confirmed. */
  readonly pending: readonly UnconfirmedStop[];
}

const STOPPED_STATUSES = new Set(['TERMINATED', 'STOPPED', 'SUSPENDED']);

/** Where an unconfirmed stop stands, given the VM as it was just read: a pure verdict. */
export function recheckVerdict(read: Settled<Vm | undefined>): 'confirmed' | 'pending' | 'replan' {
  if (read === undefined || read.status === 'rejected') return 'pending';
  const vm = read.value;
  if (vm === undefined || STOPPED_STATUSES.has(vm.status)) return 'confirmed';
  // RUNNING: the plan lists it again and the stop is requested once more.
  return vm.status === 'RUNNING' ? 'replan' : 'pending';
}

const vmName = (s: UnconfirmedStop): string => `${s.project}/${s.zone}/${s.instance}`;

export async function recheckUnconfirmed(
  deps: {
    readonly fleet: Pick<ComputeFleet, 'get'>;
    readonly ledger: Pick<EnforcementLedger, 'unconfirmedStops' | 'confirmStops'>;
    readonly logger: Logger;
    readonly clock: Clock;
  },
  t: ShedTrigger,
  tier: number,
): Promise<RecheckResult> {
  const stops = await deps.ledger.unconfirmedStops(t, tier);
  if (stops.length === 0) return { confirmed: [], pending: [] };
  const looked = await settleAll(stops, 8, (s) =>
    deps.fleet.get({ project: s.project, zone: s.zone, name: s.instance }),
  );
  const verdicts = stops.map((stop, i) => ({
    stop,
    read: looked[i],
    verdict: recheckVerdict(looked[i]),
  }));
  const confirmed = verdicts
    .filter((v) => v.verdict === 'confirmed')
    .map(({ stop, read }) => ({
      stop,
      hourly: stop.hourlyCost ?? 0,
      reason: `${stop.reason}; stop confirmed on a later delivery${read?.status === 'fulfilled' && read.value ? '' : ' (VM gone)'}`,
    }));
  const pending = verdicts.filter((v) => v.verdict === 'pending').map((v) => v.stop);
  await deps.ledger.confirmStops(t, tier, confirmed, deps.clock.now());
  deps.logger.info('Unconfirmed stops looked at again', {
    [t.kind === 'budget' ? 'budgetId' : 'cap']: t.id,
    tier,
    confirmed: confirmed.map((c) => vmName(c.stop)),
    stillUnconfirmed: pending.map(vmName),
  });
  return { confirmed, pending };
}
