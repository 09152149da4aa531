import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../functions/core/errors.js';
import {
  parsePreemptionEvent,
  parseRecordPreemptionEvent,
} from '../../functions/preemptions/preemption-event.js';
import { RESUME_JOB } from '../../deploy/resources.js';
import { preemptionLogEntry, sinkPushBody } from '../../functions/sandbox/routes/logging.js';
import { loadFixture } from '../support/fixtures.js';
import { startTestSandbox } from '../support/sandbox.js';

// The edge of recordPreemption: the system event as a Logging sink publishes it (the function's
// Pub/Sub trigger) and as an audit log CloudEvent, every other shape refused with the field named.

type LogEntry = Record<string, unknown> & {
  protoPayload: Record<string, unknown>;
  resource: { labels: Record<string, unknown> };
  operation?: Record<string, unknown>;
};

const entry = (): LogEntry => loadFixture<LogEntry>('audit/preempted-system-event.json');

/** The LogEntry as the function's Pub/Sub trigger delivers it. */
const published = (data: unknown) => ({
  id: '42',
  type: 'google.cloud.pubsub.topic.v1.messagePublished',
  data: {
    message: { data: Buffer.from(JSON.stringify(data)).toString('base64'), messageId: '42' },
  },
});

const EXPECTED = {
  project: 'ml-training-prod',
  zone: 'us-central1-b',
  vmName: 'batch-n2-1',
  vmId: '6730194827361054821',
  preemptedAt: new Date('2026-11-20T03:12:41.208Z'),
  operationId: 'systemevent-1795144356104-5f2c8a1e3b7d9-4c61a0e2-9d8b7f35',
  seenBy: 'event',
};

describe('parsePreemptionEvent', () => {
  it.each([
    { form: 'the Pub/Sub message of the Logging sink', fixture: 'preempted-message-published' },
    { form: 'the audit log CloudEvent', fixture: 'preempted-audit-log' },
  ])('reads $form', ({ fixture }) => {
    expect(parsePreemptionEvent(loadFixture(`audit/${fixture}.json`))).toEqual(EXPECTED);
  });

  it('names the project by id when the resource name carries its number', () => {
    const data = entry();
    data.protoPayload.resourceName =
      'projects/731194830012/zones/us-central1-b/instances/batch-n2-1';

    expect(parsePreemptionEvent(published(data)).project).toBe('ml-training-prod');
  });

  it('keys a preemption without operation by its insertId', () => {
    const data = entry();
    delete data.operation;

    expect(parsePreemptionEvent(published(data)).operationId).toBe('k3v9x2e1q7bm');
  });

  it.each([
    {
      what: 'an event of another type',
      event: { type: 'google.cloud.storage.object.v1.finalized', data: {} },
      message: 'Not a preemption event',
      issue: 'type: expected',
    },
    {
      what: 'a message that is not base64',
      event: {
        type: 'google.cloud.pubsub.topic.v1.messagePublished',
        data: { message: { data: '{not base64}' } },
      },
      message: 'Not a Pub/Sub message',
      issue: 'data.message.data: must be base64',
    },
    {
      what: 'a message that is not JSON',
      event: {
        type: 'google.cloud.pubsub.topic.v1.messagePublished',
        data: { message: { data: Buffer.from('preempted!').toString('base64') } },
      },
      message: 'The Pub/Sub message data is not JSON',
      issue: '',
    },
    {
      what: 'another method (an instance insert)',
      event: published({
        ...entry(),
        protoPayload: { ...entry().protoPayload, methodName: 'v1.compute.instances.insert' },
      }),
      issue: 'message.data.protoPayload.methodName',
    },
    {
      what: 'an Admin Activity entry',
      event: published({
        ...entry(),
        logName: 'projects/ml-training-prod/logs/cloudaudit.googleapis.com%2Factivity',
      }),
      issue: 'message.data.logName: must be a system_event log',
    },
    {
      what: 'an entry without the instance id',
      event: published({
        ...entry(),
        resource: { type: 'gce_instance', labels: { project_id: 'ml-training-prod' } },
      }),
      issue: 'message.data.resource.labels.instance_id',
    },
    {
      what: 'an entry whose resource name is not an instance',
      event: published({
        ...entry(),
        protoPayload: {
          ...entry().protoPayload,
          resourceName: 'projects/ml-training-prod/global/images/x',
        },
      }),
      issue: 'message.data.protoPayload.resourceName',
    },
    {
      what: 'an entry naming two projects',
      event: published({
        ...entry(),
        protoPayload: {
          ...entry().protoPayload,
          resourceName: 'projects/data-pipelines/zones/us-central1-b/instances/batch-n2-1',
        },
      }),
      issue: 'is not resource.labels.project_id',
    },
  ])('refuses $what, naming what is wrong', ({ event, issue, message }) => {
    let error: unknown;
    try {
      parsePreemptionEvent(event);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const validation = error as ValidationError;
    expect(validation.message).toContain(message ?? 'Not a Spot preemption system event');
    expect(validation.issues.join('\n')).toContain(issue);
  });

  it('reads the entries the sandbox writes and pushes, which have the fixture shape', async () => {
    const sandbox = await startTestSandbox();
    try {
      const vm = sandbox.fleet.get('ml-training-prod', 'us-central1-b', 'batch-n2-1')!;
      const op = sandbox.fleet.preempt(vm);
      const written = preemptionLogEntry(vm, op, sandbox.clock.nowMs());
      const push = sinkPushBody(written, 'ml-training-prod', 'costguard-preemptions');

      expect(Object.keys(written).sort()).toEqual(Object.keys(entry()).sort());
      expect(
        parsePreemptionEvent({ type: 'google.cloud.pubsub.topic.v1.messagePublished', data: push }),
      ).toEqual({
        project: 'ml-training-prod',
        zone: 'us-central1-b',
        vmName: 'batch-n2-1',
        vmId: vm.id,
        preemptedAt: sandbox.clock.now(),
        operationId: op.name,
        seenBy: 'event',
      });
      expect(op.name).toMatch(/^systemevent-\d+-/);
    } finally {
      await sandbox.close();
    }
  });
});

describe('parseRecordPreemptionEvent', () => {
  it.each([
    { case: 'the resume tick deploy schedules', data: RESUME_JOB.message, kind: 'resume-due' },
    { case: 'a preemption', data: JSON.stringify(entry()), kind: 'preemption' },
  ])('tells $case by its message', ({ data, kind }) => {
    expect(parseRecordPreemptionEvent(published(JSON.parse(data))).kind).toBe(kind);
  });

  it.each([
    { case: 'another task', data: { task: 'stop-everything' } },
    { case: 'a tick with more fields', data: { task: 'resume-runs', runId: 'run-1' } },
  ])('refuses $case, naming the field', ({ data }) => {
    expect(() => parseRecordPreemptionEvent(published(data))).toThrow(ValidationError);
    expect(() => parseRecordPreemptionEvent(published(data))).toThrow(/costguard task/);
  });
});
