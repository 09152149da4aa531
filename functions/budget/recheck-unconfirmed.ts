import type { KeyedRow } from '../adapters/bigquery.js';
import type { ComputeFleet } from '../adapters/compute.js';
import type { Clock } from '../core/clock.js';
import { settleAll } from '../core/concurrency.js';
import type { Logger } from '../core/logger.js';
import {
  followUpRow,
  tierText,
  type ActionRecord,
  type EnforcementLedger,
} from './enforcement-ledger.js';
import type { ShedTrigger } from './shed-trigger.js';

/**
 * A stop whose operation had not finished when an earlier delivery stopped waiting is
 * UNCONFIRMED in the ledger. The tier's next delivery looks at each such VM: stopped (or gone)
 * becomes STOPPED; still stopping stays UNCONFIRMED; running again is left to the plan, which
 * lists it and requests the stop once more (the same requestId, so Compute starts nothing new).
 */
export interface RecheckResult {
  /** VMs confirmed stopped by this look, with their hourly cost where it was known. */
  readonly confirmed: ReadonlyArray<{ readonly record: ActionRecord; readonly hourly: number }>;
  /** VMs whose stop is still not confirmed. */
  readonly pending: readonly ActionRecord[];
}

const STOPPED_STATUSES = new Set(['TERMINATED', 'STOPPED', 'SUSPENDED']);

export async function recheckUnconfirmed(
  deps: {
    readonly fleet: Pick<ComputeFleet, 'get'>;
    readonly ledger: Pick<EnforcementLedger, 'unconfirmedStops' | 'recordActions'>;
    readonly logger: Logger;
    readonly clock: Clock;
  },
  t: ShedTrigger,
  tier: number,
): Promise<RecheckResult> {
  const records = await deps.ledger.unconfirmedStops(t, tier);
  if (records.length === 0) return { confirmed: [], pending: [] };
  const looked = await settleAll(records, 8, (r) =>
    deps.fleet.get({ project: r.project_id, zone: r.zone, name: r.instance_name }),
  );
  const confirmed: Array<{ record: ActionRecord; hourly: number }> = [];
  const pending: ActionRecord[] = [];
  const rows: KeyedRow[] = [];
  const now = deps.clock.now();
  looked.forEach((result, i) => {
    const record: ActionRecord = {
      ...(records[i] as ActionRecord),
      cost_interval_start: t.periodStart,
      tier: tierText(tier),
    };
    if (result.status === 'rejected') {
      pending.push(record);
      return;
    }
    const vm = result.value;
    if (vm === undefined || STOPPED_STATUSES.has(vm.status)) {
      const reason = `${String(record['reason'])}; stop confirmed on a later delivery${vm ? '' : ' (VM gone)'}`;
      rows.push(followUpRow(record, 'STOPPED', reason, now));
      confirmed.push({ record, hourly: Number(record.hourly_cost ?? 0) });
    } else if (vm.status !== 'RUNNING') {
      pending.push(record);
    }
    // RUNNING: the plan lists it again and the stop is requested once more.
  });
  if (rows.length > 0) await deps.ledger.recordActions(rows);
  deps.logger.info('Unconfirmed stops looked at again', {
    [t.kind === 'budget' ? 'budgetId' : 'cap']: t.id,
    tier,
    confirmed: confirmed.map(
      (c) => `${c.record.project_id}/${c.record.zone}/${c.record.instance_name}`,
    ),
    stillUnconfirmed: pending.map((r) => `${r.project_id}/${r.zone}/${r.instance_name}`),
  });
  return { confirmed, pending };
}
