/**
 * Recent preemption rates as the ledger's `preemption_rate_daily` view counts them: per zone and
 * machine family, the preemptions and Spot VM-hours of the days since a date, summed (the rate
 * over the window is 100 × preemptions / hours of those sums). A run start reads it to choose
 * among its pipeline's candidate VMs.
 */
import { z } from 'zod';
import type { Ledger } from '../adapters/bigquery.js';

export interface RecentPreemptions {
  readonly zone: string;
  readonly machineFamily: string;
  readonly preemptions: number;
  readonly spotVmHours: number;
}

const row = z.object({
  zone: z.string(),
  machine_family: z.string(),
  preemptions: z.coerce.number(),
  spot_vm_hours: z.coerce.number(),
});

export class PreemptionRates {
  constructor(private readonly ledger: Pick<Ledger, 'query'>) {}

  /** Each zone and family of `zones` with preemptions or Spot hours since `since` (UTC days). */
  async since(zones: readonly string[], since: Date): Promise<RecentPreemptions[]> {
    if (zones.length === 0) return [];
    const rows = await this.ledger.query(
      `SELECT zone, machine_family, SUM(preemptions) AS preemptions,
         SUM(spot_vm_hours) AS spot_vm_hours
       FROM \`\${dataset}.preemption_rate_daily\`
       WHERE day >= DATE(@since) AND zone IN (SELECT z FROM UNNEST(@zones) AS z)
       GROUP BY zone, machine_family`,
      { since, zones: [...zones] },
      { since: 'TIMESTAMP', zones: ['STRING'] },
    );
    return rows.map((r) => {
      const parsed = row.parse(r);
      return {
        zone: parsed.zone,
        machineFamily: parsed.machine_family,
        preemptions: parsed.preemptions,
        spotVmHours: parsed.spot_vm_hours,
      };
    });
  }
}
