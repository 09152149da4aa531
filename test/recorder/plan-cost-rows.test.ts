import { describe, expect, it } from 'vitest';
import type { UptimeSample } from '../../functions/adapters/monitoring.js';
import { pricedMachineKey, type PriceSource } from '../../functions/core/pricing.js';
import type { Vm } from '../../functions/core/vm.js';
import type { PriceQuote } from '../../functions/pricing/price-lookup.js';
import {
  machinesToQuote,
  planCostRows,
  resolveAttributes,
  rowsToWrite,
  toLedgerRow,
  toNumeric,
  type CostRow,
} from '../../functions/recorder/plan-cost-rows.js';
import type { InventorySnapshot } from '../../functions/recorder/vm-attributes.js';
import {
  attributesFingerprint,
  planInventorySnapshots,
} from '../../functions/recorder/vm-attributes.js';

const HOUR = new Date('2026-11-20T09:00:00Z');

function sample(instanceId: string, seconds: number, machineType?: string): UptimeSample {
  return {
    project: 'p-one-1',
    zone: 'us-central1-a',
    instanceId,
    instanceName: `vm-${instanceId}`,
    machineType,
    hourStart: HOUR,
    seconds,
  };
}

function vm(id: string, overrides: Partial<Vm> = {}): Vm {
  return {
    project: 'p-one-1',
    zone: 'us-central1-a',
    region: 'us-central1',
    name: `vm-${id}`,
    id,
    status: 'RUNNING',
    machineType: 'n2-standard-8',
    provisioningModel: 'SPOT',
    terminationAction: 'STOP',
    labels: { team: 'data' },
    labelFingerprint: 'f',
    gpus: [],
    managedBy: undefined,
    createdAt: undefined,
    ...overrides,
  };
}

function quote(source: PriceSource, hourly: number, onDemand: number): PriceQuote {
  return {
    rate: { hourly, spot: hourly, onDemand, currency: 'USD', source },
    shape: { vcpus: 8, memoryGib: 32, gpus: [], localSsdGib: 0 },
  };
}

describe('planCostRows', () => {
  const live = [vm('1'), vm('2', { provisioningModel: 'STANDARD' })];
  const inventory = new Map<string, InventorySnapshot[]>([
    [
      'p-one-1/3',
      [
        {
          project: 'p-one-1',
          zone: 'us-central1-a',
          instanceId: '3',
          instanceName: 'vm-3',
          machineType: 'n2-standard-8',
          provisioningModel: 'SPOT',
          terminationAction: 'DELETE',
          gpus: [],
          labels: { team: 'ml' },
          fingerprint: 'x',
          recordedAt: new Date('2026-11-20T08:10:00Z'),
        },
      ],
    ],
  ]);
  const samples = [
    sample('1', 1800),
    sample('2', 3600),
    sample('3', 900),
    sample('4', 60, 'n2-standard-8'),
    sample('5', 60),
  ];
  const attributes = resolveAttributes(samples, live, inventory);

  it('takes attributes from Compute, else the inventory, else Monitoring', () => {
    expect(attributes.map((a) => [a.source, a.provisioningModel, a.labels.team])).toEqual([
      ['compute', 'SPOT', 'data'],
      ['compute', 'STANDARD', 'data'],
      ['inventory', 'SPOT', 'ml'],
      ['monitoring', undefined, undefined],
      ['monitoring', undefined, undefined],
    ]);
  });

  it('asks for one quote per distinct machine', () => {
    expect(machinesToQuote(attributes).map(pricedMachineKey)).toEqual([
      'us-central1|n2-standard-8|SPOT|',
      'us-central1|n2-standard-8|STANDARD|',
    ]);
  });

  it("costs each hour at the VM's own rate and keeps uptime it cannot price", () => {
    const quotes = new Map([
      ['us-central1|n2-standard-8|SPOT|', quote('catalog', 0.1, 0.4)],
      ['us-central1|n2-standard-8|STANDARD|', quote('catalog', 0.4, 0.4)],
    ]);
    const rows = planCostRows(samples, attributes, quotes, 'USD');
    expect(
      rows.map((r) => [r.rowKey, r.uptimeSeconds, r.cost, r.onDemandCost, r.priceSource]),
    ).toEqual([
      ['p-one-1/us-central1-a/1/2026-11-20T09:00:00.000Z', 1800, 0.05, 0.2, 'catalog'],
      ['p-one-1/us-central1-a/2/2026-11-20T09:00:00.000Z', 3600, 0.4, 0.4, 'catalog'],
      ['p-one-1/us-central1-a/3/2026-11-20T09:00:00.000Z', 900, 0.025, 0.1, 'catalog'],
      // Machine type from Monitoring: the on-demand equivalent is known, the cost is not.
      ['p-one-1/us-central1-a/4/2026-11-20T09:00:00.000Z', 60, undefined, 0.4 / 60, 'unknown'],
      ['p-one-1/us-central1-a/5/2026-11-20T09:00:00.000Z', 60, undefined, undefined, 'unknown'],
    ]);
    expect(rows[3]?.provisioningModel).toBe('UNKNOWN');
  });

  it('leaves the cost unknown when no source could price the machine', () => {
    const rows = planCostRows(
      samples.slice(0, 1),
      attributes.slice(0, 1),
      new Map([
        [
          'us-central1|n2-standard-8|SPOT|',
          {
            rate: {
              hourly: 0,
              spot: undefined,
              onDemand: 0,
              currency: 'USD',
              source: 'unknown' as const,
            },
            shape: undefined,
          },
        ],
      ]),
      'USD',
    );
    expect(rows[0]).toMatchObject({
      cost: undefined,
      onDemandCost: undefined,
      spotRate: undefined,
      priceSource: 'unknown',
    });
  });
});

describe('rowsToWrite', () => {
  const row = (uptimeSeconds: number, priceSource: PriceSource): CostRow =>
    ({ rowKey: 'k', uptimeSeconds, priceSource }) as CostRow;

  it.each<{
    case: string;
    candidate: CostRow;
    recorded: { uptimeSeconds: number; priceSource: PriceSource } | undefined;
    write: boolean;
  }>([
    {
      case: 'a row never recorded',
      candidate: row(3600, 'catalog'),
      recorded: undefined,
      write: true,
    },
    {
      case: 'the same row again',
      candidate: row(3600, 'catalog'),
      recorded: { uptimeSeconds: 3600, priceSource: 'catalog' },
      write: false,
    },
    {
      case: 'a float wobble in uptime',
      candidate: row(3600.2, 'catalog'),
      recorded: { uptimeSeconds: 3600, priceSource: 'catalog' },
      write: false,
    },
    {
      case: 'late Monitoring data',
      candidate: row(3600, 'catalog'),
      recorded: { uptimeSeconds: 2400, priceSource: 'catalog' },
      write: true,
    },
    {
      case: 'less uptime than recorded',
      candidate: row(2400, 'catalog'),
      recorded: { uptimeSeconds: 3600, priceSource: 'catalog' },
      write: false,
    },
    {
      case: 'the catalog back after the price book',
      candidate: row(3600, 'catalog'),
      recorded: { uptimeSeconds: 3600, priceSource: 'price-book' },
      write: true,
    },
    {
      case: 'a price where there was none',
      candidate: row(3600, 'price-book'),
      recorded: { uptimeSeconds: 3600, priceSource: 'unknown' },
      write: true,
    },
    {
      case: 'the price book after the catalog',
      candidate: row(3600, 'price-book'),
      recorded: { uptimeSeconds: 3600, priceSource: 'catalog' },
      write: false,
    },
  ])('$case: write=$write', ({ candidate, recorded, write }) => {
    const map = new Map(recorded ? [['k', recorded]] : []);
    expect(rowsToWrite([candidate], map)).toEqual(write ? [candidate] : []);
  });
});

describe('toNumeric', () => {
  it.each([
    { value: 0.093296, text: '0.093296' },
    { value: 0.004187875, text: '0.004187875' },
    { value: 2, text: '2' },
    { value: 0.1 + 0.2, text: '0.3' },
    { value: 1.92768 + 0.051404 + 0.093296, text: '2.07238' },
    { value: undefined, text: null },
    { value: Number.NaN, text: null },
  ])('$value -> $text', ({ value, text }) => {
    expect(toNumeric(value)).toBe(text);
  });
});

describe('toLedgerRow', () => {
  it('gives a correction a new insertId under the same row key', () => {
    const attributes = resolveAttributes(
      [sample('1', 3600)],
      [vm('1')],
      new Map<string, InventorySnapshot[]>(),
    );
    const quotes = new Map([['us-central1|n2-standard-8|SPOT|', quote('catalog', 0.1, 0.4)]]);
    const [full] = planCostRows([sample('1', 3600)], attributes, quotes, 'USD');
    const [partial] = planCostRows([sample('1', 2400)], attributes, quotes, 'USD');
    const at = new Date('2026-11-20T10:10:00Z');
    const a = toLedgerRow(full as CostRow, at);
    const b = toLedgerRow(partial as CostRow, at);
    expect(a.row.row_key).toBe(b.row.row_key);
    expect(a.key).not.toBe(b.key);
    expect(toLedgerRow(full as CostRow, new Date()).key).toBe(a.key);
  });
});

describe('each hour priced as it was', () => {
  const n2 = 'us-central1|n2-standard-8|';
  const quotes = new Map([
    [`${n2}SPOT|`, quote('catalog', 0.1, 0.4)],
    [`${n2}STANDARD|`, quote('catalog', 0.4, 0.4)],
    ['us-central1|n2-standard-16|SPOT|', quote('catalog', 0.2, 0.8)],
  ]);
  const at = (iso: string): UptimeSample => ({ ...sample('7', 3600), hourStart: new Date(iso) });
  const snapshot = (model: 'SPOT' | 'STANDARD', recordedAt: string): InventorySnapshot => {
    const shape = vm('7', { provisioningModel: model });
    return {
      project: 'p-one-1',
      zone: 'us-central1-a',
      instanceId: '7',
      instanceName: 'vm-7',
      machineType: 'n2-standard-8',
      provisioningModel: model,
      terminationAction: 'STOP',
      gpus: [],
      labels: { team: 'data' },
      fingerprint: attributesFingerprint(shape),
      recordedAt: new Date(recordedAt),
    };
  };

  it('prices the hours before a STANDARD to SPOT switch as STANDARD, and the later ones as Spot', () => {
    // Prepare: snapshots at 07:10 (STANDARD) and 09:10 (SPOT, the run after the switch); live is SPOT.
    const history = new Map([
      [
        'p-one-1/7',
        [snapshot('STANDARD', '2026-11-20T07:10:00Z'), snapshot('SPOT', '2026-11-20T09:10:00Z')],
      ],
    ]);
    const samples = ['2026-11-20T07:00:00Z', '2026-11-20T08:00:00Z', '2026-11-20T09:00:00Z'].map(
      (h) => at(h),
    );

    // Act: a catch-up run re-records all three hours with today's VM in Compute.
    const attributes = resolveAttributes(samples, [vm('7')], history);
    const rows = planCostRows(samples, attributes, quotes, 'USD');

    // Assess
    expect(
      rows.map((r) => [r.hour.toISOString().slice(11, 16), r.provisioningModel, r.cost]),
    ).toEqual([
      ['07:00', 'STANDARD', 0.4],
      ['08:00', 'STANDARD', 0.4],
      ['09:00', 'SPOT', 0.1],
    ]);
    expect(attributes.map((a) => a.source)).toEqual(['inventory', 'inventory', 'compute']);
  });

  it('splits a resized hour by uptime, each part at its machine type, into one row', () => {
    // Monitoring starts a new series when the machine type changes: 20 minutes, then 40.
    const samples = [
      { ...sample('1', 1200, 'n2-standard-8') },
      { ...sample('1', 2400, 'n2-standard-16') },
    ];
    const attributes = resolveAttributes(
      samples,
      [vm('1', { machineType: 'n2-standard-16' })],
      new Map<string, InventorySnapshot[]>(),
    );
    const rows = planCostRows(samples, attributes, quotes, 'USD');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ uptimeSeconds: 3600, priceSource: 'catalog' });
    expect(rows[0]?.attributes.machineType).toBe('n2-standard-16');
    expect(rows[0]?.cost).toBeCloseTo((1200 / 3600) * 0.1 + (2400 / 3600) * 0.2, 12);
    expect(rows[0]?.onDemandCost).toBeCloseTo((1200 / 3600) * 0.4 + (2400 / 3600) * 0.8, 12);
  });

  it('sums split series of one instance and hour rather than dropping one', () => {
    const samples = [sample('1', 1500), sample('1', 900)];
    const attributes = resolveAttributes(
      samples,
      [vm('1')],
      new Map<string, InventorySnapshot[]>(),
    );
    const rows = planCostRows(samples, attributes, quotes, 'USD');
    expect(rows.map((r) => [r.rowKey, r.uptimeSeconds])).toEqual([
      ['p-one-1/us-central1-a/1/2026-11-20T09:00:00.000Z', 2400],
    ]);
    expect(rows[0]?.cost).toBeCloseTo((2400 / 3600) * 0.1, 12);
  });

  it('leaves a split hour unpriced when one of its parts cannot be priced', () => {
    const samples = [sample('1', 1800, 'n2-standard-8'), sample('1', 1800, 'n9-standard-4')];
    const attributes = resolveAttributes(
      samples,
      [vm('1')],
      new Map<string, InventorySnapshot[]>(),
    );
    const rows = planCostRows(samples, attributes, quotes, 'USD');
    expect(rows.map((r) => [r.uptimeSeconds, r.cost, r.priceSource])).toEqual([
      [3600, undefined, 'unknown'],
    ]);
  });
});

describe('planInventorySnapshots', () => {
  it('snapshots new VMs and changed ones, not unchanged ones', () => {
    const unchanged = vm('1');
    const relabelled = vm('2', { labels: { team: 'ml' } });
    const stored = new Map<string, InventorySnapshot>([
      ['p-one-1/1', { fingerprint: attributesFingerprint(unchanged) } as InventorySnapshot],
      ['p-one-1/2', { fingerprint: attributesFingerprint(vm('2')) } as InventorySnapshot],
    ]);
    const rows = planInventorySnapshots([unchanged, relabelled, vm('3')], stored, HOUR);
    expect(rows.map((r) => r.row.instance_id)).toEqual(['2', '3']);
    expect(rows[0]?.row).toMatchObject({
      machine_type: 'n2-standard-8',
      provisioning_model: 'SPOT',
      termination_action: 'STOP',
      labels: '{"team":"ml"}',
      gpus: '[]',
    });
  });
});
