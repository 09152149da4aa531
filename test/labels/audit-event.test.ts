import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../functions/core/errors.js';
import { parseInsertEvent } from '../../functions/labels/audit-event.js';
import { loadFixture } from '../support/fixtures.js';
import type { AuditEventFixture } from './label-sandbox.js';

const event = (name: string): AuditEventFixture =>
  loadFixture<AuditEventFixture>(`audit/${name}.json`);

/** The CloudEvent a Pub/Sub trigger delivers for a Logging sink's entry. */
function sinkMessage(entry: unknown): {
  type: string;
  data: { message: { data: string; messageId: string }; subscription: string };
} {
  return {
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    data: {
      message: {
        data: Buffer.from(JSON.stringify(entry)).toString('base64'),
        messageId: '9182736450',
      },
      subscription: 'projects/costguard-host/subscriptions/eventarc-us-central1-sub-451',
    },
  };
}

describe('parseInsertEvent', () => {
  it.each([
    {
      fixture: 'insert-v1-first',
      api: 'v1',
      phase: 'first',
      project: 'ml-training-prod',
      name: 'vision-new-1',
      operationId: 'operation-1795133100000-6440c3f0a2b1e-5b2a9d3c-8e1f4a7b',
    },
    {
      fixture: 'insert-v1-last',
      api: 'v1',
      phase: 'last',
      project: 'ml-training-prod',
      name: 'vision-new-1',
      operationId: 'operation-1795133100000-6440c3f0a2b1e-5b2a9d3c-8e1f4a7b',
    },
    {
      fixture: 'insert-beta-first',
      api: 'beta',
      phase: 'first',
      project: 'data-pipelines',
      name: 'etl-console-7',
      operationId: 'operation-1795133520000-6440c58a31d07-0c7e4b2f-93d5a1e6',
    },
    {
      fixture: 'insert-beta-last',
      api: 'beta',
      phase: 'last',
      project: 'data-pipelines',
      name: 'etl-console-7',
      operationId: 'operation-1795133520000-6440c58a31d07-0c7e4b2f-93d5a1e6',
    },
  ])(
    'reads $fixture: the $api API, the $phase entry of one operation',
    ({ fixture, api, phase, project, name, operationId }) => {
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

  it.each(['insert-v1-first', 'insert-v1-last', 'insert-beta-first', 'insert-v1-failed'])(
    "reads %s the same when a governed project's Logging sink publishes it to the topic",
    (fixture) => {
      const e = event(fixture);

      const published = parseInsertEvent(sinkMessage(e.data));

      expect(published).toEqual(parseInsertEvent(e));
    },
  );

  it.each([
    {
      case: 'a message that is not base64',
      data: { message: { data: '%%%' } },
      message: 'data.message.data: must be base64',
    },
    {
      case: 'a message that is not JSON',
      data: { message: { data: Buffer.from('{"protoPayload":').toString('base64') } },
      message: 'The Pub/Sub message data is not JSON',
    },
    {
      case: 'a published entry of another method',
      data: sinkMessage({
        ...event('insert-v1-first').data,
        protoPayload: {
          ...event('insert-v1-first').data.protoPayload,
          methodName: 'v1.compute.instances.delete',
        },
      }).data,
      message: 'message.data.protoPayload.methodName',
    },
  ])('refuses $case from the topic with a ValidationError', ({ data, message }) => {
    const attempt = () =>
      parseInsertEvent({ type: 'google.cloud.pubsub.topic.v1.messagePublished', data });

    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(message);
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
    {
      case: 'another event type',
      change: (e: AuditEventFixture) => ({
        ...e,
        type: 'google.cloud.storage.object.v1.finalized',
      }),
      message:
        'type: expected google.cloud.pubsub.topic.v1.messagePublished or google.cloud.audit.log.v1.written',
    },
    {
      case: 'text that is not JSON',
      change: (e: AuditEventFixture) => ({ ...e, data: '{"protoPayload":' }),
      message: 'The audit log event data is not JSON',
    },
    {
      case: 'no data',
      change: (e: AuditEventFixture) => ({ ...e, data: undefined }),
      message: 'data:',
    },
    {
      case: 'another service',
      change: (e: AuditEventFixture) => {
        e.data.protoPayload.serviceName = 'storage.googleapis.com';
        return e;
      },
      message: 'protoPayload.serviceName',
    },
    {
      case: 'another method',
      change: (e: AuditEventFixture) => {
        e.data.protoPayload.methodName = 'v1.compute.instances.stop';
        return e;
      },
      message: 'protoPayload.methodName',
    },
    {
      case: 'a resource that is not an instance',
      change: (e: AuditEventFixture) => {
        e.data.protoPayload.resourceName = 'projects/p/zones/us-central1-a/disks/d';
        return e;
      },
      message: 'protoPayload.resourceName',
    },
    {
      case: 'an instance name Compute would refuse',
      change: (e: AuditEventFixture) => {
        e.data.protoPayload.resourceName =
          'projects/ml-training-prod/zones/us-central1-a/instances/Bad_Name';
        return e;
      },
      message: 'protoPayload.resourceName',
    },
    {
      case: 'a project number and no project id',
      change: (e: AuditEventFixture) => {
        e.data.protoPayload.resourceName =
          'projects/481516234201/zones/us-central1-a/instances/vm-1';
        delete e.data.resource;
        return e;
      },
      message: 'no project id',
    },
    {
      case: 'an operation without an id',
      change: (e: AuditEventFixture) => {
        e.data.operation = { first: true };
        return e;
      },
      message: 'operation.id',
    },
  ])('refuses $case with a ValidationError that says what is wrong', ({ change, message }) => {
    const attempt = (): unknown => parseInsertEvent(change(event('insert-v1-first')));
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(message);
  });
});
