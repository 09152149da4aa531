import { describe, expect, it } from 'vitest';
import type { PricedMachine } from '../../functions/core/pricing.js';
import type { AttachedGpu, ProvisioningModel } from '../../functions/core/vm.js';
import { buildPriceTable } from '../../functions/pricing/catalog-skus.js';
import { componentsOf, priceMachine } from '../../functions/pricing/price-machine.js';
import { catalogFixtureSkus, fixtureMachineShapes } from './pricing-fixtures.js';

// Catalog fixture prices in us-central1/us-east1/us-west1 ("running in Americas"), USD per hour:
//   per vCPU:  e2 0.021811 / 0.006543 Spot   n1 0.031611 / 0.006655   n2 0.031611 / 0.007594
//              n2d 0.027502 / 0.006604      c2 0.03398 / 0.008156    t2d 0.027502 / 0.006604
//              a2 0.031611 / 0.01659        g2 0.024988 / 0.00999
//   per GiB:   e2 0.002923 / 0.000877       n1 0.004237 / 0.000892   n2 0.004237 / 0.001017
//              n2d 0.003686 / 0.000885      c2 0.00455 / 0.001092    t2d 0.003686 / 0.000885
//              a2 0.004237 / 0.00222        g2 0.002927 / 0.00117
//   custom:    n2 core 0.033191 / 0.007974, ram 0.004449 / 0.001068, extended 0.00955 / 0.002296
//              n1 core 0.033174 / 0.00697,  ram 0.004446 / 0.000935, extended 0.00955 / 0.002
//              e2 core 0.02289 / 0.00687,   ram 0.003067 / 0.000921
//   machines:  f1-micro 0.0076 / 0.0035, g1-small 0.0257 / 0.007
//   GPUs:      A100 2.933908 / 1.5399, L4 0.5599 / 0.224, T4 0.35 / 0.14
// europe-west4 ("running in Netherlands"): c3 per vCPU 0.038115 / 0.005643, per GiB 0.004332 / 0.000756.
const table = buildPriceTable(catalogFixtureSkus()).table;
const shapes = fixtureMachineShapes();

interface Case {
  machineType: string;
  region?: string;
  model?: ProvisioningModel;
  gpus?: AttachedGpu[];
  vcpus: number;
  memoryGib: number;
  onDemand: number;
  spot: number;
}

async function quote(c: Case) {
  const machine: PricedMachine = {
    region: c.region ?? 'us-central1',
    machineType: c.machineType,
    provisioningModel: c.model ?? 'SPOT',
    gpus: c.gpus ?? [],
  };
  const parts = await componentsFor(machine);
  return { rate: priceMachine(table, 'catalog', machine, parts), shape: parts.priced };
}

async function componentsFor(machine: PricedMachine) {
  const shape = await shapes.shape(machine.machineType);
  const parts = shape && componentsOf(machine, shape);
  if (!parts) throw new Error(`no components for ${machine.machineType}`);
  return parts;
}

describe('provisioning models without SKUs of their own', () => {
  it.each<{ model: ProvisioningModel; source: string }>([
    { model: 'FLEX_START', source: 'catalog-standard-rate' },
    { model: 'RESERVATION_BOUND', source: 'catalog-standard-rate' },
    { model: 'STANDARD', source: 'catalog' },
  ])('prices $model at the on-demand rate, flagged as $source', async ({ model, source }) => {
    // 8 x 0.031611 + 32 x 0.004237 = 0.388472
    const { rate } = await quote({
      machineType: 'n2-standard-8',
      model,
      vcpus: 8,
      memoryGib: 32,
      onDemand: 0.388472,
      spot: 0.093296,
    });
    expect(rate?.source).toBe(source);
    expect(rate?.hourly).toBeCloseTo(0.388472, 10);
  });
});

describe('priceMachine with catalog SKUs (hand-computed)', () => {
  it.each<{ case: string; c: Case }>([
    // 4 x 0.031611 + 15 x 0.004237 = 0.189999; 4 x 0.006655 + 15 x 0.000892 = 0.04
    {
      case: 'N1',
      c: {
        machineType: 'n1-standard-4',
        model: 'PREEMPTIBLE',
        vcpus: 4,
        memoryGib: 15,
        onDemand: 0.189999,
        spot: 0.04,
      },
    },
    // 8 x 0.031611 + 32 x 0.004237 = 0.388472; 8 x 0.007594 + 32 x 0.001017 = 0.093296
    {
      case: 'N2',
      c: {
        machineType: 'n2-standard-8',
        vcpus: 8,
        memoryGib: 32,
        onDemand: 0.388472,
        spot: 0.093296,
      },
    },
    // 4 x 0.027502 + 16 x 0.003686 = 0.168984; 4 x 0.006604 + 16 x 0.000885 = 0.040576
    {
      case: 'N2D',
      c: {
        machineType: 'n2d-standard-4',
        vcpus: 4,
        memoryGib: 16,
        onDemand: 0.168984,
        spot: 0.040576,
      },
    },
    // shared core: 0.25 x 0.021811 + 1 x 0.002923 = 0.00837575; 0.25 x 0.006543 + 0.000877 = 0.00251275
    {
      case: 'E2 micro',
      c: {
        machineType: 'e2-micro',
        vcpus: 0.25,
        memoryGib: 1,
        onDemand: 0.00837575,
        spot: 0.00251275,
      },
    },
    // 0.5 x 0.021811 + 2 x 0.002923 = 0.0167515; 0.5 x 0.006543 + 2 x 0.000877 = 0.0050255
    {
      case: 'E2 small',
      c: {
        machineType: 'e2-small',
        vcpus: 0.5,
        memoryGib: 2,
        onDemand: 0.0167515,
        spot: 0.0050255,
      },
    },
    // 1 x 0.021811 + 4 x 0.002923 = 0.033503; 0.006543 + 4 x 0.000877 = 0.010051
    {
      case: 'E2 medium',
      c: { machineType: 'e2-medium', vcpus: 1, memoryGib: 4, onDemand: 0.033503, spot: 0.010051 },
    },
    // 4 x 0.021811 + 16 x 0.002923 = 0.134012; 4 x 0.006543 + 16 x 0.000877 = 0.040204
    {
      case: 'E2 standard',
      c: {
        machineType: 'e2-standard-4',
        vcpus: 4,
        memoryGib: 16,
        onDemand: 0.134012,
        spot: 0.040204,
      },
    },
    // 8 x 0.03398 + 32 x 0.00455 = 0.41744; 8 x 0.008156 + 32 x 0.001092 = 0.100192
    {
      case: 'C2',
      c: {
        machineType: 'c2-standard-8',
        region: 'us-east1',
        vcpus: 8,
        memoryGib: 32,
        onDemand: 0.41744,
        spot: 0.100192,
      },
    },
    // 8 x 0.038115 + 32 x 0.004332 = 0.443544; 8 x 0.005643 + 32 x 0.000756 = 0.069336
    {
      case: 'C3',
      c: {
        machineType: 'c3-standard-8',
        region: 'europe-west4',
        vcpus: 8,
        memoryGib: 32,
        onDemand: 0.443544,
        spot: 0.069336,
      },
    },
    // 4 x 0.027502 + 16 x 0.003686 = 0.168984; 4 x 0.006604 + 16 x 0.000885 = 0.040576
    {
      case: 'T2D',
      c: {
        machineType: 't2d-standard-4',
        vcpus: 4,
        memoryGib: 16,
        onDemand: 0.168984,
        spot: 0.040576,
      },
    },
    // 12 x 0.031611 + 85 x 0.004237 + 2.933908 = 3.673385; 12 x 0.01659 + 85 x 0.00222 + 1.5399 = 1.92768
    {
      case: 'A2 with its bundled A100',
      c: {
        machineType: 'a2-highgpu-1g',
        vcpus: 12,
        memoryGib: 85,
        onDemand: 3.673385,
        spot: 1.92768,
      },
    },
    // the instance reports the same A100 the type bundles: counted once
    {
      case: 'A2 reporting its A100',
      c: {
        machineType: 'a2-highgpu-1g',
        gpus: [{ type: 'nvidia-tesla-a100', count: 1 }],
        vcpus: 12,
        memoryGib: 85,
        onDemand: 3.673385,
        spot: 1.92768,
      },
    },
    // 8 x 0.024988 + 32 x 0.002927 + 0.5599 = 0.853468; 8 x 0.00999 + 32 x 0.00117 + 0.224 = 0.34136
    {
      case: 'G2 with its L4',
      c: {
        machineType: 'g2-standard-8',
        vcpus: 8,
        memoryGib: 32,
        onDemand: 0.853468,
        spot: 0.34136,
      },
    },
    // 4 x 0.031611 + 15 x 0.004237 + 2 x 0.35 = 0.889999; 0.04 + 2 x 0.14 = 0.32
    {
      case: 'N1 with two attached T4',
      c: {
        machineType: 'n1-standard-4',
        gpus: [{ type: 'nvidia-tesla-t4', count: 2 }],
        vcpus: 4,
        memoryGib: 15,
        onDemand: 0.889999,
        spot: 0.32,
      },
    },
    // 20 GiB is within 4 x 8 GiB: no extended memory. 4 x 0.033191 + 20 x 0.004449 = 0.221744
    {
      case: 'N2 custom, -ext within the limit',
      c: {
        machineType: 'n2-custom-4-20480-ext',
        vcpus: 4,
        memoryGib: 20,
        onDemand: 0.221744,
        spot: 0.053256,
      },
    },
    // 2 vCPU x 8 GiB at the custom rate, 8 GiB extended: 2 x 0.033191 + 16 x 0.004449 + 8 x 0.00955 = 0.213966
    //                                                    2 x 0.007974 + 16 x 0.001068 + 8 x 0.002296 = 0.051404
    {
      case: 'N2 custom with extended memory',
      c: {
        machineType: 'n2-custom-2-24576-ext',
        vcpus: 2,
        memoryGib: 24,
        onDemand: 0.213966,
        spot: 0.051404,
      },
    },
    // N1 limit 6.5 GiB/vCPU: 13 GiB custom + 2 GiB extended. 2 x 0.033174 + 13 x 0.004446 + 2 x 0.00955 = 0.143246
    {
      case: 'N1 custom with extended memory',
      c: {
        machineType: 'custom-2-15360-ext',
        vcpus: 2,
        memoryGib: 15,
        onDemand: 0.143246,
        spot: 0.030095,
      },
    },
    // 4 x 0.02289 + 8 x 0.003067 = 0.116096; 4 x 0.00687 + 8 x 0.000921 = 0.034848
    {
      case: 'E2 custom',
      c: {
        machineType: 'e2-custom-4-8192',
        vcpus: 4,
        memoryGib: 8,
        onDemand: 0.116096,
        spot: 0.034848,
      },
    },
    {
      case: 'f1-micro, priced per machine',
      c: {
        machineType: 'f1-micro',
        vcpus: 1,
        memoryGib: 614 / 1024,
        onDemand: 0.0076,
        spot: 0.0035,
      },
    },
    {
      case: 'g1-small, priced per machine',
      c: {
        machineType: 'g1-small',
        vcpus: 1,
        memoryGib: 1740 / 1024,
        onDemand: 0.0257,
        spot: 0.007,
      },
    },
  ])('$case', async ({ c }) => {
    const { rate, shape } = await quote(c);
    expect(rate?.source).toBe('catalog');
    expect(rate?.currency).toBe('USD');
    expect(rate?.onDemand).toBeCloseTo(c.onDemand, 10);
    expect(rate?.spot).toBeCloseTo(c.spot, 10);
    expect(rate?.hourly).toBeCloseTo(c.model === 'STANDARD' ? c.onDemand : c.spot, 10);
    expect(shape?.vcpus).toBe(c.vcpus);
    expect(shape?.memoryGib).toBeCloseTo(c.memoryGib, 12);
  });

  it('charges a STANDARD VM the on-demand rate and still reports its Spot equivalent', async () => {
    const { rate } = await quote({
      machineType: 'n2-standard-8',
      model: 'STANDARD',
      vcpus: 8,
      memoryGib: 32,
      onDemand: 0,
      spot: 0,
    });
    expect(rate?.hourly).toBeCloseTo(0.388472, 10);
    expect(rate?.spot).toBeCloseTo(0.093296, 10);
  });

  it.each([
    {
      case: 'a region the catalog does not cover',
      machineType: 'n2-standard-8',
      region: 'me-west1',
    },
    {
      case: 'a family the region does not offer (no A2 in Columbus)',
      machineType: 'a2-highgpu-1g',
      region: 'us-east5',
    },
  ])('cannot price $case', async ({ machineType, region }) => {
    const machine: PricedMachine = { region, machineType, provisioningModel: 'SPOT', gpus: [] };
    expect(priceMachine(table, 'catalog', machine, await componentsFor(machine))).toBeUndefined();
  });

  it('cannot price a GPU the catalog has no SKU for', async () => {
    const machine: PricedMachine = {
      region: 'us-central1',
      machineType: 'n1-standard-4',
      provisioningModel: 'SPOT',
      gpus: [{ type: 'nvidia-tesla-k80', count: 1 }],
    };
    expect(priceMachine(table, 'catalog', machine, await componentsFor(machine))).toBeUndefined();
  });
});
