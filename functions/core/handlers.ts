/**
 * The edge of every function: how outcomes and errors become HTTP replies or event
 * acknowledgements. HTTP: a ValidationError is a 400 with its message; another permanent
 * error a 422 with its message (a retry cannot help); anything transient a 503 whose body says
 * only that, with the detail in the log; anything else a 500, likewise generic. Events:
 * permanent errors are logged and acknowledged; transient ones are rethrown so Pub/Sub retries.
 */
import type {
  CloudEvent,
  HttpFunction,
  Request,
  Response,
} from '@google-cloud/functions-framework';
import { errorMessage, isTransient, PermanentError, ValidationError } from './errors.js';
import { refuseForbiddenKeys } from './json-body.js';
import type { Logger } from './logger.js';

export interface HttpReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export type HttpLogic = (request: Request) => Promise<HttpReply>;

export interface HttpEdgeOptions {
  /** The only methods the function acts on; others get 405 and change nothing (default: any). */
  readonly methods?: readonly string[];
  /** The largest body the function takes (default 64 KiB). */
  readonly maxBodyBytes?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

/**
 * What every HTTP function refuses before its logic runs: a method it does not act on, a body
 * over its limit (declared or received), and a JSON body with a forbidden own key
 * (`__proto__`, `constructor`, `prototype`) anywhere in it.
 */
function refusedAtEdge(request: Request, options: HttpEdgeOptions): HttpReply | undefined {
  const { methods, maxBodyBytes = DEFAULT_MAX_BODY_BYTES } = options;
  if (methods && !methods.includes(request.method)) {
    return {
      status: 405,
      body: { error: `Method ${request.method} is not allowed; use ${methods.join(' or ')}` },
      headers: { Allow: methods.join(', ') },
    };
  }
  const declared = Number(request.headers['content-length'] ?? 0);
  if (
    (Number.isFinite(declared) && declared > maxBodyBytes) ||
    (request.rawBody?.length ?? 0) > maxBodyBytes
  ) {
    return { status: 413, body: { error: 'The request body is too large' } };
  }
  refuseForbiddenKeys(request.body);
  return undefined;
}

/** Whether a request body carries nothing: absent, empty text or bytes, or `{}`. */
export function isEmptyBody(body: unknown): boolean {
  return (
    body === undefined ||
    body === null ||
    body === '' ||
    (Buffer.isBuffer(body) && body.length === 0) ||
    (typeof body === 'object' && !Buffer.isBuffer(body) && Object.keys(body).length === 0)
  );
}

export function httpHandler(
  logger: Logger,
  logic: HttpLogic,
  options: HttpEdgeOptions = {},
): HttpFunction {
  return async (request: Request, response: Response) => {
    let reply: HttpReply;
    try {
      reply = refusedAtEdge(request, options) ?? (await logic(request));
    } catch (error) {
      reply = httpErrorReply(logger, error);
    }
    if (reply.headers) response.set(reply.headers);
    response.status(reply.status).json(reply.body);
  };
}

export function httpErrorReply(logger: Logger, error: unknown): HttpReply {
  if (error instanceof ValidationError) {
    logger.warn('Rejected request', { error });
    return { status: 400, body: { error: error.message, issues: error.issues } };
  }
  if (error instanceof PermanentError) {
    logger.error('Request failed permanently', { error });
    return { status: 422, body: { error: error.message } };
  }
  if (isTransient(error)) {
    logger.error('Request failed transiently; a retry may succeed', { error });
    return { status: 503, body: { error: 'Temporarily unavailable; retry later' } };
  }
  logger.error('Request failed', { error });
  return { status: 500, body: { error: 'Internal error' } };
}

/** A CloudEvent function: what an event entry point is, and the logic the event edge wraps. */
export type EventFunction<T = unknown> = (event: CloudEvent<T>) => Promise<void>;

export function eventHandler<T>(logger: Logger, logic: EventFunction<T>): EventFunction<T> {
  return async (event) => {
    try {
      await logic(event);
    } catch (error) {
      if (isTransient(error)) {
        logger.error('Event failed transiently; rethrowing for retry', {
          eventId: event.id,
          error,
        });
        throw error;
      }
      logger.error('Event failed permanently; acknowledged', { eventId: event.id, error });
    }
  };
}

/**
 * Defers building a handler (reading configuration, creating adapters) to its first call, so
 * importing the functions module does no work. A configuration error is logged as one
 * CRITICAL line naming the variable; HTTP callers get a generic 500 and events are rethrown
 * (the platform retries them until the configuration is fixed, so no message is lost).
 */
export function lazyHttp(
  target: string,
  logger: () => Logger,
  load: () => Promise<HttpFunction>,
): HttpFunction {
  const handler = builtOnFirstCall(target, logger, load);
  return async (request, response) => {
    let fn: HttpFunction;
    try {
      fn = await handler({});
    } catch {
      response
        .status(500)
        .json({ error: 'The function is not configured correctly; see its logs' });
      return;
    }
    await fn(request, response);
  };
}

export function lazyEvent<T>(
  target: string,
  logger: () => Logger,
  load: () => Promise<EventFunction<T>>,
): EventFunction<T> {
  const handler = builtOnFirstCall(target, logger, load);
  return async (event) => {
    const fn = await handler({ eventId: event.id });
    await fn(event);
  };
}

/**
 * The handler `load` builds, built once and shared; a failed build is logged (with the
 * caller's context) and rethrown, and the next call tries again.
 */
function builtOnFirstCall<F>(
  target: string,
  logger: () => Logger,
  load: () => Promise<F>,
): (context: Record<string, unknown>) => Promise<F> {
  let handler: Promise<F> | undefined;
  return async (context) => {
    handler ??= load();
    try {
      return await handler;
    } catch (error) {
      handler = undefined;
      logger().critical(errorMessage(error), { target, ...context, error });
      throw error;
    }
  };
}
