import { toCatalogSku } from '../../functions/adapters/billing-catalog.js';
import { toMachineShape } from '../../functions/adapters/machine-types.js';
import type { CatalogSku } from '../../functions/pricing/catalog-skus.js';
import {
  customShapeOf,
  type MachineShape,
  type MachineShapes,
} from '../../functions/pricing/machine-shape.js';
import { loadFixture } from '../support/fixtures.js';

/** The catalog fixture's SKUs as the adapter hands them to the pricing engine. */
export function catalogFixtureSkus(): CatalogSku[] {
  const { skus } = loadFixture<{ skus: unknown[] }>('catalog/compute-skus.json');
  return skus.flatMap((raw) => {
    const sku = toCatalogSku(raw as Parameters<typeof toCatalogSku>[0]);
    return sku ? [sku] : [];
  });
}

/** Machine shapes from the machine-types fixture, custom types from their names. */
export function fixtureMachineShapes(): MachineShapes & { lookups: string[] } {
  const { machineTypes } = loadFixture<{ machineTypes: unknown[] }>('compute/machine-types.json');
  const byName = new Map<string, MachineShape>(
    machineTypes.map((m) => {
      const shape = toMachineShape(m as Parameters<typeof toMachineShape>[0]);
      return [shape.name, shape];
    }),
  );
  const lookups: string[] = [];
  return {
    lookups,
    shape(name) {
      lookups.push(name);
      return Promise.resolve(customShapeOf(name) ?? byName.get(name));
    },
  };
}
