/**
 * A Cloud Billing budget notification, validated at the edge. It arrives as a Pub/Sub message
 * (attributes plus base64 JSON data) inside the gen2 CloudEvent `messagePublished`, or inside
 * the body functions-framework builds from a raw push (the Pub/Sub emulator). Every field is
 * optional until it is checked here; the spend ratio is computed, never taken from the sender.
 */
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import { fitsNumeric } from './enforcement-ledger.js';

export interface BudgetNotification {
  readonly messageId: string;
  readonly publishTime: string | undefined;
  readonly billingAccountId: string;
  readonly budgetId: string;
  readonly budgetDisplayName: string;
  readonly costAmount: number;
  readonly budgetAmount: number;
  readonly budgetAmountType: string | undefined;
  readonly currencyCode: string;
  /** Start of the budget period (month, quarter, year or custom), as an ISO timestamp. */
  readonly costIntervalStart: string;
  /** Highest alert threshold crossed, absent when none is. */
  readonly alertThresholdExceeded: number | undefined;
  readonly forecastThresholdExceeded: number | undefined;
  /** costAmount / budgetAmount */
  readonly spendRatio: number;
}

const SUPPORTED_SCHEMA_VERSIONS: readonly string[] = ['1.0'];

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const attributesSchema = z.object({
  billingAccountId: z
    .string()
    .regex(
      /^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$/,
      'expected a billing account id like 01D4EE-079462-DFD6EC',
    ),
  budgetId: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'expected a budget id'),
  schemaVersion: z.string().refine((v) => SUPPORTED_SCHEMA_VERSIONS.includes(v), {
    message: `unsupported schema version (supported: ${SUPPORTED_SCHEMA_VERSIONS.join(', ')})`,
  }),
});

// An amount the ledger cannot hold (NUMERIC) would fail every write of the notification's rows
// after its VMs were stopped; it is refused here instead, before anything is done.
const money = z
  .number()
  .finite()
  .refine(fitsNumeric, 'outside what the ledger can record (NUMERIC, 6 decimal places kept)');

const dataSchema = z.object({
  budgetDisplayName: z.string().default(''),
  costAmount: z.number().nonnegative().pipe(money),
  budgetAmount: z.number().positive('must be greater than zero').pipe(money),
  budgetAmountType: z.string().optional(),
  currencyCode: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 currency code'),
  costIntervalStart: z.iso.datetime({ offset: true }),
  alertThresholdExceeded: z.number().finite().nonnegative().optional(),
  forecastThresholdExceeded: z.number().finite().nonnegative().optional(),
});

const messageSchema = z.object({
  data: z.string().optional(),
  attributes: z.record(z.string(), z.string()).optional(),
  messageId: z.string().optional(),
  message_id: z.string().optional(),
  publishTime: z.string().optional(),
  publish_time: z.string().optional(),
});

/** The messageId of a delivery, as far as it can be read, for logging a rejected message. */
export function messageIdOf(data: unknown, eventId?: string): string | undefined {
  const message = (data as { message?: { messageId?: unknown; message_id?: unknown } } | null)
    ?.message;
  const id = message?.messageId ?? message?.message_id;
  return typeof id === 'string' && id !== '' ? id : eventId;
}

function issuesOf(error: z.ZodError, prefix: string): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length > 0 ? `${prefix}.${issue.path.join('.')}` : prefix;
    return `${path}: ${issue.message}`;
  });
}

/**
 * Parses the CloudEvent data of a budget notification (`{message, subscription}`); `eventId`
 * stands in for a messageId the message does not carry. Throws a ValidationError listing what
 * is wrong: such a message can never succeed, so it is acknowledged, not retried.
 */
export function parseBudgetNotification(data: unknown, eventId?: string): BudgetNotification {
  const envelope = z.object({ message: messageSchema }).safeParse(data);
  if (!envelope.success) {
    throw new ValidationError('Not a Pub/Sub message', issuesOf(envelope.error, 'data'));
  }
  const message = envelope.data.message;
  const messageId = message.messageId ?? message.message_id ?? eventId;
  const attributes = attributesSchema.safeParse(message.attributes ?? {});
  if (!attributes.success) {
    throw new ValidationError(
      'Not a budget notification',
      issuesOf(attributes.error, 'message.attributes'),
    );
  }
  if (!messageId) throw new ValidationError('The message has no messageId');
  const raw = message.data ?? '';
  if (raw === '' || !BASE64.test(raw)) {
    throw new ValidationError('Budget notification data is not base64', ['message.data']);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(raw, 'base64')));
  } catch {
    throw new ValidationError('Budget notification data is not UTF-8 JSON', ['message.data']);
  }
  const body = dataSchema.safeParse(json);
  if (!body.success) {
    throw new ValidationError('Invalid budget notification', issuesOf(body.error, 'data'));
  }
  const d = body.data;
  return {
    messageId,
    publishTime: message.publishTime ?? message.publish_time,
    billingAccountId: attributes.data.billingAccountId,
    budgetId: attributes.data.budgetId,
    budgetDisplayName: d.budgetDisplayName,
    costAmount: d.costAmount,
    budgetAmount: d.budgetAmount,
    budgetAmountType: d.budgetAmountType,
    currencyCode: d.currencyCode,
    costIntervalStart: new Date(d.costIntervalStart).toISOString(),
    alertThresholdExceeded: d.alertThresholdExceeded,
    forecastThresholdExceeded: d.forecastThresholdExceeded,
    spendRatio: d.costAmount / d.budgetAmount,
  };
}
