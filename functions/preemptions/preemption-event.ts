/**
 * The edge of `recordPreemption`: a `compute.instances.preempted` system event, validated and
 * reduced to a PreemptionNotice. System Event audit logs do not reach Eventarc's audit log
 * trigger (it carries Admin Activity and Data Access logs only), so deploy routes them with a
 * Logging sink to a Pub/Sub topic: the function receives `messagePublished` with the LogEntry as
 * base64 JSON. The audit log CloudEvent form (`data` = the LogEntry) is read too, so a replay
 * or a future trigger of that kind is understood. Anything else is a ValidationError that
 * names the field, acknowledged without any change.
 */
import { z } from 'zod';
import { PROJECT_ID } from '../core/config.js';
import { ValidationError } from '../core/errors.js';
import type { PreemptionNotice } from './preemption.js';

export const PUBSUB_MESSAGE_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';
export const AUDIT_LOG_WRITTEN = 'google.cloud.audit.log.v1.written';
export const PREEMPTED_METHOD = 'compute.instances.preempted';
export const SYSTEM_EVENT_LOG = 'cloudaudit.googleapis.com%2Fsystem_event';

const RESOURCE_NAME =
  /^projects\/([^/]+)\/zones\/([a-z]+-[a-z]+\d+-[a-z])\/instances\/([a-z]([-a-z0-9]{0,61}[a-z0-9])?)$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const logEntry = z.object({
  insertId: z.string().optional(),
  logName: z
    .string()
    .refine((name) => name.endsWith(`/logs/${SYSTEM_EVENT_LOG}`), 'must be a system_event log'),
  timestamp: z.iso.datetime({ offset: true }),
  protoPayload: z.object({
    serviceName: z.literal('compute.googleapis.com'),
    methodName: z.literal(PREEMPTED_METHOD),
    resourceName: z.string().regex(RESOURCE_NAME, 'must be projects/P/zones/Z/instances/NAME'),
  }),
  resource: z.object({
    type: z.literal('gce_instance'),
    labels: z.object({
      project_id: z.string().regex(PROJECT_ID, 'must be a project id'),
      instance_id: z.string().regex(/^\d{1,20}$/, 'must be a numeric instance id'),
      zone: z.string().optional(),
    }),
  }),
  operation: z.object({ id: z.string().min(1).max(200) }).optional(),
});

const pubsubData = z.object({
  message: z.object({
    data: z.string().regex(BASE64, 'must be base64'),
    messageId: z.string().optional(),
  }),
});

export interface PreemptionEvent {
  readonly id?: unknown;
  readonly type?: unknown;
  readonly data?: unknown;
}

function issuesOf(error: z.ZodError, prefix: string): string[] {
  return error.issues.map((i) => `${[prefix, ...i.path].join('.')}: ${i.message}`);
}

function jsonOf(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ValidationError(`${what} is not JSON`);
  }
}

/** The LogEntry inside either delivery form, still unvalidated. */
function logEntryOf(event: PreemptionEvent): { entry: unknown; prefix: string } {
  if (event.type === PUBSUB_MESSAGE_PUBLISHED) {
    const envelope = pubsubData.safeParse(event.data);
    if (!envelope.success) {
      throw new ValidationError('Not a Pub/Sub message', issuesOf(envelope.error, 'data'));
    }
    const text = new TextDecoder('utf-8').decode(Buffer.from(envelope.data.message.data, 'base64'));
    return { entry: jsonOf(text, 'The Pub/Sub message data'), prefix: 'message.data' };
  }
  if (event.type === AUDIT_LOG_WRITTEN) {
    const data = event.data;
    if (typeof data === 'string' || Buffer.isBuffer(data)) {
      return { entry: jsonOf(data.toString(), 'The audit log event data'), prefix: 'data' };
    }
    return { entry: data, prefix: 'data' };
  }
  throw new ValidationError('Not a preemption event', [
    `type: expected ${PUBSUB_MESSAGE_PUBLISHED} or ${AUDIT_LOG_WRITTEN}, got ${String(event.type)}`,
  ]);
}

/** Validates a delivered event and reads the preemption from it; throws ValidationError. */
export function parsePreemptionEvent(event: PreemptionEvent): PreemptionNotice {
  const { entry, prefix } = logEntryOf(event);
  const parsed = logEntry.safeParse(entry);
  if (!parsed.success) {
    throw new ValidationError('Not a Spot preemption system event', issuesOf(parsed.error, prefix));
  }
  const { protoPayload, resource, timestamp, operation, insertId } = parsed.data;
  const [, projectPart, zone, name] = RESOURCE_NAME.exec(protoPayload.resourceName) as unknown as [
    string,
    string,
    string,
    string,
  ];
  // resourceName may name the project by number; the monitored resource names it by id.
  const project = resource.labels.project_id;
  if (projectPart !== project && !/^\d+$/.test(projectPart)) {
    throw new ValidationError('Not a Spot preemption system event', [
      `${prefix}.protoPayload.resourceName: project ${projectPart} is not resource.labels.project_id ${project}`,
    ]);
  }
  const operationId = operation?.id ?? insertId;
  if (operationId === undefined) {
    throw new ValidationError('Not a Spot preemption system event', [
      `${prefix}.operation.id: missing, and no insertId`,
    ]);
  }
  return {
    project,
    zone,
    vmName: name,
    vmId: resource.labels.instance_id,
    preemptedAt: new Date(timestamp),
    operationId,
    seenBy: 'event',
  };
}
