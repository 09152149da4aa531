/**
 * The edge of `recordPreemption`: a `compute.instances.preempted` system event, validated and
 * reduced to a PreemptionNotice. System Event audit logs do not reach Eventarc's audit log
 * trigger (it carries Admin Activity and Data Access logs only), so deploy routes them with a
 * Logging sink to a Pub/Sub topic: the function receives `messagePublished` with the LogEntry as
 * base64 JSON. The audit log CloudEvent form is read too (`core/log-entry-event.ts` reads both),
 * so a replay or a future trigger of that kind is understood. The same topic carries the resume
 * tick that Cloud Scheduler publishes every few minutes (`{"task":"resume-runs"}`): runs whose
 * backoff after a preemption is over start their next attempt without anyone reading them.
 * Anything else is a ValidationError that names the field, acknowledged without any change.
 */
import { z } from 'zod';
import { PROJECT_ID } from '../core/config.js';
import { ValidationError } from '../core/errors.js';
import {
  INSTANCE_RESOURCE_NAME,
  issuesOf,
  logEntryOf,
  type DeliveredEvent,
} from '../core/log-entry-event.js';
import type { PreemptionNotice } from './preemption.js';

export const PREEMPTED_METHOD = 'compute.instances.preempted';
export const SYSTEM_EVENT_LOG = 'cloudaudit.googleapis.com%2Fsystem_event';
/** The message Cloud Scheduler publishes to the preemptions topic to resume runs that are due. */
export const RESUME_TICK = { task: 'resume-runs' } as const;

const RESOURCE_NAME = INSTANCE_RESOURCE_NAME;

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

const resumeTick = z.strictObject({ task: z.literal(RESUME_TICK.task) });

/** What a delivery to recordPreemption asks for: record a preemption, or resume the runs due. */
export type RecordPreemptionInput =
  | { readonly kind: 'preemption'; readonly notice: PreemptionNotice }
  | { readonly kind: 'resume-due' };

/** Validates a delivered event: a preemption, or the scheduled resume tick; throws ValidationError. */
export function parseRecordPreemptionEvent(event: DeliveredEvent): RecordPreemptionInput {
  const { entry, prefix } = logEntryOf(event, 'a preemption event');
  if (typeof entry === 'object' && entry !== null && 'task' in entry) {
    const tick = resumeTick.safeParse(entry);
    if (!tick.success) {
      throw new ValidationError('Not a costguard task message', issuesOf(tick.error, prefix));
    }
    return { kind: 'resume-due' };
  }
  return { kind: 'preemption', notice: noticeOf(entry, prefix) };
}

/** Validates a delivered event and reads the preemption from it; throws ValidationError. */
export function parsePreemptionEvent(event: DeliveredEvent): PreemptionNotice {
  const { entry, prefix } = logEntryOf(event, 'a preemption event');
  return noticeOf(entry, prefix);
}

function noticeOf(entry: unknown, prefix: string): PreemptionNotice {
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
