/**
 * A Cloud Audit Logs entry as it reaches an event function, in either delivery form: Eventarc's
 * audit log CloudEvent (`google.cloud.audit.log.v1.written`, `data` = the LogEntry, which only
 * sees the project the trigger is in) or a Logging sink's Pub/Sub message (`messagePublished`,
 * `message.data` = base64 of the LogEntry's JSON), which is how entries of other projects (and
 * System Event logs, which audit log triggers never carry) arrive. The entry is returned
 * unvalidated, with the path prefix its fields have in the event, for the caller's own schema.
 */
import { z } from 'zod';
import { ValidationError } from './errors.js';

export const PUBSUB_MESSAGE_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';
export const AUDIT_LOG_WRITTEN = 'google.cloud.audit.log.v1.written';

/** A Compute instance in an audit entry's `protoPayload.resourceName` (project by id or number). */
export const INSTANCE_RESOURCE_NAME =
  /^projects\/([^/]+)\/zones\/([a-z]+-[a-z]+\d+-[a-z])\/instances\/([a-z]([-a-z0-9]{0,61}[a-z0-9])?)$/;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const pubsubData = z.object({
  message: z.object({
    data: z.string().regex(BASE64, 'must be base64'),
    messageId: z.string().optional(),
  }),
});

export interface DeliveredEvent {
  readonly id?: unknown;
  readonly type?: unknown;
  readonly data?: unknown;
}

/** `path: message` for each issue, the path under `prefix`. */
export function issuesOf(error: z.ZodError, prefix: string): string[] {
  return error.issues.map((i) => `${[prefix, ...i.path].join('.')}: ${i.message}`);
}

function jsonOf(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ValidationError(`${what} is not JSON`);
  }
}

/**
 * The LogEntry inside either delivery form, still unvalidated; `what` names the event the
 * function expects, for the ValidationError of any other type.
 */
export function logEntryOf(
  event: DeliveredEvent,
  what: string,
): { entry: unknown; prefix: string } {
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
  throw new ValidationError(`Not ${what}`, [
    `type: expected ${PUBSUB_MESSAGE_PUBLISHED} or ${AUDIT_LOG_WRITTEN}, got ${String(event.type)}`,
  ]);
}
