import { describe, expect, it } from 'vitest';
import {
  acceleratorTypeOf,
  buildPriceTable,
  classifySku,
  type CatalogSku,
} from '../../functions/pricing/catalog-skus.js';
import { catalogFixtureSkus } from './pricing-fixtures.js';

function sku(overrides: Partial<CatalogSku> & Pick<CatalogSku, 'description'>): CatalogSku {
  return {
    skuId: '0000-0000-0000',
    resourceFamily: 'Compute',
    resourceGroup: 'CPU',
    usageType: 'OnDemand',
    regions: ['us-central1'],
    usageUnit: /Ram/.test(overrides.description) ? 'GiBy.h' : 'h',
    unitPrice: 0.01,
    currency: 'USD',
    effectiveTime: undefined,
    ...overrides,
  };
}

describe('classifySku', () => {
  // Descriptions as the Cloud Billing Catalog words them for Compute Engine.
  it.each([
    {
      description: 'E2 Instance Core running in Americas',
      usageType: 'OnDemand',
      item: 'e2/core',
      model: 'onDemand',
    },
    {
      description: 'Spot Preemptible E2 Instance Ram running in Americas',
      usageType: 'Preemptible',
      item: 'e2/ram',
      model: 'spot',
    },
    {
      description: 'N1 Predefined Instance Core running in Americas',
      usageType: 'OnDemand',
      item: 'n1/core',
      model: 'onDemand',
    },
    {
      description: 'Preemptible N1 Predefined Instance Ram running in Americas',
      usageType: 'Preemptible',
      item: 'n1/ram',
      model: 'spot',
    },
    {
      description: 'Spot Preemptible N2 Instance Core running in Americas',
      usageType: 'Preemptible',
      item: 'n2/core',
      model: 'spot',
    },
    {
      description: 'N2D AMD Instance Ram running in Netherlands',
      usageType: 'OnDemand',
      item: 'n2d/ram',
      model: 'onDemand',
    },
    {
      description: 'Compute optimized Core running in Americas',
      usageType: 'OnDemand',
      item: 'c2/core',
      model: 'onDemand',
    },
    {
      description: 'Spot Preemptible Compute optimized Ram running in Americas',
      usageType: 'Preemptible',
      item: 'c2/ram',
      model: 'spot',
    },
    {
      description: 'Spot Preemptible C3 Instance Core running in Netherlands',
      usageType: 'Preemptible',
      item: 'c3/core',
      model: 'spot',
    },
    {
      description: 'T2D AMD Instance Core running in Americas',
      usageType: 'OnDemand',
      item: 't2d/core',
      model: 'onDemand',
    },
    {
      description: 'Spot Preemptible A2 Instance Ram running in Americas',
      usageType: 'Preemptible',
      item: 'a2/ram',
      model: 'spot',
    },
    {
      description: 'G2 Instance Core running in Americas',
      usageType: 'OnDemand',
      item: 'g2/core',
      model: 'onDemand',
    },
    {
      description: 'Custom Instance Core running in Americas',
      usageType: 'OnDemand',
      item: 'n1/custom-core',
      model: 'onDemand',
    },
    {
      description: 'Spot Preemptible Custom Extended Instance Ram running in APAC',
      usageType: 'Preemptible',
      item: 'n1/custom-extended-ram',
      model: 'spot',
    },
    {
      description: 'N2 Custom Instance Ram running in Americas',
      usageType: 'OnDemand',
      item: 'n2/custom-ram',
      model: 'onDemand',
    },
    {
      description: 'Spot Preemptible N2 Custom Extended Instance Ram running in Americas',
      usageType: 'Preemptible',
      item: 'n2/custom-extended-ram',
      model: 'spot',
    },
    {
      description: 'N2D AMD Custom Instance Core running in Americas',
      usageType: 'OnDemand',
      item: 'n2d/custom-core',
      model: 'onDemand',
    },
    {
      description: 'Spot Preemptible E2 Custom Instance Core running in Tokyo',
      usageType: 'Preemptible',
      item: 'e2/custom-core',
      model: 'spot',
    },
    {
      description: 'Memory-optimized Instance Core running in Americas',
      usageType: 'OnDemand',
      item: 'm1/core',
      model: 'onDemand',
    },
  ])('$description ($usageType) prices $item', ({ description, usageType, item, model }) => {
    expect(classifySku(sku({ description, usageType }))).toEqual({
      kind: 'component',
      item,
      model,
      scale: 1,
    });
  });

  it.each([
    {
      description: 'Micro Instance with burstable CPU running in Americas',
      resourceGroup: 'F1Micro',
      item: 'f1/vm',
    },
    {
      description: 'Spot Preemptible Small Instance with 1 VCPU running in Japan',
      resourceGroup: 'G1Small',
      item: 'g1/vm',
    },
  ])('prices the whole f1/g1 machine from $description', ({ description, resourceGroup, item }) => {
    const result = classifySku(sku({ description, resourceGroup, usageUnit: 'h' }));
    expect(result).toMatchObject({ kind: 'component', item });
  });

  it.each([
    {
      description: 'Nvidia Tesla A100 GPU running in Americas',
      usageType: 'OnDemand',
      item: 'gpu/nvidia-tesla-a100',
    },
    {
      description: 'Nvidia L4 GPU attached to Spot Preemptible VMs running in Americas',
      usageType: 'Preemptible',
      item: 'gpu/nvidia-l4',
    },
    {
      description: 'Nvidia Tesla T4 GPU attached to Spot Preemptible VMs running in Americas',
      usageType: 'Preemptible',
      item: 'gpu/nvidia-tesla-t4',
    },
    {
      description: 'Nvidia Tesla A100 80GB GPU running in Americas',
      usageType: 'OnDemand',
      item: 'gpu/nvidia-a100-80gb',
    },
    {
      description: 'Nvidia H100 80GB GPU running in Americas',
      usageType: 'OnDemand',
      item: 'gpu/nvidia-h100-80gb',
    },
  ])('prices GPUs from $description', ({ description, usageType, item }) => {
    const result = classifySku(sku({ description, usageType, resourceGroup: 'GPU' }));
    expect(result).toMatchObject({ kind: 'component', item });
  });

  it.each<{ case: string; fields: Partial<CatalogSku> & { description: string } }>([
    {
      case: 'a commitment',
      fields: {
        description: 'Commitment v1: N2 Cpu in Americas for 1 Year',
        usageType: 'Commit1Yr',
      },
    },
    {
      case: 'sole tenancy',
      fields: { description: 'Sole Tenancy Instance Core running in Americas' },
    },
    {
      case: 'a DWS GPU',
      fields: {
        description:
          'Nvidia Tesla A100 GPU attached to DWS Defined Duration VMs running in Americas',
        resourceGroup: 'GPU',
      },
    },
    {
      case: 'a zero-priced GPU',
      fields: {
        description: 'Nvidia L4 GPU running in Americas',
        resourceGroup: 'GPU',
        unitPrice: 0,
      },
    },
    {
      case: 'storage',
      fields: {
        description: 'Balanced PD Capacity in Americas',
        resourceFamily: 'Storage',
        usageUnit: 'GiBy.mo',
      },
    },
    {
      case: 'a licence',
      fields: {
        description: 'Licensing Fee for SQL Server 2016 Standard on VM with 18 VCPU',
        resourceFamily: 'License',
      },
    },
    {
      case: 'extended cores',
      fields: { description: 'N2 Custom Extended Instance Core running in Americas' },
    },
  ])('skips $case', ({ fields }) => {
    expect(classifySku(sku(fields)).kind).toBe('skipped');
  });

  it.each<{ case: string; fields: Partial<CatalogSku> & { description: string } }>([
    {
      case: 'a RAM SKU priced per hour',
      fields: { description: 'N2 Instance Ram running in Americas', usageUnit: 'h' },
    },
    {
      case: 'an unknown series',
      fields: { description: 'Sole Instance Core running in Americas' },
    },
    {
      case: 'a local SSD priced per hour of nothing',
      fields: {
        description: 'Z3 Instance Local SSD running in Iowa',
        resourceGroup: 'LocalSSD',
        usageUnit: 'h',
      },
    },
  ])('reports $case as unrecognised, so the refresh can log it', ({ fields }) => {
    expect(classifySku(sku(fields)).kind).toBe('unrecognised');
  });

  // Every family of the published prices, worded and measured as the catalog has them.
  const GIB_PER_GB = 1024 ** 3 / 1e9;
  it.each([
    {
      description: 'C4D Instance Ram running in Frankfurt',
      usageType: 'OnDemand',
      resourceGroup: 'RAM',
      usageUnit: 'GBy.h',
      item: 'c4d/ram',
      model: 'onDemand',
      scale: GIB_PER_GB,
    },
    {
      description: 'Spot Preemptible C4D Instance Ram running in Frankfurt',
      usageType: 'Preemptible',
      resourceGroup: 'RAM',
      usageUnit: 'GBy.h',
      item: 'c4d/ram',
      model: 'spot',
      scale: GIB_PER_GB,
    },
    {
      description: 'C4D Instance Core running in Frankfurt',
      usageType: 'OnDemand',
      resourceGroup: 'CPU',
      usageUnit: 'h',
      item: 'c4d/core',
      model: 'onDemand',
      scale: 1,
    },
    {
      description: 'C4A Arm Instance Core running in Iowa',
      usageType: 'OnDemand',
      resourceGroup: 'CPU',
      usageUnit: 'h',
      item: 'c4a/core',
      model: 'onDemand',
      scale: 1,
    },
    {
      description: 'N4A Instance Ram running in Iowa',
      usageType: 'OnDemand',
      resourceGroup: 'RAM',
      usageUnit: 'GiBy.h',
      item: 'n4a/ram',
      model: 'onDemand',
      scale: 1,
    },
    {
      description: 'Spot Preemptible T2A Arm Instance Core running in Iowa',
      usageType: 'Preemptible',
      resourceGroup: 'CPU',
      usageUnit: 'h',
      item: 't2a/core',
      model: 'spot',
      scale: 1,
    },
    {
      description: 'C4N Instance Core running in London',
      usageType: 'OnDemand',
      resourceGroup: 'CPU',
      usageUnit: 'h',
      item: 'c4n/core',
      model: 'onDemand',
      scale: 1,
    },
    {
      description: 'N4D Instance Ram running in Iowa',
      usageType: 'OnDemand',
      resourceGroup: 'RAM',
      usageUnit: 'GiBy.h',
      item: 'n4d/ram',
      model: 'onDemand',
      scale: 1,
    },
    {
      description: 'Z3 Instance Core running in Netherlands',
      usageType: 'OnDemand',
      resourceGroup: 'CPU',
      usageUnit: 'h',
      item: 'z3/core',
      model: 'onDemand',
      scale: 1,
    },
    {
      description: 'H3 Instance Ram running in Iowa',
      usageType: 'OnDemand',
      resourceGroup: 'RAM',
      usageUnit: 'GiBy.h',
      item: 'h3/ram',
      model: 'onDemand',
      scale: 1,
    },
    {
      description: 'M3 Memory-optimized Instance Core running in Iowa',
      usageType: 'OnDemand',
      resourceGroup: 'CPU',
      usageUnit: 'h',
      item: 'm3/core',
      model: 'onDemand',
      scale: 1,
    },
    {
      description: 'Spot Preemptible M3 Memory-optimized Instance Ram running in Iowa',
      usageType: 'Preemptible',
      resourceGroup: 'RAM',
      usageUnit: 'GiBy.h',
      item: 'm3/ram',
      model: 'spot',
      scale: 1,
    },
    {
      description: 'M4 Instance Core running in Iowa',
      usageType: 'OnDemand',
      resourceGroup: 'CPU',
      usageUnit: 'h',
      item: 'm4/core',
      model: 'onDemand',
      scale: 1,
    },
    {
      description: 'M4Ultramem224 Instance Ram running in Iowa',
      usageType: 'OnDemand',
      resourceGroup: 'RAM',
      usageUnit: 'GiBy.h',
      item: 'm4-ultramem-224/ram',
      model: 'onDemand',
      scale: 1,
    },
    {
      description:
        'Memory Optimized Upgrade Premium for Memory-optimized Instance Core running in Americas',
      usageType: 'OnDemand',
      resourceGroup: 'CPU',
      usageUnit: 'h',
      item: 'm2/upgrade-core',
      model: 'onDemand',
      scale: 1,
    },
    {
      description:
        'Memory Optimized Upgrade Premium for Memory-optimized Instance Ram running in Americas',
      usageType: 'OnDemand',
      resourceGroup: 'RAM',
      usageUnit: 'GiBy.h',
      item: 'm2/upgrade-ram',
      model: 'onDemand',
      scale: 1,
    },
    {
      description: 'A3 Instance Core running in Iowa',
      usageType: 'OnDemand',
      resourceGroup: 'CPU',
      usageUnit: 'h',
      item: 'a3/core',
      model: 'onDemand',
      scale: 1,
    },
    {
      description: 'G4 Instance Ram running in Iowa',
      usageType: 'OnDemand',
      resourceGroup: 'RAM',
      usageUnit: 'GiBy.h',
      item: 'g4/ram',
      model: 'onDemand',
      scale: 1,
    },
    {
      description: 'RTX 6000 96GB running in Iowa',
      usageType: 'OnDemand',
      resourceGroup: 'GPU',
      usageUnit: 'h',
      item: 'gpu/nvidia-rtx-pro-6000',
      model: 'onDemand',
      scale: 1,
    },
    {
      description: 'RTX 6000 96GB attached to Spot Preemptible VMs running in Iowa',
      usageType: 'Preemptible',
      resourceGroup: 'GPU',
      usageUnit: 'h',
      item: 'gpu/nvidia-rtx-pro-6000',
      model: 'spot',
      scale: 1,
    },
    {
      description: 'Nvidia H100 80GB Mega GPU running in Iowa',
      usageType: 'OnDemand',
      resourceGroup: 'GPU',
      usageUnit: 'h',
      item: 'gpu/nvidia-h100-mega-80gb',
      model: 'onDemand',
      scale: 1,
    },
    {
      description: 'Nvidia H200 141GB GPU running in Iowa',
      usageType: 'OnDemand',
      resourceGroup: 'GPU',
      usageUnit: 'h',
      item: 'gpu/nvidia-h200-141gb',
      model: 'onDemand',
      scale: 1,
    },
    {
      description: 'Nvidia Tesla V100 GPU attached to Spot Preemptible VMs running in Iowa',
      usageType: 'Preemptible',
      resourceGroup: 'GPU',
      usageUnit: 'h',
      item: 'gpu/nvidia-tesla-v100',
      model: 'spot',
      scale: 1,
    },
    {
      description: 'C4D Instance Local SSD running in Frankfurt',
      usageType: 'OnDemand',
      resourceGroup: 'LocalSSD',
      usageUnit: 'GiBy.mo',
      item: 'c4d/local-ssd',
      model: 'onDemand',
      scale: 1 / 730,
    },
    {
      description: 'Spot Preemptible C4 Instance Local SSD running in Iowa',
      usageType: 'Preemptible',
      resourceGroup: 'LocalSSD',
      usageUnit: 'GiBy.mo',
      item: 'c4/local-ssd',
      model: 'spot',
      scale: 1 / 730,
    },
    {
      description: 'SSD backed Local Storage in Iowa',
      usageType: 'OnDemand',
      resourceGroup: 'LocalSSD',
      usageUnit: 'GiBy.mo',
      item: 'ssd/local',
      model: 'onDemand',
      scale: 1 / 730,
    },
    // Categorised OnDemand, yet the Spot price of local SSD.
    {
      description: 'SSD backed Local Storage attached to Spot Preemptible VMs in Iowa',
      usageType: 'OnDemand',
      resourceGroup: 'LocalSSD',
      usageUnit: 'GiBy.mo',
      item: 'ssd/local',
      model: 'spot',
      scale: 1 / 730,
    },
  ])(
    '$description ($usageType $resourceGroup per $usageUnit) prices $item $model',
    ({ description, usageType, resourceGroup, usageUnit, item, model, scale }) => {
      const resourceFamily = description.startsWith('SSD backed') ? 'Storage' : 'Compute';
      const result = classifySku(
        sku({ description, usageType, resourceGroup, usageUnit, resourceFamily }),
      );
      expect(result).toMatchObject({ kind: 'component', item, model });
      expect(result.kind === 'component' && result.scale).toBeCloseTo(scale, 12);
    },
  );

  it('maps catalog GPU names onto Compute accelerator types', () => {
    expect(acceleratorTypeOf('Nvidia Tesla V100')).toBe('nvidia-tesla-v100');
    expect(acceleratorTypeOf('Nvidia  L4')).toBe('nvidia-l4');
  });
});

describe('buildPriceTable', () => {
  it('keeps the priced SKU over a zero-priced reservation variant, whatever the order', () => {
    const description = 'Nvidia L4 GPU running in Americas';
    const free = sku({ description, resourceGroup: 'GPU', unitPrice: 0, skuId: 'FREE' });
    const priced = sku({ description, resourceGroup: 'GPU', unitPrice: 0.5599, skuId: 'PAID' });
    for (const order of [
      [free, priced],
      [priced, free],
    ]) {
      const { table } = buildPriceTable(order);
      expect(table.get('us-central1', 'gpu/nvidia-l4', 'onDemand')).toMatchObject({
        price: 0.5599,
        skuId: 'PAID',
      });
    }
  });

  it('keeps the later price where two SKUs price the same component', () => {
    const description = 'Spot Preemptible N2 Instance Core running in Americas';
    const older = sku({
      description,
      usageType: 'Preemptible',
      unitPrice: 0.007,
      effectiveTime: '2026-11-01T00:00:00.000Z',
    });
    const newer = sku({
      description,
      usageType: 'Preemptible',
      unitPrice: 0.0075,
      effectiveTime: '2026-11-19T00:00:00.000Z',
    });
    const { table, duplicates } = buildPriceTable([newer, older]);
    expect(table.get('us-central1', 'n2/core', 'spot')?.price).toBe(0.0075);
    expect(duplicates).toBe(1);
  });

  it('prices memory per GiB-hour whatever unit the SKU uses, and lists what it cannot read', () => {
    const { table, unrecognised } = buildPriceTable([
      sku({
        description: 'C4D Instance Ram running in Frankfurt',
        usageUnit: 'GBy.h',
        unitPrice: 0.004,
      }),
      sku({
        description: 'SSD backed Local Storage in Iowa',
        resourceFamily: 'Storage',
        resourceGroup: 'LocalSSD',
        usageUnit: 'GiBy.mo',
        unitPrice: 0.08,
      }),
      sku({ description: 'X9 Quantum Instance Core running in Iowa' }),
      sku({ description: 'X9 Quantum Instance Core running in Iowa', regions: ['us-east1'] }),
    ]);
    expect(table.get('us-central1', 'c4d/ram', 'onDemand')?.price).toBeCloseTo(
      0.004 * 1.073741824,
      12,
    );
    expect(table.get('us-central1', 'ssd/local', 'onDemand')?.price).toBeCloseTo(0.08 / 730, 12);
    expect(unrecognised).toEqual(['X9 Quantum Instance Core running in Iowa']);
  });

  it('indexes the catalog fixture: every SKU is a component or deliberately skipped', () => {
    const skus = catalogFixtureSkus();
    const { table, components, skipped, unrecognised } = buildPriceTable(skus);
    expect(components + skipped).toBe(skus.length);
    expect(unrecognised).toEqual([]);
    // Commitment x2, sole tenancy, zero-priced L4, DWS A100, PD capacity, licence.
    expect(skipped).toBe(7);
    expect(table.get('us-east1', 'n2/core', 'spot')?.price).toBe(0.007594);
    expect(table.get('europe-west4', 'gpu/nvidia-l4', 'onDemand')?.price).toBeGreaterThan(0);
    expect(table.get('us-east5', 'gpu/nvidia-l4', 'onDemand')).toBeUndefined();
  });
});
