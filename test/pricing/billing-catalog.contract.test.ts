import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BillingCatalog,
  COMPUTE_ENGINE_SERVICE,
} from '../../functions/adapters/billing-catalog.js';
import { MachineTypeShapes } from '../../functions/adapters/machine-types.js';
import { isTransient } from '../../functions/core/errors.js';
import { loadFixture } from '../support/fixtures.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';

// The real @google-cloud/billing and @google-cloud/compute clients against the sandbox routes.
describe('Billing Catalog contract', () => {
  let sandbox: Sandbox;
  let runtime: ReturnType<typeof sandboxRuntime>;
  const retry = { baseDelayMs: 1, maxDelayMs: 2 };
  const fixtureCount = loadFixture<{ skus: unknown[] }>('catalog/compute-skus.json').skus.length;

  beforeEach(async () => {
    sandbox = await startTestSandbox('fleets/contract.json', {});
    runtime = sandboxRuntime(sandbox);
  });
  afterEach(() => sandbox.close());

  const catalog = (options: { pageSize?: number; currency?: string; service?: string } = {}) =>
    new BillingCatalog(() => runtime.clients.catalog(), {
      logger: runtime.logger,
      retry,
      ...options,
    });

  it('follows every page the client is given, as the REST transport asks for them', async () => {
    const skus = await catalog({ pageSize: 400 }).listSkus();

    expect(skus).toHaveLength(fixtureCount);
    expect(new Set(skus.map((s) => s.skuId)).size).toBe(fixtureCount);
    const pages = sandbox.calls.filter((c) => c.route === 'billingCatalog.skus.list');
    expect(pages.map((c) => c.path)).toEqual(Array(3).fill(`/v1/${COMPUTE_ENGINE_SERVICE}/skus`));
    expect(pages.every((c) => !c.authorization)).toBe(true);
  });

  it('reads each SKU as the pricing engine needs it', async () => {
    const skus = await catalog().listSkus();
    const a100 = skus.find(
      (s) =>
        s.description ===
        'Nvidia Tesla A100 GPU attached to Spot Preemptible VMs running in Americas',
    );
    expect(a100).toMatchObject({
      resourceFamily: 'Compute',
      resourceGroup: 'GPU',
      usageType: 'Preemptible',
      regions: ['us-central1', 'us-east1', 'us-west1'],
      usageUnit: 'h',
      unitPrice: 1.5399,
      currency: 'USD',
      effectiveTime: '2026-11-19T04:35:12.345Z',
    });
    const ram = skus.find((s) => s.description === 'N2 Instance Ram running in Americas');
    expect(ram).toMatchObject({ usageUnit: 'GiBy.h', unitPrice: 0.004237 });
  });

  it('retries a page that fails transiently, not the whole listing', async () => {
    sandbox.faults.set('billingCatalog.skus.list', { fail: { count: 1, status: 503 } });
    const skus = await catalog({ pageSize: 1000 }).listSkus();
    expect(skus).toHaveLength(fixtureCount);
    const statuses = sandbox.calls
      .filter((c) => c.route === 'billingCatalog.skus.list')
      .map((c) => c.status);
    expect(statuses).toEqual([503, 200, 200]);
  });

  it.each([
    { case: 'a currency code that does not exist', options: { currency: 'XYZ' } },
    { case: 'a service that does not exist', options: { service: 'services/0000-0000-0000' } },
  ])('fails permanently for $case', async ({ options }) => {
    const error: unknown = await catalog(options)
      .listSkus()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(isTransient(error)).toBe(false);
    expect(sandbox.calls.filter((c) => c.route === 'billingCatalog.skus.list')).toHaveLength(1);
  });

  it('converts every price to the currency asked for, as the catalog does', async () => {
    const client = await runtime.clients.catalog();
    const parent = 'services/6F81-5844-456A';
    const [usd] = await client.listSkus({ parent, pageSize: 5 }, { autoPaginate: false });
    const [eur] = await client.listSkus(
      { parent, pageSize: 5, currencyCode: 'EUR' },
      { autoPaginate: false },
    );
    const nanos = (p: { units?: unknown; nanos?: number | null } | null | undefined) =>
      Number(p?.units ?? 0) * 1e9 + (p?.nanos ?? 0);
    const info = (sku: (typeof eur)[number]) => sku.pricingInfo?.[0];
    const usdPrice = info(usd[0]!)?.pricingExpression?.tieredRates?.[0]?.unitPrice;
    const eurPrice = info(eur[0]!)?.pricingExpression?.tieredRates?.[0]?.unitPrice;
    expect(info(eur[0]!)?.currencyConversionRate).toBe(0.92);
    expect(eurPrice?.currencyCode).toBe('EUR');
    expect(nanos(eurPrice)).toBe(Math.round(nanos(usdPrice) * 0.92));
  });

  it('picks the latest pricing info and the first tier of a SKU', async () => {
    const { toCatalogSku } = await import('../../functions/adapters/billing-catalog.js');
    const tier = (start: number, nanos: number) => ({
      startUsageAmount: start,
      unitPrice: { currencyCode: 'USD', units: '0', nanos },
    });
    const sku = toCatalogSku({
      skuId: 'X',
      description: 'Spot Preemptible N2 Instance Core running in Americas',
      category: { resourceFamily: 'Compute', resourceGroup: 'CPU', usageType: 'Preemptible' },
      serviceRegions: ['us-central1'],
      pricingInfo: [
        {
          effectiveTime: { seconds: 1_790_000_000, nanos: 0 },
          pricingExpression: { usageUnit: 'h', tieredRates: [tier(0, 7_000_000)] },
        },
        {
          effectiveTime: { seconds: 1_795_000_000, nanos: 0 },
          pricingExpression: {
            usageUnit: 'h',
            tieredRates: [tier(100, 1_000_000), tier(0, 7_594_000)],
          },
        },
      ],
    });
    expect(sku?.unitPrice).toBe(0.007594);
    expect(sku?.effectiveTime).toBe(new Date(1_795_000_000_000).toISOString());
    expect(toCatalogSku({ skuId: 'Y', description: 'no price', pricingInfo: [] })).toBeUndefined();
  });
});

describe('Machine types contract', () => {
  let sandbox: Sandbox;
  let runtime: ReturnType<typeof sandboxRuntime>;

  beforeEach(async () => {
    sandbox = await startTestSandbox();
    runtime = sandboxRuntime(sandbox);
  });
  afterEach(() => sandbox.close());

  const shapes = () =>
    new MachineTypeShapes(() => runtime.clients.machineTypes(), {
      project: 'ml-training-prod',
      logger: runtime.logger,
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
    });

  it('reads vCPUs, memory, shared core and bundled GPUs, with one lookup for the names asked together', async () => {
    const port = shapes();
    const [a2, again, micro] = await Promise.all([
      port.shape('a2-highgpu-1g'),
      port.shape('a2-highgpu-1g'),
      port.shape('e2-micro'),
    ]);
    expect(a2).toEqual({
      name: 'a2-highgpu-1g',
      vcpus: 12,
      memoryMb: 87040,
      sharedCpu: false,
      gpus: [{ type: 'nvidia-tesla-a100', count: 1 }],
      localSsdGib: 0,
    });
    expect(again).toEqual(a2);
    expect(micro).toMatchObject({ vcpus: 2, memoryMb: 1024, sharedCpu: true });
    const lookups = sandbox.calls.filter((c) => c.route === 'compute.machineTypes.aggregatedList');
    expect(lookups).toHaveLength(1);
    expect(await port.shape('e2-micro')).toEqual(micro);
    expect(
      sandbox.calls.filter((c) => c.route === 'compute.machineTypes.aggregatedList'),
    ).toHaveLength(1);
  });

  it.each([
    { name: 'c3-standard-8-lssd', vcpus: 8, memoryMb: 32 * 1024, gpus: [], localSsdGib: 750 },
    {
      name: 'z3-highmem-16-highlssd',
      vcpus: 16,
      memoryMb: 128 * 1024,
      gpus: [],
      localSsdGib: 6000,
    },
    {
      name: 'a3-megagpu-8g',
      vcpus: 208,
      memoryMb: 1872 * 1024,
      gpus: [{ type: 'nvidia-h100-mega-80gb', count: 8 }],
      localSsdGib: 6000,
    },
    {
      name: 'g4-standard-6',
      vcpus: 6,
      memoryMb: 22 * 1024,
      gpus: [{ type: 'nvidia-rtx-pro-6000', count: 0.125 }],
      localSsdGib: 0,
    },
    { name: 'c4d-highcpu-32', vcpus: 32, memoryMb: 60 * 1024, gpus: [], localSsdGib: 0 },
  ])(
    'reads $name with its bundled GPUs and local SSD partitions',
    async ({ name, vcpus, memoryMb, gpus, localSsdGib }) => {
      expect(await shapes().shape(name)).toEqual({
        name,
        vcpus,
        memoryMb,
        sharedCpu: false,
        gpus,
        localSsdGib,
      });
    },
  );

  it('answers every name of one lookup, an unknown one with nothing, and looks up later names again', async () => {
    const port = shapes();
    const [n2, unknown, g2] = await Promise.all([
      port.shape('n2-standard-8'),
      port.shape('n9-standard-8'),
      port.shape('g2-standard-8'),
    ]);
    expect(n2).toMatchObject({ vcpus: 8, memoryMb: 32768, gpus: [] });
    expect(unknown).toBeUndefined();
    expect(g2).toMatchObject({ vcpus: 8, gpus: [{ type: 'nvidia-l4', count: 1 }] });
    expect(await port.shape('c2-standard-8')).toMatchObject({ vcpus: 8 });
    const lookups = sandbox.calls.filter((c) => c.route === 'compute.machineTypes.aggregatedList');
    // One for the three names asked together, one for the name asked later.
    expect(lookups).toHaveLength(2);
  });

  it('reads custom types from their names, and knows nothing of unknown or malformed names', async () => {
    const port = shapes();
    expect(await port.shape('n2-custom-4-20480-ext')).toEqual({
      name: 'n2-custom-4-20480-ext',
      vcpus: 4,
      memoryMb: 20480,
      sharedCpu: false,
      gpus: [],
      localSsdGib: 0,
    });
    expect(await port.shape('n9-standard-8')).toBeUndefined();
    expect(await port.shape('n2-standard-8) OR (name = x')).toBeUndefined();
    expect(
      sandbox.calls.filter((c) => c.route === 'compute.machineTypes.aggregatedList'),
    ).toHaveLength(1);
  });
});
