/**
 * A Compute instance insert's Admin Activity audit entry, as Eventarc delivers it for the host
 * project (`google.cloud.audit.log.v1.written`, data = the LogEntry) or as a governed project's
 * Logging sink publishes it to the function's topic (`messagePublished`, the LogEntry as base64
 * JSON; Eventarc's audit log triggers see only their own project). A long-running insert
 * writes two entries with the same `operation.id`: the first (`operation.first`, with the request and the pending operation as
 * response, while the VM may still be PROVISIONING) and the last (`operation.last`, no request).
 * Both reach the function; the rest of the entry is only identity and outcome.
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
import type { VmRef } from '../core/vm.js';

export const INSERT_METHODS = [
  'v1.compute.instances.insert',
  'beta.compute.instances.insert',
] as const;

const RESOURCE_NAME = INSTANCE_RESOURCE_NAME;

const status = z.object({
  code: z.number().int().optional(),
  message: z.string().optional(),
});

const logEntry = z.object({
  insertId: z.string().optional(),
  logName: z.string().optional(),
  timestamp: z.string().optional(),
  protoPayload: z.object({
    serviceName: z.literal('compute.googleapis.com'),
    methodName: z.enum(INSERT_METHODS),
    resourceName: z.string().regex(RESOURCE_NAME, 'must be projects/P/zones/Z/instances/NAME'),
    authenticationInfo: z.object({ principalEmail: z.string().optional() }).optional(),
    status: status.optional(),
    response: z
      .object({
        error: z
          .object({ code: z.number().int().optional(), message: z.string().optional() })
          .optional(),
      })
      .optional(),
  }),
  resource: z
    .object({
      type: z.string().optional(),
      labels: z
        .object({
          project_id: z.string().optional(),
          instance_id: z.string().optional(),
          zone: z.string().optional(),
        })
        .optional(),
    })
    .optional(),
  operation: z
    .object({
      id: z.string().min(1),
      producer: z.string().optional(),
      first: z.boolean().optional(),
      last: z.boolean().optional(),
    })
    .optional(),
});

export type InsertPhase = 'first' | 'last' | 'single';

export interface InstanceInsertEntry {
  readonly ref: VmRef;
  readonly api: 'v1' | 'beta';
  readonly phase: InsertPhase;
  /** The insert's operation id: the same in the first and the last entry. */
  readonly operationId: string;
  readonly instanceId: string | undefined;
  readonly principal: string | undefined;
  /** Set when the insert failed, so there is no VM to check. */
  readonly failure: string | undefined;
}

/** Validates the event and reads the VM and the operation phase from it; throws ValidationError. */
export function parseInsertEvent(event: DeliveredEvent): InstanceInsertEntry {
  const { entry: data, prefix } = logEntryOf(event, 'an audit log event');
  const parsed = logEntry.safeParse(data);
  if (!parsed.success) {
    throw new ValidationError(
      'Malformed instance insert audit entry',
      issuesOf(parsed.error, prefix),
    );
  }
  const entry = parsed.data;
  const payload = entry.protoPayload;
  const [, projectPart, zone, name] = RESOURCE_NAME.exec(payload.resourceName) as unknown as [
    string,
    string,
    string,
    string,
  ];
  // resourceName may carry the project number; the monitored resource carries the id.
  const project = /^\d+$/.test(projectPart) ? entry.resource?.labels?.project_id : projectPart;
  if (project === undefined || !PROJECT_ID.test(project)) {
    throw new ValidationError('Malformed instance insert audit entry', [
      `protoPayload.resourceName: no project id in ${payload.resourceName}`,
    ]);
  }
  const operation = entry.operation;
  const phase: InsertPhase =
    operation?.first && !operation.last
      ? 'first'
      : operation?.last && !operation.first
        ? 'last'
        : 'single';
  const operationId = operation?.id ?? entry.insertId;
  if (operationId === undefined) {
    throw new ValidationError('Malformed instance insert audit entry', [
      'operation.id: missing, and no insertId',
    ]);
  }
  const code = payload.status?.code ?? 0;
  const responseError = payload.response?.error;
  const failure =
    code !== 0
      ? `status ${code}: ${payload.status?.message ?? ''}`.trim()
      : responseError
        ? `error ${responseError.code ?? ''}: ${responseError.message ?? ''}`.trim()
        : undefined;
  const instanceId = entry.resource?.labels?.instance_id;
  return {
    ref: { project, zone, name },
    api: payload.methodName.startsWith('beta.') ? 'beta' : 'v1',
    phase,
    operationId,
    instanceId: instanceId !== undefined && /^\d+$/.test(instanceId) ? instanceId : undefined,
    principal: payload.authenticationInfo?.principalEmail,
    failure,
  };
}
