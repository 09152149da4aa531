import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  computeProtosSubset,
  importComputeModules,
  writeComputeProtos,
} from '../../functions/adapters/compute-protos.js';
import { protoSubset, type ProtoNode } from '../../functions/adapters/proto-subset.js';

const require = createRequire(import.meta.url);
const PROTOS = '@google-cloud/compute/build/protos/protos.json';
const compute = require(PROTOS) as ProtoNode;

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

describe('the part of Compute definitions that the build writes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'costguard-compute-protos-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const written = join(dir, 'compute-v1-protos.json');
  writeComputeProtos(written);
  const file = JSON.parse(readFileSync(written, 'utf8')) as {
    computeVersion: string;
    protos: ProtoNode;
  };

  /** What a client module's `require` of Compute's protos.json gets while `importComputeModules` runs. */
  async function requiredDuringImport(part: string): Promise<ProtoNode> {
    const path = require.resolve(PROTOS);
    const whole = require.cache[path];
    delete require.cache[path];
    try {
      const seen = await importComputeModules(
        () => Promise.resolve(require(PROTOS) as ProtoNode),
        part,
      );
      // Afterwards the file is not left in the cache as the part: a later require reads the whole.
      expect(require.cache[path]?.exports).not.toBe(file.protos);
      return seen;
    } finally {
      if (whole) require.cache[path] = whole;
    }
  }

  it('is the reduction of the whole for the installed Compute version, and reducing it again keeps it', () => {
    const version = (require('@google-cloud/compute/package.json') as { version: string }).version;
    expect(file.computeVersion).toBe(version);
    expect(file.protos).toEqual(computeProtosSubset(compute));
    // The clients reduce what they are given: the part comes out as it went in.
    expect(computeProtosSubset(file.protos)).toEqual(file.protos);
    expect(v1Of(file.protos)).toHaveProperty('GlobalOperations');
  });

  it('stands in for protos.json while Compute client modules load', async () => {
    const seen = await requiredDuringImport(written);
    expect(seen).toEqual(file.protos);
    expect(seen.nested?.google?.nested?.cloud?.nested?.compute?.nested).not.toHaveProperty(
      'v1beta',
    );
  });

  it.each([
    {
      case: 'written for another Compute version',
      content: () => JSON.stringify({ ...file, computeVersion: '0.0.1' }),
    },
    {
      case: 'written for other services',
      content: () => JSON.stringify({ ...file, services: ['Instances'] }),
    },
    { case: 'cut short', content: () => JSON.stringify(file).slice(0, 1000) },
  ])('is ignored when $case: the clients load the whole', async ({ case: name, content }) => {
    const stale = join(dir, `${name.replaceAll(' ', '-')}.json`);
    writeFileSync(stale, content());
    const seen = await requiredDuringImport(stale);
    expect(seen.nested?.google?.nested?.cloud?.nested?.compute?.nested).toHaveProperty('v1beta');
  });
});
