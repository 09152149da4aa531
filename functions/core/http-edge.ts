/**
 * Replies to what fails in the Functions Framework before a function runs: a body its parsers
 * refuse (malformed JSON, a JSON string or number, an unknown charset or encoding), a body
 * declared larger than any function takes, a path or method the framework does not route.
 * Left to Express, these get an HTML page (with a stack trace and absolute paths unless
 * NODE_ENV is `production`); here they get the API's `{"error": …}` JSON in any NODE_ENV.
 *
 * functions-framework 5 builds its Express app itself and offers no error hook
 * (GoogleCloudPlatform/functions-framework-nodejs#686), so this replaces the final handler that
 * Express's `app.handle` falls back to, on the Express the framework itself loads, before the
 * framework creates its app (it does so after loading the function's module).
 */

import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from './logger.js';

export const MAX_FRAMEWORK_BODY_BYTES = 10 * 1024 * 1024;

type Next = (error?: unknown) => void;
interface ExpressApplication {
  handle: (this: unknown, req: IncomingMessage, res: ServerResponse, next?: Next) => void;
}

const INSTALLED = Symbol.for('costguard.httpEdge');
let edgeLogger: () => Logger = () => {
  throw new Error('installHttpEdge was not called');
};

/** body-parser's error types, as a caller should read them. */
const PARSER_ERRORS: Record<string, string> = {
  'entity.parse.failed': 'The request body is not valid JSON (an object is expected)',
  'entity.too.large': 'The request body is too large',
  'charset.unsupported': 'The request body has an unsupported charset',
  'encoding.unsupported': 'The request body has an unsupported content encoding',
  'entity.verify.failed': 'The request body could not be read',
  'request.size.invalid': 'The request body does not match its Content-Length',
  'stream.encoding.set': 'The request body could not be read',
};

export interface EdgeReply {
  readonly status: number;
  /** `issues`, as in every 400 the functions give, says what is wrong with the body. */
  readonly body: { error: string; issues?: string[] };
}

/** The reply to an error the framework met before the function (undefined: nothing matched). */
export function frameworkErrorReply(error: unknown): EdgeReply {
  if (error === undefined) return { status: 404, body: { error: 'Not found' } };
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    status?: unknown;
    statusCode?: unknown;
    type?: unknown;
  };
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const known = typeof e.type === 'string' ? PARSER_ERRORS[e.type] : undefined;
    const error = known ?? 'Bad request';
    return { status, body: status === 400 ? { error, issues: [`body: ${error}`] } : { error } };
  }
  return { status: 500, body: { error: 'Internal error' } };
}

function send(res: ServerResponse, reply: EdgeReply, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

function declaredLength(req: IncomingMessage): number {
  const declared = Number(req.headers['content-length'] ?? 0);
  return Number.isFinite(declared) ? declared : 0;
}

/**
 * Installs the JSON final handler on the Express the Functions Framework uses; call before the
 * framework builds its server (importing functions/index.ts does). Installing again only
 * changes the logger the replies are logged with.
 */
export function installHttpEdge(logger: () => Logger): void {
  edgeLogger = logger;
  const fromFramework = createRequire(
    createRequire(import.meta.url).resolve('@google-cloud/functions-framework'),
  );
  const express = fromFramework('express') as { application: ExpressApplication };
  const application = express.application as ExpressApplication & { [INSTALLED]?: true };
  if (application[INSTALLED]) return;
  const original = application.handle;
  application.handle = function handle(req, res, next) {
    if (next) {
      original.call(this, req, res, next);
      return;
    }
    if (declaredLength(req) > MAX_FRAMEWORK_BODY_BYTES) {
      // Refused before a byte is read; the connection closes instead of draining the body.
      edgeLogger().warn('Request refused before the function ran', {
        method: req.method,
        path: req.url,
        status: 413,
        reason: 'declared body too large',
      });
      send(
        res,
        { status: 413, body: { error: 'The request body is too large' } },
        {
          Connection: 'close',
        },
      );
      return;
    }
    original.call(this, req, res, (error?: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const reply = frameworkErrorReply(error);
      const context = {
        method: req.method,
        path: req.url?.split('?')[0],
        status: reply.status,
        reason: (error as { type?: unknown } | undefined)?.type ?? reply.body.error,
      };
      if (reply.status >= 500) {
        edgeLogger().error('Request failed before the function ran', { ...context, error });
      } else {
        edgeLogger().warn('Request refused before the function ran', context);
      }
      send(res, reply);
    });
  };
  application[INSTALLED] = true;
}
