/**
 * Typed stand-ins the budget, cap and label tests share: a running Spot VM to vary field by field,
 * and a price lookup answering from a table of Spot prices.
 */
import type { HourlyRate, PricedMachine, PriceLookup } from '../../functions/core/pricing.js';
import type { Vm } from '../../functions/core/vm.js';

export function vmWith(overrides: Partial<Vm> = {}): Vm {
  return {
    project: 'ml-training-prod',
    zone: 'us-central1-a',
    region: 'us-central1',
    name: 'vision-trainer-1',
    id: '100000000000000001',
    status: 'RUNNING',
    machineType: 'n2-standard-8',
    provisioningModel: 'SPOT',
    terminationAction: 'STOP',
    labels: {},
    labelFingerprint: 'abc=',
    gpus: [],
    managedBy: undefined,
    createdAt: undefined,
    ...overrides,
  };
}

/**
 * Spot prices per hour by machine type; on demand costs four times as much, and a STANDARD VM
 * pays it. A machine type not in the table has no price.
 */
export function spotPrices(spotHourly: Readonly<Record<string, number>>): PriceLookup {
  return {
    rate(machine: PricedMachine): Promise<HourlyRate> {
      const spot = spotHourly[machine.machineType];
      if (spot === undefined) {
        return Promise.resolve({
          hourly: 0,
          spot: undefined,
          onDemand: 0,
          currency: 'USD',
          source: 'unknown',
        });
      }
      const onDemand = spot * 4;
      const hourly = machine.provisioningModel === 'STANDARD' ? onDemand : spot;
      return Promise.resolve({ hourly, spot, onDemand, currency: 'USD', source: 'catalog' });
    },
  };
}
