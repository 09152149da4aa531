import { PriceTable, type PriceModel, type TableEntry } from './price-table.js';

/**
 * Cloud Billing Catalog SKUs of Compute Engine, and how each becomes a component price. The
 * model comes from `category.usageType` (`OnDemand`, `Preemptible` = Spot), never from the
 * description's prefix; the series and component come from the description, which is the only
 * place the catalog names them ("N2 Custom Extended Instance Ram running in Americas").
 */
export interface CatalogSku {
  readonly skuId: string;
  readonly description: string;
  readonly resourceFamily: string;
  readonly resourceGroup: string;
  readonly usageType: string;
  readonly regions: readonly string[];
  /** `h` for cores, GPUs and whole machines, `GiBy.h` for memory. */
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
  { kind: 'component'; item: string; model: PriceModel } | { kind: 'skipped'; reason: string };

const MODELS: Readonly<Record<string, PriceModel>> = {
  OnDemand: 'onDemand',
  Preemptible: 'spot',
};

// Prices that are not the plain per-hour price of a VM component.
const EXCLUDED =
  /\b(Commitment|Sole Tenancy|Reserved|Reservation|DWS|Flex Start|Calendar Mode|Premium|Windows|Licensing|Virtual Workstation|Upgrade)\b/i;

// Descriptions that name a series without its token.
const SERIES_BY_NAME: Readonly<Record<string, string>> = {
  'compute optimized': 'c2',
  'memory-optimized': 'm1',
};

// Accelerator types whose catalog names do not lowercase-and-hyphenate to the Compute name.
const ACCELERATOR_BY_NAME: Readonly<Record<string, string>> = {
  'nvidia tesla a100 80gb': 'nvidia-a100-80gb',
  'nvidia a100 80gb': 'nvidia-a100-80gb',
  'nvidia h100 80gb': 'nvidia-h100-80gb',
  'nvidia h100 mega 80gb': 'nvidia-h100-mega-80gb',
  'nvidia h100 80gb mega': 'nvidia-h100-mega-80gb',
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
    .replace(/\s+running in .*$/i, '')
    .replace(/\s+attached to Spot Preemptible VMs$/i, '')
    .replace(/^(Spot Preemptible|Spot|Preemptible)\s+/i, '')
    .trim();
}

export function classifySku(sku: CatalogSku): SkuClassification {
  const skip = (reason: string): SkuClassification => ({ kind: 'skipped', reason });
  if (sku.resourceFamily !== 'Compute') return skip(`resource family ${sku.resourceFamily}`);
  const model = MODELS[sku.usageType];
  if (!model) return skip(`usage type ${sku.usageType}`);
  if (EXCLUDED.test(sku.description)) return skip('not a plain VM component price');
  const text = componentText(sku.description);

  if (sku.resourceGroup === 'GPU' || /\bGPU$/i.test(text)) {
    if (sku.usageUnit !== 'h') return skip(`GPU priced per ${sku.usageUnit}`);
    // Zero-priced GPU SKUs are reservation variants; the priced SKU is the rate.
    if (sku.unitPrice <= 0) return skip('zero-priced GPU');
    return {
      kind: 'component',
      item: `gpu/${acceleratorTypeOf(text.replace(/\s*GPU$/i, ''))}`,
      model,
    };
  }
  for (const [pattern, item] of WHOLE_MACHINES) {
    if (pattern.test(text)) {
      return sku.usageUnit === 'h'
        ? { kind: 'component', item, model }
        : skip(`machine priced per ${sku.usageUnit}`);
    }
  }

  const match = /^(.*?)\s*\b(Core|Ram)$/i.exec(text);
  if (!match) return skip('not a core, memory, GPU or machine price');
  const head = match[1] as string;
  const resource = (match[2] as string).toLowerCase() === 'core' ? 'core' : 'ram';
  const custom = /\bCustom\b/i.test(head);
  const extended = /\bExtended\b/i.test(head);
  if (extended && (!custom || resource !== 'ram')) return skip('extended without custom memory');
  const expectedUnit = resource === 'core' ? 'h' : 'GiBy.h';
  if (sku.usageUnit !== expectedUnit) return skip(`${resource} priced per ${sku.usageUnit}`);

  const stem = head
    .replace(/\b(Custom|Extended|Instance|Predefined|AMD|Intel|Arm)\b/gi, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
  // "Custom Instance Core" is the N1 custom SKU: N1 is the series without a token.
  const series =
    stem === '' && custom
      ? 'n1'
      : (SERIES_BY_NAME[stem] ?? (/^[a-z]\d+[a-z]?$/.test(stem) ? stem : undefined));
  if (!series) return skip(`no machine series in "${sku.description}"`);
  const component = custom ? (extended ? 'custom-extended-ram' : `custom-${resource}`) : resource;
  return { kind: 'component', item: `${series}/${component}`, model };
}

export interface BuiltTable {
  table: PriceTable;
  components: number;
  skipped: number;
  /** SKUs that priced a component another SKU already priced (kept: the better one). */
  duplicates: number;
}

export function buildPriceTable(skus: readonly CatalogSku[]): BuiltTable {
  const table = new PriceTable();
  let components = 0;
  let skipped = 0;
  let duplicates = 0;
  for (const sku of skus) {
    const kind = classifySku(sku);
    if (kind.kind === 'skipped') {
      skipped++;
      continue;
    }
    components++;
    for (const region of sku.regions) {
      const entry: TableEntry = {
        region,
        item: kind.item,
        model: kind.model,
        price: sku.unitPrice,
        currency: sku.currency,
        skuId: sku.skuId,
        effectiveTime: sku.effectiveTime,
      };
      if (table.add(entry) !== 'added') duplicates++;
    }
  }
  return { table, components, skipped, duplicates };
}
