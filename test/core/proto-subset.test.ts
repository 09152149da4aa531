import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { protoSubset, type ProtoNode } from '../../functions/adapters/proto-subset.js';

const compute = createRequire(import.meta.url)(
  '@google-cloud/compute/build/protos/protos.json',
) as ProtoNode;

const v1Of = (root: ProtoNode): Record<string, ProtoNode> =>
  root.nested?.google?.nested?.cloud?.nested?.compute?.nested?.v1?.nested ?? {};

describe('the part of Compute definitions that costguard loads', () => {
  const subset = protoSubset(compute, 'google.cloud.compute.v1', [
    'Instances',
    'ZoneOperations',
    'MachineTypes',
  ]);

  it('keeps the services, their messages and every type their fields name', () => {
    const v1 = v1Of(subset);
    for (const name of [
      'Instances',
      'ZoneOperations',
      'MachineTypes',
      'Instance',
      'InstanceAggregatedList',
      'InstancesScopedList',
      'Scheduling',
      'Operation',
      'MachineTypeAggregatedList',
      'AcceleratorConfig',
      'Warning',
      'SetLabelsInstanceRequest',
      'InstancesSetLabelsRequest',
    ]) {
      expect(Object.keys(v1)).toContain(name);
    }
    // A message's own nested types come with it (Instance.Status is an enum inside Instance).
    expect(v1.Instance?.nested).toHaveProperty('Status');
    expect(subset.nested?.google?.nested).toHaveProperty('api');
    expect(subset.nested?.google?.nested).toHaveProperty('protobuf');
  });

  it('drops the other services, their messages and the other API versions', () => {
    const v1 = v1Of(subset);
    for (const name of ['Disks', 'Disk', 'Firewalls', 'Routers', 'RegionOperations']) {
      expect(Object.keys(v1)).not.toContain(name);
    }
    expect(subset.nested?.google?.nested?.cloud?.nested?.compute?.nested).not.toHaveProperty(
      'v1beta',
    );
    expect(JSON.stringify(subset).length).toBeLessThan(JSON.stringify(compute).length / 10);
    // The source is left as it was.
    expect(v1Of(compute)).toHaveProperty('Disks');
  });

  it('names a service the definitions do not have', () => {
    expect(() => protoSubset(compute, 'google.cloud.compute.v1', ['Nonexistent'])).toThrow(
      'No service google.cloud.compute.v1.Nonexistent',
    );
  });
});
