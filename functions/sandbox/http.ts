import type { IncomingHttpHeaders } from 'node:http';

/**
 * The small routing layer every sandbox API is written in: a route is a name (used for fault
 * injection and the call log), a method, a path template with `{param}` segments, and a handler
 * that returns a JSON reply. A new API is one file exporting a `ServiceModule`.
 */
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

/** A Google API error body in the shape the client libraries parse. */
export function googleError(
  code: number,
  message: string,
  reason = 'invalid',
  extra: Record<string, unknown> = {},
): SandboxReply {
  const status =
    {
      400: 'INVALID_ARGUMENT',
      401: 'UNAUTHENTICATED',
      403: 'PERMISSION_DENIED',
      404: 'NOT_FOUND',
      409: 'ALREADY_EXISTS',
      412: 'FAILED_PRECONDITION',
      413: 'INVALID_ARGUMENT',
      429: 'RESOURCE_EXHAUSTED',
      500: 'INTERNAL',
      503: 'UNAVAILABLE',
    }[code] ?? 'UNKNOWN';
  return {
    status: code,
    body: {
      error: { code, message, status, errors: [{ domain: 'global', reason, message, ...extra }] },
    },
  };
}

export class HttpProblem extends Error {
  constructor(readonly reply: SandboxReply) {
    super((reply.body as { error?: { message?: string } } | undefined)?.error?.message ?? 'error');
  }
}

export function fail(code: number, message: string, reason?: string): never {
  throw new HttpProblem(googleError(code, message, reason));
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
