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
    ['E2 Instance Core running in Americas', 'OnDemand', 'e2/core', 'onDemand'],
    ['Spot Preemptible E2 Instance Ram running in Americas', 'Preemptible', 'e2/ram', 'spot'],
    ['N1 Predefined Instance Core running in Americas', 'OnDemand', 'n1/core', 'onDemand'],
    ['Preemptible N1 Predefined Instance Ram running in Americas', 'Preemptible', 'n1/ram', 'spot'],
    ['Spot Preemptible N2 Instance Core running in Americas', 'Preemptible', 'n2/core', 'spot'],
    ['N2D AMD Instance Ram running in Netherlands', 'OnDemand', 'n2d/ram', 'onDemand'],
    ['Compute optimized Core running in Americas', 'OnDemand', 'c2/core', 'onDemand'],
    ['Spot Preemptible Compute optimized Ram running in Americas', 'Preemptible', 'c2/ram', 'spot'],
    ['Spot Preemptible C3 Instance Core running in Netherlands', 'Preemptible', 'c3/core', 'spot'],
    ['T2D AMD Instance Core running in Americas', 'OnDemand', 't2d/core', 'onDemand'],
    ['Spot Preemptible A2 Instance Ram running in Americas', 'Preemptible', 'a2/ram', 'spot'],
    ['G2 Instance Core running in Americas', 'OnDemand', 'g2/core', 'onDemand'],
    ['Custom Instance Core running in Americas', 'OnDemand', 'n1/custom-core', 'onDemand'],
    [
      'Spot Preemptible Custom Extended Instance Ram running in APAC',
      'Preemptible',
      'n1/custom-extended-ram',
      'spot',
    ],
    ['N2 Custom Instance Ram running in Americas', 'OnDemand', 'n2/custom-ram', 'onDemand'],
    [
      'Spot Preemptible N2 Custom Extended Instance Ram running in Americas',
      'Preemptible',
      'n2/custom-extended-ram',
      'spot',
    ],
    ['N2D AMD Custom Instance Core running in Americas', 'OnDemand', 'n2d/custom-core', 'onDemand'],
    [
      'Spot Preemptible E2 Custom Instance Core running in Tokyo',
      'Preemptible',
      'e2/custom-core',
      'spot',
    ],
    ['Memory-optimized Instance Core running in Americas', 'OnDemand', 'm1/core', 'onDemand'],
  ])('%s (%s) prices %s', (description, usageType, item, model) => {
    expect(classifySku(sku({ description, usageType }))).toEqual({
      kind: 'component',
      item,
      model,
      scale: 1,
    });
  });

  it.each([
    ['Micro Instance with burstable CPU running in Americas', 'F1Micro', 'f1/vm'],
    ['Spot Preemptible Small Instance with 1 VCPU running in Japan', 'G1Small', 'g1/vm'],
  ])('prices the whole f1/g1 machine from "%s"', (description, resourceGroup, item) => {
    const result = classifySku(sku({ description, resourceGroup, usageUnit: 'h' }));
    expect(result).toMatchObject({ kind: 'component', item });
  });

  it.each([
    ['Nvidia Tesla A100 GPU running in Americas', 'OnDemand', 'gpu/nvidia-tesla-a100'],
    [
      'Nvidia L4 GPU attached to Spot Preemptible VMs running in Americas',
      'Preemptible',
      'gpu/nvidia-l4',
    ],
    [
      'Nvidia Tesla T4 GPU attached to Spot Preemptible VMs running in Americas',
      'Preemptible',
      'gpu/nvidia-tesla-t4',
    ],
    ['Nvidia Tesla A100 80GB GPU running in Americas', 'OnDemand', 'gpu/nvidia-a100-80gb'],
    ['Nvidia H100 80GB GPU running in Americas', 'OnDemand', 'gpu/nvidia-h100-80gb'],
  ])('prices GPUs from "%s"', (description, usageType, item) => {
    const result = classifySku(sku({ description, usageType, resourceGroup: 'GPU' }));
    expect(result).toMatchObject({ kind: 'component', item });
  });

  it.each([
    [
      'a commitment',
      { description: 'Commitment v1: N2 Cpu in Americas for 1 Year', usageType: 'Commit1Yr' },
    ],
    ['sole tenancy', { description: 'Sole Tenancy Instance Core running in Americas' }],
    [
      'a DWS GPU',
      {
        description:
          'Nvidia Tesla A100 GPU attached to DWS Defined Duration VMs running in Americas',
        resourceGroup: 'GPU',
      },
    ],
    [
      'a zero-priced GPU',
      { description: 'Nvidia L4 GPU running in Americas', resourceGroup: 'GPU', unitPrice: 0 },
    ],
    [
      'storage',
      {
        description: 'Balanced PD Capacity in Americas',
        resourceFamily: 'Storage',
        usageUnit: 'GiBy.mo',
      },
    ],
    [
      'a licence',
      {
        description: 'Licensing Fee for SQL Server 2016 Standard on VM with 18 VCPU',
        resourceFamily: 'License',
      },
    ],
    ['extended cores', { description: 'N2 Custom Extended Instance Core running in Americas' }],
  ] as Array<[string, Partial<CatalogSku> & { description: string }]>)(
    'skips %s',
    (_what, fields) => {
      expect(classifySku(sku(fields)).kind).toBe('skipped');
    },
  );

  it.each([
    [
      'a RAM SKU priced per hour',
      { description: 'N2 Instance Ram running in Americas', usageUnit: 'h' },
    ],
    ['an unknown series', { description: 'Sole Instance Core running in Americas' }],
    [
      'a local SSD priced per hour of nothing',
      {
        description: 'Z3 Instance Local SSD running in Iowa',
        resourceGroup: 'LocalSSD',
        usageUnit: 'h',
      },
    ],
  ] as Array<[string, Partial<CatalogSku> & { description: string }]>)(
    'reports %s as unrecognised, so the refresh can log it',
    (_what, fields) => {
      expect(classifySku(sku(fields)).kind).toBe('unrecognised');
    },
  );

  // Every family of the published prices, worded and measured as the catalog has them.
  const GIB_PER_GB = 1024 ** 3 / 1e9;
  it.each([
    [
      'C4D Instance Ram running in Frankfurt',
      'OnDemand',
      'RAM',
      'GBy.h',
      'c4d/ram',
      'onDemand',
      GIB_PER_GB,
    ],
    [
      'Spot Preemptible C4D Instance Ram running in Frankfurt',
      'Preemptible',
      'RAM',
      'GBy.h',
      'c4d/ram',
      'spot',
      GIB_PER_GB,
    ],
    ['C4D Instance Core running in Frankfurt', 'OnDemand', 'CPU', 'h', 'c4d/core', 'onDemand', 1],
    ['C4A Arm Instance Core running in Iowa', 'OnDemand', 'CPU', 'h', 'c4a/core', 'onDemand', 1],
    ['N4A Instance Ram running in Iowa', 'OnDemand', 'RAM', 'GiBy.h', 'n4a/ram', 'onDemand', 1],
    [
      'Spot Preemptible T2A Arm Instance Core running in Iowa',
      'Preemptible',
      'CPU',
      'h',
      't2a/core',
      'spot',
      1,
    ],
    ['C4N Instance Core running in London', 'OnDemand', 'CPU', 'h', 'c4n/core', 'onDemand', 1],
    ['N4D Instance Ram running in Iowa', 'OnDemand', 'RAM', 'GiBy.h', 'n4d/ram', 'onDemand', 1],
    ['Z3 Instance Core running in Netherlands', 'OnDemand', 'CPU', 'h', 'z3/core', 'onDemand', 1],
    ['H3 Instance Ram running in Iowa', 'OnDemand', 'RAM', 'GiBy.h', 'h3/ram', 'onDemand', 1],
    [
      'M3 Memory-optimized Instance Core running in Iowa',
      'OnDemand',
      'CPU',
      'h',
      'm3/core',
      'onDemand',
      1,
    ],
    [
      'Spot Preemptible M3 Memory-optimized Instance Ram running in Iowa',
      'Preemptible',
      'RAM',
      'GiBy.h',
      'm3/ram',
      'spot',
      1,
    ],
    ['M4 Instance Core running in Iowa', 'OnDemand', 'CPU', 'h', 'm4/core', 'onDemand', 1],
    [
      'M4Ultramem224 Instance Ram running in Iowa',
      'OnDemand',
      'RAM',
      'GiBy.h',
      'm4-ultramem-224/ram',
      'onDemand',
      1,
    ],
    [
      'Memory Optimized Upgrade Premium for Memory-optimized Instance Core running in Americas',
      'OnDemand',
      'CPU',
      'h',
      'm2/upgrade-core',
      'onDemand',
      1,
    ],
    [
      'Memory Optimized Upgrade Premium for Memory-optimized Instance Ram running in Americas',
      'OnDemand',
      'RAM',
      'GiBy.h',
      'm2/upgrade-ram',
      'onDemand',
      1,
    ],
    ['A3 Instance Core running in Iowa', 'OnDemand', 'CPU', 'h', 'a3/core', 'onDemand', 1],
    ['G4 Instance Ram running in Iowa', 'OnDemand', 'RAM', 'GiBy.h', 'g4/ram', 'onDemand', 1],
    [
      'RTX 6000 96GB running in Iowa',
      'OnDemand',
      'GPU',
      'h',
      'gpu/nvidia-rtx-pro-6000',
      'onDemand',
      1,
    ],
    [
      'RTX 6000 96GB attached to Spot Preemptible VMs running in Iowa',
      'Preemptible',
      'GPU',
      'h',
      'gpu/nvidia-rtx-pro-6000',
      'spot',
      1,
    ],
    [
      'Nvidia H100 80GB Mega GPU running in Iowa',
      'OnDemand',
      'GPU',
      'h',
      'gpu/nvidia-h100-mega-80gb',
      'onDemand',
      1,
    ],
    [
      'Nvidia H200 141GB GPU running in Iowa',
      'OnDemand',
      'GPU',
      'h',
      'gpu/nvidia-h200-141gb',
      'onDemand',
      1,
    ],
    [
      'Nvidia Tesla V100 GPU attached to Spot Preemptible VMs running in Iowa',
      'Preemptible',
      'GPU',
      'h',
      'gpu/nvidia-tesla-v100',
      'spot',
      1,
    ],
    [
      'C4D Instance Local SSD running in Frankfurt',
      'OnDemand',
      'LocalSSD',
      'GiBy.mo',
      'c4d/local-ssd',
      'onDemand',
      1 / 730,
    ],
    [
      'Spot Preemptible C4 Instance Local SSD running in Iowa',
      'Preemptible',
      'LocalSSD',
      'GiBy.mo',
      'c4/local-ssd',
      'spot',
      1 / 730,
    ],
    [
      'SSD backed Local Storage in Iowa',
      'OnDemand',
      'LocalSSD',
      'GiBy.mo',
      'ssd/local',
      'onDemand',
      1 / 730,
    ],
    // Categorised OnDemand, yet the Spot price of local SSD.
    [
      'SSD backed Local Storage attached to Spot Preemptible VMs in Iowa',
      'OnDemand',
      'LocalSSD',
      'GiBy.mo',
      'ssd/local',
      'spot',
      1 / 730,
    ],
  ])(
    '%s (%s %s per %s) prices %s %s',
    (description, usageType, resourceGroup, usageUnit, item, model, scale) => {
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
