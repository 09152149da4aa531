/**
 * The preemptions table: which preemptions of some projects the ledger already holds around a
 * time, and keyed appends of new ones (insertId = the preemption key, so a retried request is
 * de-duplicated; readers keep the first row per key). The orchestrator hands it Preemption
 * values; the table's columns are known only here.
 */
import { z } from 'zod';
import type { Ledger } from '../adapters/bigquery.js';
import { LABEL } from '../core/labels.js';
import { toNumeric } from '../recorder/plan-cost-rows.js';
import { projectFilter } from '../recorder/spot-cost-ledger.js';
import { labelsJson } from '../recorder/vm-attributes.js';
import { UNKNOWN_PRICE, type KnownPreemption, type Preemption } from './preemption.js';

export const PREEMPTIONS_TABLE = 'preemptions';

const knownRow = z.object({
  preemption_key: z.string(),
  project_id: z.string(),
  zone: z.string(),
  instance_id: z.string(),
  operation_id: z.string(),
  preempted_at_text: z.string(),
});

export class PreemptionLedger {
  constructor(private readonly ledger: Pick<Ledger, 'query' | 'insert'>) {}

  /** Preemptions of the projects that began in [from, to]. */
  async known(projects: readonly string[], from: Date, to: Date): Promise<KnownPreemption[]> {
    if (projects.length === 0) return [];
    const filter = projectFilter(projects);
    const rows = await this.ledger.query(
      `SELECT DISTINCT preemption_key, project_id, zone, instance_id, operation_id,
         FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%SZ', preempted_at) AS preempted_at_text
       FROM \`\${dataset}.${PREEMPTIONS_TABLE}\`
       WHERE preempted_at >= @from AND preempted_at <= @to AND ${filter.sql}`,
      { from, to, ...filter.params },
      { from: 'TIMESTAMP', to: 'TIMESTAMP' },
    );
    return rows.map((raw) => {
      const row = knownRow.parse(raw);
      return {
        key: row.preemption_key,
        project: row.project_id,
        zone: row.zone,
        vmId: row.instance_id,
        operationId: row.operation_id,
        preemptedAt: new Date(row.preempted_at_text),
      };
    });
  }

  async write(preemptions: readonly Preemption[], recordedAt: Date): Promise<void> {
    await this.ledger.insert(
      PREEMPTIONS_TABLE,
      preemptions.map((p) => ({ key: p.key, row: toRow(p, recordedAt) })),
    );
  }
}

function toRow(p: Preemption, recordedAt: Date): Record<string, unknown> {
  const { notice, vm, rate } = p;
  const label = (key: string): string | null => vm.labels[key] ?? null;
  return {
    preemption_key: p.key,
    project_id: notice.project,
    zone: notice.zone,
    region: p.region,
    instance_name: notice.vmName,
    instance_id: notice.vmId,
    machine_type: vm.machineType ?? null,
    provisioning_model: vm.provisioningModel ?? null,
    team: label(LABEL.team),
    app: label(LABEL.app),
    cost_center: label(LABEL.costCenter),
    labels: labelsJson(vm.labels),
    preempted_at: notice.preemptedAt.toISOString(),
    running_since: vm.runningSince?.toISOString() ?? null,
    run_id: p.run?.runId ?? null,
    attempt: p.run?.attempt ?? null,
    lost_since: p.lostSince?.toISOString() ?? null,
    lost_seconds: p.lostSeconds ?? null,
    hourly_rate: rate && rate.source !== UNKNOWN_PRICE ? toNumeric(rate.hourly) : null,
    lost_cost: toNumeric(p.lostCost),
    currency: rate?.currency ?? null,
    price_source: rate?.source ?? UNKNOWN_PRICE,
    details_source: vm.source,
    operation_id: notice.operationId,
    seen_by: notice.seenBy,
    recorded_at: recordedAt.toISOString(),
  };
}
