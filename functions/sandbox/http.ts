/**
 * The small routing layer every sandbox API is written in: a route is a name (used for fault
 * injection and the call log), a method, a path template with `{param}` segments, and a handler
 * that returns a JSON reply. A new API is one file exporting a `ServiceModule`.
 */

import type { IncomingHttpHeaders } from 'node:http';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface SandboxRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: Buffer;
  /** JSON body (or form fields, for Slack), `undefined` when empty. */
  readonly body: unknown;
  readonly params: Readonly<Record<string, string>>;
}

export interface SandboxReply {
  status?: number;
  body?: unknown;
  /** Sent as is instead of JSON. */
  raw?: Buffer | string;
  headers?: Record<string, string>;
}

export interface Route<C> {
  readonly name: string;
  readonly method: Method;
  readonly template: string;
  readonly pattern: RegExp;
  readonly paramNames: readonly string[];
  readonly handle: (request: SandboxRequest, context: C) => SandboxReply | Promise<SandboxReply>;
}

export function route<C>(
  name: string,
  method: Method,
  template: string,
  handle: Route<C>['handle'],
): Route<C> {
  const paramNames: string[] = [];
  const source = template
    .split(/(\{[a-zA-Z]+\*?\})/)
    .map((part) => {
      const param = /^\{([a-zA-Z]+)(\*?)\}$/.exec(part);
      if (!param) return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
      paramNames.push(param[1] as string);
      // `{name*}` spans slashes (object names); `{name}` is one segment without `:` verbs.
      return param[2] ? '(.+?)' : '([^/:]+)';
    })
    .join('');
  return { name, method, template, pattern: new RegExp(`^${source}$`), paramNames, handle };
}

/**
 * How an API spells its errors. Compute and Cloud Storage (the older "apiary" APIs) send
 * `{code, message, errors[{message, domain, reason}]}` with no `status`; BigQuery adds
 * `status`; the newer APIs (Monitoring, Billing, Budgets, Resource Manager, Cloud Run) send
 * `{code, message, status}`, with an ErrorInfo in `details` when there is a reason to give.
 * The client libraries map the same HTTP code differently with and without `status` (a 409
 * without one becomes ABORTED), so each route answers in its API's own style.
 */
export type ErrorStyle = 'apiary' | 'apiary-status' | 'one-platform';

export function errorStyleOf(routeName: string): ErrorStyle {
  if (routeName.startsWith('compute.') || routeName.startsWith('storage.')) return 'apiary';
  if (routeName.startsWith('bigquery.')) return 'apiary-status';
  return 'one-platform';
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  413: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** The `errors[].reason` an apiary API gives a status when the handler names none. */
function defaultReason(code: number): string {
  if (code === 404) return 'notFound';
  if (code === 403) return 'forbidden';
  if (code === 412) return 'conditionNotMet';
  if (code === 429) return 'rateLimitExceeded';
  if (code === 409) return 'alreadyExists';
  if (code >= 500) return code === 503 ? 'backendError' : 'internalError';
  return 'invalid';
}

export interface Problem {
  readonly code: number;
  readonly message: string;
  readonly reason?: string | undefined;
  readonly domain?: string | undefined;
}

/** A Google API error body in the shape the API of `style` sends. */
export function googleError(
  code: number,
  message: string,
  reason?: string,
  style: ErrorStyle = 'apiary-status',
  domain?: string,
): SandboxReply {
  const why = reason ?? defaultReason(code);
  const errors = [
    {
      message,
      domain: domain ?? (why.endsWith('Exceeded') ? 'usageLimits' : 'global'),
      reason: why,
    },
  ];
  const status = STATUS_NAMES[code] ?? 'UNKNOWN';
  let error: Record<string, unknown>;
  if (style === 'apiary') error = { code, message, errors };
  else if (style === 'apiary-status') error = { code, message, errors, status };
  else {
    error = { code, message, status };
    if (reason !== undefined) {
      error.details = [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason,
          domain: domain ?? 'googleapis.com',
        },
      ];
    }
  }
  return { status: code, body: { error } };
}

/** A failure a handler throws; the server renders it in the style of the route's API. */
export class HttpProblem extends Error {
  constructor(readonly problem: Problem) {
    super(problem.message);
  }

  replyFor(routeName: string): SandboxReply {
    const p = this.problem;
    return googleError(p.code, p.message, p.reason, errorStyleOf(routeName), p.domain);
  }
}

export function fail(code: number, message: string, reason?: string): never {
  throw new HttpProblem({ code, message, reason });
}

export function notFound(resource: string): never {
  fail(404, `The resource '${resource}' was not found`, 'notFound');
}

export function asRecord(value: unknown, what = 'request body'): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(400, `Invalid ${what}: expected a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Reads `pageToken` / `maxResults`-style paging and slices `items`. */
export function page<T>(
  items: readonly T[],
  query: URLSearchParams,
  options: { sizeParam?: string; defaultSize?: number; maxSize?: number } = {},
): { items: T[]; nextPageToken: string | undefined } {
  const sizeParam = options.sizeParam ?? 'maxResults';
  const raw = query.get(sizeParam);
  const max = options.maxSize ?? 500;
  let size = raw === null || raw === '' ? (options.defaultSize ?? max) : Number(raw);
  if (!Number.isInteger(size) || size < 0) fail(400, `Invalid value for field '${sizeParam}'`);
  if (size === 0 || size > max) size = max;
  const token = query.get('pageToken');
  let offset = 0;
  if (token) {
    offset = Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^o:/, ''));
    if (!Number.isInteger(offset) || offset < 0) fail(400, 'Invalid page token');
  }
  const end = offset + size;
  return {
    items: items.slice(offset, end),
    nextPageToken: end < items.length ? Buffer.from(`o:${end}`).toString('base64url') : undefined,
  };
}

/** Text of a JSON value from a request: strings as they are, objects as JSON, nothing as ''. */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  // Numbers and booleans print as themselves; JSON input holds nothing else.
  return JSON.stringify(value) ?? '';
}

/** The media part of a `multipart/related` upload: metadata JSON first, then the content. */
export function multipartUpload(request: SandboxRequest): {
  metadata: Record<string, unknown>;
  data: Buffer;
  contentType: string;
} {
  const type = request.headers['content-type'] ?? '';
  const boundary = /boundary=("?)([^";]+)\1/.exec(type)?.[2];
  if (!boundary) fail(400, 'Missing multipart boundary');
  const raw = request.rawBody.toString('latin1');
  const parts = raw
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((part) => {
      const split = part.indexOf('\r\n\r\n') >= 0 ? part.indexOf('\r\n\r\n') : part.indexOf('\n\n');
      const gap = part.startsWith('\r\n', split) ? 4 : 2;
      const headers = part.slice(0, split);
      const body = part.slice(split + gap).replace(/\r?\n$/, '');
      return { headers, body };
    });
  const [meta, media] = parts;
  if (!meta || !media) fail(400, 'A multipart upload needs a metadata part and a media part');
  let metadata: Record<string, unknown>;
  try {
    metadata = JSON.parse(Buffer.from(meta.body, 'latin1').toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    fail(400, 'Invalid JSON in the metadata part');
  }
  const contentType =
    /content-type:\s*([^\r\n]+)/i.exec(media.headers)?.[1]?.trim() ?? 'application/octet-stream';
  return { metadata, data: Buffer.from(media.body, 'latin1'), contentType };
}
