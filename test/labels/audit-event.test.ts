import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../functions/core/errors.js';
import { parseInsertEvent } from '../../functions/labels/audit-event.js';
import { loadFixture } from '../support/fixtures.js';
import type { AuditEventFixture } from './label-sandbox.js';

const event = (name: string): AuditEventFixture =>
  loadFixture<AuditEventFixture>(`audit/${name}.json`);

describe('parseInsertEvent', () => {
  it.each([
    [
      'insert-v1-first',
      'v1',
      'first',
      'ml-training-prod',
      'vision-new-1',
      'operation-1795133100000-6440c3f0a2b1e-5b2a9d3c-8e1f4a7b',
    ],
    [
      'insert-v1-last',
      'v1',
      'last',
      'ml-training-prod',
      'vision-new-1',
      'operation-1795133100000-6440c3f0a2b1e-5b2a9d3c-8e1f4a7b',
    ],
    [
      'insert-beta-first',
      'beta',
      'first',
      'data-pipelines',
      'etl-console-7',
      'operation-1795133520000-6440c58a31d07-0c7e4b2f-93d5a1e6',
    ],
    [
      'insert-beta-last',
      'beta',
      'last',
      'data-pipelines',
      'etl-console-7',
      'operation-1795133520000-6440c58a31d07-0c7e4b2f-93d5a1e6',
    ],
  ])(
    'reads %s: the %s API, the %s entry of one operation',
    (fixture, api, phase, project, name, operationId) => {
      const entry = parseInsertEvent(event(fixture));
      expect(entry).toMatchObject({
        api,
        phase,
        operationId,
        ref: { project, name },
        failure: undefined,
      });
      expect(entry.instanceId).toMatch(/^\d{19}$/);
    },
  );

  it('reads a failed insert as a failure with its status', () => {
    expect(parseInsertEvent(event('insert-v1-failed'))).toMatchObject({
      phase: 'single',
      instanceId: undefined,
      failure:
        "status 8: Quota 'PREEMPTIBLE_NVIDIA_A100_GPUS' exceeded.  Limit: 0.0 in region us-central1.",
    });
  });

  it('takes the project id from the monitored resource when the resource name has the number', () => {
    const e = event('insert-v1-last');
    e.data.protoPayload.resourceName =
      'projects/481516234201/zones/us-central1-a/instances/vision-new-1';
    expect(parseInsertEvent(e).ref).toEqual({
      project: 'ml-training-prod',
      zone: 'us-central1-a',
      name: 'vision-new-1',
    });
  });

  it('accepts the entry as JSON text', () => {
    const e = event('insert-beta-last');
    expect(parseInsertEvent({ ...e, data: JSON.stringify(e.data) }).ref.name).toBe('etl-console-7');
  });

  it('uses the insertId when an entry has no operation', () => {
    const e = event('insert-v1-first');
    delete e.data.operation;
    expect(parseInsertEvent(e)).toMatchObject({ phase: 'single', operationId: '-4k2v9ce1a7b3' });
  });

  it.each([
    [
      'another event type',
      (e: AuditEventFixture) => ({ ...e, type: 'google.cloud.storage.object.v1.finalized' }),
      'type: expected google.cloud.audit.log.v1.written',
    ],
    [
      'text that is not JSON',
      (e: AuditEventFixture) => ({ ...e, data: '{"protoPayload":' }),
      'Audit log event data is not JSON',
    ],
    ['no data', (e: AuditEventFixture) => ({ ...e, data: undefined }), 'data:'],
    [
      'another service',
      (e: AuditEventFixture) => {
        e.data.protoPayload.serviceName = 'storage.googleapis.com';
        return e;
      },
      'protoPayload.serviceName',
    ],
    [
      'another method',
      (e: AuditEventFixture) => {
        e.data.protoPayload.methodName = 'v1.compute.instances.stop';
        return e;
      },
      'protoPayload.methodName',
    ],
    [
      'a resource that is not an instance',
      (e: AuditEventFixture) => {
        e.data.protoPayload.resourceName = 'projects/p/zones/us-central1-a/disks/d';
        return e;
      },
      'protoPayload.resourceName',
    ],
    [
      'an instance name Compute would refuse',
      (e: AuditEventFixture) => {
        e.data.protoPayload.resourceName =
          'projects/ml-training-prod/zones/us-central1-a/instances/Bad_Name';
        return e;
      },
      'protoPayload.resourceName',
    ],
    [
      'a project number and no project id',
      (e: AuditEventFixture) => {
        e.data.protoPayload.resourceName =
          'projects/481516234201/zones/us-central1-a/instances/vm-1';
        delete e.data.resource;
        return e;
      },
      'no project id',
    ],
    [
      'an operation without an id',
      (e: AuditEventFixture) => {
        e.data.operation = { first: true };
        return e;
      },
      'operation.id',
    ],
  ])('refuses %s with a ValidationError that says what is wrong', (_what, change, message) => {
    const attempt = (): unknown => parseInsertEvent(change(event('insert-v1-first')));
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(message);
  });
});
