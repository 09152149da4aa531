/**
 * Cloud Billing Catalog SKUs of Compute Engine, and how each becomes a component price. The
 * model comes from `category.usageType` (`OnDemand`, `Preemptible` = Spot), never from the
 * description's prefix; the series and component come from the description, which is the only
 * place the catalog names them ("N2 Custom Extended Instance Ram running in Americas").
 */

import { PriceTable, type PriceModel, type TableEntry } from './price-table.js';

export interface CatalogSku {
  readonly skuId: string;
  readonly description: string;
  readonly resourceFamily: string;
  readonly resourceGroup: string;
  readonly usageType: string;
  readonly regions: readonly string[];
  /** `h` for cores, GPUs and whole machines; `GiBy.h` or `GBy.h` for memory; `GiBy.mo` for local SSD. */
  readonly usageUnit: string;
  /** Per usage unit, from the latest pricing info's first tier (units + nanos). */
  readonly unitPrice: number;
  readonly currency: string;
  readonly effectiveTime: string | undefined;
}

/** The catalog port: every SKU of the Compute Engine service. */
export interface CatalogSource {
  listSkus(): Promise<CatalogSku[]>;
}

export type SkuClassification =
  | {
      kind: 'component';
      item: string;
      model: PriceModel;
      /** Multiplies the SKU's unit price into a price per vCPU, GiB, GPU or machine and hour. */
      scale: number;
    }
  /** Deliberately not a VM component price (commitments, disks, licences, network...). */
  | { kind: 'skipped'; reason: string }
  /** Looks like a VM component price but names nothing the engine knows: a new family? */
  | { kind: 'unrecognised'; reason: string };

const MODELS: Readonly<Record<string, PriceModel>> = {
  OnDemand: 'onDemand',
  Preemptible: 'spot',
};

// Prices that are not the plain per-hour price of a VM component.
const EXCLUDED =
  /\b(Commitment|Sole Tenancy|Reserved|Reservation|DWS|Flex Start|Calendar Mode|Windows|Licensing|Virtual Workstation|vGPU|VM state|Suspended)\b/i;

// Memory and local SSD units, as a factor to one GiB-hour. GBy is decimal (C4D RAM is priced
// per GBy.h); a month is 730 hours, as Google's price pages convert local SSD per GB-month.
const GIB_PER_GB = 1024 ** 3 / 1e9;
export const HOURS_PER_MONTH = 730;
const MEMORY_UNITS: Readonly<Record<string, number>> = {
  'GiBy.h': 1,
  'GBy.h': GIB_PER_GB,
  'GiBy.mo': 1 / HOURS_PER_MONTH,
  'GBy.mo': GIB_PER_GB / HOURS_PER_MONTH,
};

// Descriptions that name a series without its token.
const SERIES_BY_NAME: Readonly<Record<string, string>> = {
  'compute optimized': 'c2',
  'memory-optimized': 'm1',
  m4ultramem224: 'm4-ultramem-224',
};

// Accelerator types whose catalog names do not lowercase-and-hyphenate to the Compute name.
const ACCELERATOR_BY_NAME: Readonly<Record<string, string>> = {
  'nvidia tesla a100 80gb': 'nvidia-a100-80gb',
  'nvidia a100 80gb': 'nvidia-a100-80gb',
  'nvidia h100 80gb': 'nvidia-h100-80gb',
  'nvidia h100 mega 80gb': 'nvidia-h100-mega-80gb',
  'nvidia h100 80gb mega': 'nvidia-h100-mega-80gb',
  'nvidia h200 141gb': 'nvidia-h200-141gb',
  'rtx 6000 96gb': 'nvidia-rtx-pro-6000',
  'nvidia rtx pro 6000': 'nvidia-rtx-pro-6000',
};

const WHOLE_MACHINES: ReadonlyArray<[RegExp, string]> = [
  [/^Micro Instance with burstable CPU$/i, 'f1/vm'],
  [/^Small Instance with 1 VCPU$/i, 'g1/vm'],
];

/** `Nvidia Tesla A100` -> `nvidia-tesla-a100`, the accelerator type Compute reports. */
export function acceleratorTypeOf(catalogName: string): string {
  const name = catalogName.trim().toLowerCase().replace(/\s+/g, ' ');
  return ACCELERATOR_BY_NAME[name] ?? name.replace(/ /g, '-');
}

function componentText(description: string): string {
  return description
    .replace(/\s+(running )?in \S[^]*$/, '')
    .replace(/\s+attached to (Spot )?Preemptible VMs$/i, '')
    .replace(/^(Spot Preemptible|Spot|Preemptible)\s+/i, '')
    .trim();
}

// "SSD backed Local Storage attached to Spot Preemptible VMs" is the Spot price of local SSD
// whatever its usage type says; every other SKU's model comes from its usage type.
const SPOT_LOCAL_SSD = /^SSD backed Local Storage attached to (Spot )?Preemptible VMs\b/i;

function seriesOf(head: string, custom: boolean): string | undefined {
  const stem = head
    .replace(/\b(Custom|Extended|Instance|Predefined|AMD|Intel|Arm)\b/gi, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
  // "Custom Instance Core" is the N1 custom SKU: N1 is the series without a token.
  if (stem === '' && custom) return 'n1';
  const named = SERIES_BY_NAME[stem];
  if (named) return named;
  // "M3 Memory-optimized Instance Core": the token names the series.
  const token = stem.replace(/ (memory|compute)-optimized$/, '');
  return /^[a-z]\d+[a-z]?$/.test(token) ? token : undefined;
}

export function classifySku(sku: CatalogSku): SkuClassification {
  const skip = (reason: string): SkuClassification => ({ kind: 'skipped', reason });
  const unrecognised = (reason: string): SkuClassification => ({ kind: 'unrecognised', reason });
  const localSsd =
    sku.resourceGroup === 'LocalSSD' || /\bLocal (SSD|Storage)\b/i.test(sku.description);
  if (sku.resourceFamily !== 'Compute' && !(localSsd && sku.resourceFamily === 'Storage')) {
    return skip(`resource family ${sku.resourceFamily}`);
  }
  const usageModel = MODELS[sku.usageType];
  if (!usageModel) return skip(`usage type ${sku.usageType}`);
  if (EXCLUDED.test(sku.description)) return skip('not a plain VM component price');
  const model: PriceModel = SPOT_LOCAL_SSD.test(sku.description) ? 'spot' : usageModel;
  const text = componentText(sku.description);

  if (localSsd) {
    const scale = MEMORY_UNITS[sku.usageUnit];
    if (scale === undefined) return unrecognised(`local SSD priced per ${sku.usageUnit}`);
    if (/^SSD backed Local Storage$/i.test(text)) {
      return { kind: 'component', item: 'ssd/local', model, scale };
    }
    const family = /^(.*?)\s*Local SSD$/i.exec(text);
    const series = family ? seriesOf(family[1] as string, false) : undefined;
    if (!series) return unrecognised(`no machine series in "${sku.description}"`);
    return { kind: 'component', item: `${series}/local-ssd`, model, scale };
  }

  if (sku.resourceGroup === 'GPU' || /\bGPU$/i.test(text)) {
    if (sku.usageUnit !== 'h') return unrecognised(`GPU priced per ${sku.usageUnit}`);
    // Zero-priced GPU SKUs are reservation variants; the priced SKU is the rate.
    if (sku.unitPrice <= 0) return skip('zero-priced GPU');
    return {
      kind: 'component',
      item: `gpu/${acceleratorTypeOf(text.replace(/\s*GPU$/i, ''))}`,
      model,
      scale: 1,
    };
  }
  for (const [pattern, item] of WHOLE_MACHINES) {
    if (pattern.test(text)) {
      return sku.usageUnit === 'h'
        ? { kind: 'component', item, model, scale: 1 }
        : unrecognised(`machine priced per ${sku.usageUnit}`);
    }
  }

  const match = /^(.*?)\s*\b(Core|Ram)$/i.exec(text);
  if (!match) return unrecognised('not a core, memory, GPU, local SSD or machine price');
  const resource = (match[2] as string).toLowerCase() === 'core' ? 'core' : 'ram';
  const scale =
    resource === 'core' ? (sku.usageUnit === 'h' ? 1 : undefined) : MEMORY_UNITS[sku.usageUnit];
  if (scale === undefined || (resource === 'ram' && sku.usageUnit.endsWith('.mo'))) {
    return unrecognised(`${resource} priced per ${sku.usageUnit}`);
  }
  let head = match[1] as string;
  // "Memory Optimized Upgrade Premium for Memory-optimized Instance Core": M2's premium on M1.
  const upgrade = /^Memory Optimized Upgrade Premium for\s+/i.exec(head);
  if (upgrade) {
    head = head.slice(upgrade[0].length);
    if (seriesOf(head, false) !== 'm1') return unrecognised(`upgrade of "${head}"`);
    return { kind: 'component', item: `m2/upgrade-${resource}`, model, scale };
  }
  const custom = /\bCustom\b/i.test(head);
  const extended = /\bExtended\b/i.test(head);
  if (extended && (!custom || resource !== 'ram')) return skip('extended without custom memory');
  const series = seriesOf(head, custom);
  if (!series) return unrecognised(`no machine series in "${sku.description}"`);
  const component = custom ? (extended ? 'custom-extended-ram' : `custom-${resource}`) : resource;
  return { kind: 'component', item: `${series}/${component}`, model, scale };
}

export interface BuiltTable {
  table: PriceTable;
  components: number;
  skipped: number;
  /** Descriptions of Compute SKUs that look like VM prices but could not be classified. */
  unrecognised: string[];
  /** SKUs that priced a component another SKU already priced (kept: the better one). */
  duplicates: number;
}

export function buildPriceTable(skus: readonly CatalogSku[]): BuiltTable {
  const table = new PriceTable();
  let components = 0;
  let skipped = 0;
  let duplicates = 0;
  const unrecognised = new Set<string>();
  for (const sku of skus) {
    const kind = classifySku(sku);
    if (kind.kind !== 'component') {
      skipped++;
      if (kind.kind === 'unrecognised') unrecognised.add(sku.description);
      continue;
    }
    components++;
    for (const region of sku.regions) {
      const entry: TableEntry = {
        region,
        item: kind.item,
        model: kind.model,
        price: sku.unitPrice * kind.scale,
        currency: sku.currency,
        skuId: sku.skuId,
        effectiveTime: sku.effectiveTime,
      };
      if (table.add(entry) !== 'added') duplicates++;
    }
  }
  return { table, components, skipped, unrecognised: [...unrecognised].sort(), duplicates };
}
