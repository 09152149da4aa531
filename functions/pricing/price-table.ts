/**
 * Component prices per region: what one vCPU, one GiB of memory, one GPU or one whole f1/g1
 * machine costs per hour, on demand and as Spot. The Cloud Billing Catalog and the bundled price
 * book both become a PriceTable, so one pricing function serves both sources.
 *
 * Items are `<series>/core`, `<series>/ram`, `<series>/custom-core`, `<series>/custom-ram`,
 * `<series>/custom-extended-ram`, `<series>/vm` (f1, g1) and `gpu/<accelerator type>`.
 */
export type PriceModel = 'onDemand' | 'spot';

export interface ComponentPrice {
  /** Per unit and hour: vCPU, GiB, GPU or machine. */
  readonly price: number;
  readonly currency: string;
  /** The catalog SKU it came from, when it came from the catalog. */
  readonly skuId: string | undefined;
}

export interface TableEntry extends ComponentPrice {
  readonly region: string;
  readonly item: string;
  readonly model: PriceModel;
  /** ISO time from which the catalog says the price applies, when known. */
  readonly effectiveTime: string | undefined;
}

export class PriceTable {
  private readonly entries = new Map<string, TableEntry>();

  private static key(region: string, item: string, model: PriceModel): string {
    return `${region}|${item}|${model}`;
  }

  /**
   * Adds a price; where two SKUs claim the same component, a priced one beats a zero-priced
   * one (reservation variants are free) and a later effective time beats an earlier one.
   */
  add(entry: TableEntry): 'added' | 'replaced' | 'ignored' {
    const key = PriceTable.key(entry.region, entry.item, entry.model);
    const current = this.entries.get(key);
    if (current === undefined) {
      this.entries.set(key, entry);
      return 'added';
    }
    const better =
      (current.price === 0 && entry.price > 0) ||
      (entry.price > 0 && (entry.effectiveTime ?? '') > (current.effectiveTime ?? ''));
    if (!better) return 'ignored';
    this.entries.set(key, entry);
    return 'replaced';
  }

  get(region: string, item: string, model: PriceModel): ComponentPrice | undefined {
    const entry = this.entries.get(PriceTable.key(region, item, model));
    return entry && entry.price > 0 ? entry : undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  *[Symbol.iterator](): IterableIterator<TableEntry> {
    yield* this.entries.values();
  }
}
