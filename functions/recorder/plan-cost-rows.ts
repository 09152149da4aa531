/**
 * One ledger row per VM and hour, planned from uptime samples, the VM's attributes and its
 * price quote; and the decision which of them to write: a row is written when its key has not
 * been recorded, when more uptime arrived (late Monitoring data), or when a better price source
 * can now price it. Unchanged rows are not written again.
 */

import { createHash } from 'node:crypto';
import type { KeyedRow } from '../adapters/bigquery.js';
import type { UptimeSample } from '../adapters/monitoring.js';
import { LABEL } from '../core/labels.js';
import { pricedMachineKey, type PricedMachine, type PriceSource } from '../core/pricing.js';
import type { AttachedGpu, ProvisioningModel, Vm } from '../core/vm.js';
import type { PriceQuote } from '../pricing/price-lookup.js';
import {
  attributesOf,
  instanceKey,
  labelsJson,
  type AttributesSource,
  type InventoryHistory,
  type VmAttributes,
} from './vm-attributes.js';

export interface CostRow {
  /** project/zone/instance_id/hour: one per VM and hour, stable across runs. */
  readonly rowKey: string;
  readonly hour: Date;
  readonly attributes: VmAttributes;
  readonly provisioningModel: ProvisioningModel | 'UNKNOWN';
  readonly uptimeSeconds: number;
  readonly vcpus: number | undefined;
  readonly memoryGib: number | undefined;
  readonly gpus: readonly AttachedGpu[];
  readonly spotRate: number | undefined;
  readonly onDemandRate: number | undefined;
  /** Undefined when it cannot be known (no price, or provisioning model unknown). */
  readonly cost: number | undefined;
  readonly onDemandCost: number | undefined;
  readonly currency: string;
  readonly priceSource: PriceSource;
}

export interface RecordedVersion {
  readonly uptimeSeconds: number;
  readonly priceSource: PriceSource;
}

const SOURCE_RANK: Readonly<Record<PriceSource, number>> = {
  unknown: 0,
  'price-book-standard-rate': 1,
  'price-book': 1,
  'catalog-standard-rate': 2,
  catalog: 2,
};

// Monitoring reports seconds as doubles; differences below this are not new data.
const UPTIME_TOLERANCE_SECONDS = 0.5;

function rowKeyOf(project: string, zone: string, instanceId: string, hour: Date): string {
  return `${project}/${zone}/${instanceId}/${hour.toISOString()}`;
}

/** The machine to price for a VM; an unknown provisioning model is priced as on demand. */
function pricedMachineOf(attributes: VmAttributes): PricedMachine | undefined {
  if (!attributes.machineType) return undefined;
  return {
    region: attributes.region,
    machineType: attributes.machineType,
    provisioningModel: attributes.provisioningModel ?? 'STANDARD',
    gpus: attributes.gpus,
  };
}

export function resolveAttributes(
  samples: readonly UptimeSample[],
  live: readonly Vm[],
  inventory: InventoryHistory,
): VmAttributes[] {
  const byId = new Map(live.map((vm) => [instanceKey(vm.project, vm.id), vm]));
  return samples.map((sample) => attributesOf(sample, byId, inventory));
}

/** The distinct machines to quote, so that 10,000 VMs need a few hundred quotes at most. */
export function machinesToQuote(attributes: readonly VmAttributes[]): PricedMachine[] {
  const machines = new Map<string, PricedMachine>();
  for (const a of attributes) {
    const machine = pricedMachineOf(a);
    if (machine) machines.set(pricedMachineKey(machine), machine);
  }
  return [...machines.values()];
}

/**
 * One row per VM and hour. Each uptime series is priced with the shape it ran with; where one
 * hour of one VM has several series (Monitoring starts a new one when the machine type changes),
 * their uptime and costs are summed into the hour's row, which takes the attributes and rates of
 * the longest-running one.
 */
export function planCostRows(
  samples: readonly UptimeSample[],
  attributes: readonly VmAttributes[],
  quotes: ReadonlyMap<string, PriceQuote>,
  fallbackCurrency: string,
): CostRow[] {
  const byKey = new Map<string, CostRow[]>();
  for (const segment of planSegments(samples, attributes, quotes, fallbackCurrency)) {
    const list = byKey.get(segment.rowKey);
    if (list) list.push(segment);
    else byKey.set(segment.rowKey, [segment]);
  }
  return [...byKey.values()].map(sumSegments);
}

const HOUR_SECONDS = 3600;

function sumOf(values: ReadonlyArray<number | undefined>): number | undefined {
  let total = 0;
  for (const v of values) {
    if (v === undefined) return undefined;
    total += v;
  }
  return total;
}

function sumSegments(segments: readonly CostRow[]): CostRow {
  if (segments.length === 1) return segments[0] as CostRow;
  const longest = [...segments].sort((a, b) => b.uptimeSeconds - a.uptimeSeconds)[0] as CostRow;
  const uptime = segments.reduce((n, s) => n + s.uptimeSeconds, 0);
  // Overlapping series cannot add up to more than the hour: scale back to it.
  const scale = uptime > HOUR_SECONDS ? HOUR_SECONDS / uptime : 1;
  const scaled = (v: number | undefined): number | undefined => (v === undefined ? v : v * scale);
  const worst = segments.reduce((a, s) =>
    SOURCE_RANK[s.priceSource] < SOURCE_RANK[a.priceSource] ? s : a,
  );
  const currencies = new Set(segments.map((s) => s.currency));
  const cost = currencies.size === 1 ? sumOf(segments.map((s) => s.cost)) : undefined;
  return {
    ...longest,
    uptimeSeconds: Math.min(uptime, HOUR_SECONDS),
    cost: scaled(cost),
    onDemandCost: scaled(
      currencies.size === 1 ? sumOf(segments.map((s) => s.onDemandCost)) : undefined,
    ),
    priceSource: cost === undefined ? 'unknown' : worst.priceSource,
  };
}

function planSegments(
  samples: readonly UptimeSample[],
  attributes: readonly VmAttributes[],
  quotes: ReadonlyMap<string, PriceQuote>,
  fallbackCurrency: string,
): CostRow[] {
  return samples.map((sample, i) => {
    const a = attributes[i] as VmAttributes;
    const machine = pricedMachineOf(a);
    const quote = machine ? quotes.get(pricedMachineKey(machine)) : undefined;
    const priced = quote !== undefined && quote.rate.source !== 'unknown';
    const hours = sample.seconds / 3600;
    const known = priced && a.provisioningModel !== undefined;
    return {
      rowKey: rowKeyOf(a.project, a.zone, a.instanceId, sample.hourStart),
      hour: sample.hourStart,
      attributes: a,
      provisioningModel: a.provisioningModel ?? 'UNKNOWN',
      uptimeSeconds: sample.seconds,
      vcpus: quote?.shape?.vcpus,
      memoryGib: quote?.shape?.memoryGib,
      gpus: quote?.shape?.gpus ?? a.gpus,
      spotRate: priced ? quote.rate.spot : undefined,
      onDemandRate: priced ? quote.rate.onDemand : undefined,
      cost: known ? hours * quote.rate.hourly : undefined,
      onDemandCost:
        priced && quote.rate.onDemand !== undefined ? hours * quote.rate.onDemand : undefined,
      currency: quote?.rate.currency ?? fallbackCurrency,
      priceSource: known ? quote.rate.source : 'unknown',
    };
  });
}

/** The rows that say something the ledger does not know yet. */
export function rowsToWrite(
  rows: readonly CostRow[],
  recorded: ReadonlyMap<string, RecordedVersion>,
): CostRow[] {
  return rows.filter((row) => {
    const earlier = recorded.get(row.rowKey);
    if (!earlier) return true;
    if (row.uptimeSeconds - earlier.uptimeSeconds > UPTIME_TOLERANCE_SECONDS) return true;
    return SOURCE_RANK[row.priceSource] > SOURCE_RANK[earlier.priceSource];
  });
}

/** NUMERIC as BigQuery takes it: a decimal string with at most 9 fractional digits. */
export function toNumeric(value: number | undefined): string | null {
  if (value === undefined || !Number.isFinite(value)) return null;
  const fixed = value.toFixed(9);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

function gpuColumns(gpus: readonly AttachedGpu[]): { type: string | null; count: number | null } {
  const priced = gpus.filter((g) => g.count > 0);
  if (priced.length === 0) return { type: null, count: null };
  return {
    type: [...new Set(priced.map((g) => g.type))].join('+'),
    count: priced.reduce((n, g) => n + g.count, 0),
  };
}

/**
 * The row as the spot_costs table takes it, and its insertId: the row key plus a digest of what
 * this version says, so a retried request is de-duplicated but a correction is not. The digest
 * is made only when the key is read: a load job does not use it.
 */
// A run's rows share their recording time and a few hours: each Date's text is made once.
const isoTexts = new WeakMap<Date, string>();

function isoText(time: Date): string {
  let text = isoTexts.get(time);
  if (text === undefined) {
    text = time.toISOString();
    isoTexts.set(time, text);
  }
  return text;
}

export function toLedgerRow(row: CostRow, recordedAt: Date): KeyedRow {
  const a = row.attributes;
  const gpu = gpuColumns(row.gpus);
  const label = (key: string): string | null => a.labels[key] ?? null;
  const cost = toNumeric(row.cost);
  return {
    get key(): string {
      const version = createHash('sha256')
        .update(JSON.stringify([row.uptimeSeconds, row.priceSource, cost]))
        .digest('hex')
        .slice(0, 12);
      return `${row.rowKey}#${version}`;
    },
    row: {
      row_key: row.rowKey,
      usage_hour: isoText(row.hour),
      project_id: a.project,
      region: a.region,
      zone: a.zone,
      instance_id: a.instanceId,
      instance_name: a.instanceName || null,
      machine_type: a.machineType ?? null,
      provisioning_model: row.provisioningModel,
      uptime_seconds: row.uptimeSeconds,
      vcpus: row.vcpus ?? null,
      memory_gib: row.memoryGib ?? null,
      gpu_type: gpu.type,
      gpu_count: gpu.count,
      spot_rate: toNumeric(row.spotRate),
      on_demand_rate: toNumeric(row.onDemandRate),
      cost,
      on_demand_cost: toNumeric(row.onDemandCost),
      currency: row.currency,
      team: label(LABEL.team),
      app: label(LABEL.app),
      cost_center: label(LABEL.costCenter),
      priority: label(LABEL.priority),
      costguard_run: label(LABEL.run),
      labels: labelsJson(a.labels),
      price_source: row.priceSource,
      attributes_source: a.source satisfies AttributesSource,
      recorded_at: isoText(recordedAt),
    },
  };
}
