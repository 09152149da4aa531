/**
 * The edge of the run API: which route a request is, and whether its body, query and headers
 * are acceptable. Everything here is checked before any API call is made; a request field is
 * only ever compared against allow-lists, never passed on as text of its own.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import { refuseForbiddenKeys } from '../core/json-body.js';
import { allowsEnv, type Pipeline } from './config.js';
import { PIPELINE_NAME, RUN_ID, SOURCE_OBJECT, TARGET } from './run-id.js';

export const MAX_BODY_BYTES = 16 * 1024;
const MAX_LIST_LIMIT = 100;
const DEFAULT_LIST_LIMIT = 20;

export type RunsRoute =
  | { kind: 'start' }
  | { kind: 'list' }
  | { kind: 'get'; runId: string }
  | { kind: 'cancel'; runId: string }
  | { kind: 'log'; runId: string }
  | { kind: 'api-document' }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'not-found' };

/**
 * `/runs`, `/runs/{runId}`, `/runs/{runId}:cancel`, `/runs/{runId}/log` and the API's own
 * `/openapi.json`; anything
 * else is not found.
 */
export function routeRequest(method: string, path: string): RunsRoute {
  const normalised = path.replace(/\/+$/, '') || '/';
  if (normalised === '/openapi.json') {
    return method === 'GET'
      ? { kind: 'api-document' }
      : { kind: 'method-not-allowed', allow: ['GET'] };
  }
  if (normalised === '/runs') {
    if (method === 'POST') return { kind: 'start' };
    if (method === 'GET') return { kind: 'list' };
    return { kind: 'method-not-allowed', allow: ['GET', 'POST'] };
  }
  const log = /^\/runs\/([^/:]+)\/log$/.exec(normalised);
  if (log) {
    if (!RUN_ID.test(log[1] as string)) return { kind: 'not-found' };
    return method === 'GET'
      ? { kind: 'log', runId: log[1] as string }
      : { kind: 'method-not-allowed', allow: ['GET'] };
  }
  const match = /^\/runs\/([^/:]+)(:cancel)?$/.exec(normalised);
  if (!match || !RUN_ID.test(match[1] as string)) return { kind: 'not-found' };
  const runId = match[1] as string;
  if (match[2]) {
    return method === 'POST'
      ? { kind: 'cancel', runId }
      : { kind: 'method-not-allowed', allow: ['POST'] };
  }
  return method === 'GET' ? { kind: 'get', runId } : { kind: 'method-not-allowed', allow: ['GET'] };
}

/** Whether the declared or received body is over the limit (413 before anything else). */
export function bodyTooLarge(
  headers: Readonly<Record<string, unknown>>,
  rawBody: Buffer | undefined,
): boolean {
  const declared = Number(headers['content-length'] ?? 0);
  return (
    (Number.isFinite(declared) && declared > MAX_BODY_BYTES) ||
    (rawBody?.length ?? 0) > MAX_BODY_BYTES
  );
}

export function isJson(headers: Readonly<Record<string, unknown>>): boolean {
  const type = headers['content-type'];
  return typeof type === 'string' && /^application\/json\s*(;|$)/i.test(type);
}

const startBody = z.strictObject({
  pipeline: z.string().max(63),
  target: z.string().max(64),
  params: z.record(z.string().max(64), z.string().max(128)).optional(),
  source: z.string().max(1100).optional(),
});

export interface StartRequest {
  readonly pipeline: Pipeline;
  readonly target: string;
  readonly params: Readonly<Record<string, string>>;
  /** The run's own source tarball (`gs://BUCKET/src/….tar.gz`), under the pipeline's prefix. */
  readonly source: string | undefined;
}

/**
 * A requested source: the pattern the VM checks again, then the pipeline's allow-listed prefix
 * (pipelines without one take no source); `..` cannot appear in a name the pattern allows as a
 * segment of its own, and is refused anyway.
 */
function sourceOf(pipeline: Pipeline, source: string | undefined): string | undefined {
  if (source === undefined) return undefined;
  if (pipeline.executor !== 'vm' || pipeline.sourcePrefix === undefined) {
    throw new ValidationError('Invalid source', [
      `source: pipeline ${pipeline.name} runs only its own source`,
    ]);
  }
  const ok =
    SOURCE_OBJECT.test(source) &&
    source.startsWith(pipeline.sourcePrefix) &&
    !source.split('/').some((segment) => segment === '..' || segment === '.');
  if (!ok) {
    throw new ValidationError('Invalid source', [
      `source: a .tar.gz or .tgz object under ${pipeline.sourcePrefix}`,
    ]);
  }
  return source;
}

/** The body of `POST /runs`, checked against the pipeline's allow-lists. */
export function parseStartRequest(
  body: unknown,
  pipelines: ReadonlyMap<string, Pipeline>,
): StartRequest {
  // Before the schema: copying `params` would silently drop an own `__proto__` key.
  refuseForbiddenKeys(body, 'Invalid run request');
  const parsed = startBody.safeParse(body);
  if (!parsed.success) {
    throw new ValidationError(
      'Invalid run request',
      parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`),
    );
  }
  const { pipeline: name, target, params = {}, source } = parsed.data;
  const pipeline = PIPELINE_NAME.test(name) ? pipelines.get(name) : undefined;
  if (!pipeline)
    throw new ValidationError('Unknown pipeline', [
      `pipeline: not one of ${[...pipelines.keys()].join(', ')}`,
    ]);
  // The pattern first, so that nothing odd is even compared; then the exact allow-list, whose
  // own text is what goes on (the request's text is only compared).
  const allowed = TARGET.test(target) ? pipeline.targets.find((t) => t === target) : undefined;
  if (allowed === undefined) {
    throw new ValidationError('Unknown target', [
      `target: not one of ${pipeline.targets.join(', ')}`,
    ]);
  }
  const entries = Object.entries(params);
  if (entries.length > 0 && pipeline.executor === 'vm') {
    throw new ValidationError('Invalid params', [`params: pipeline ${pipeline.name} takes none`]);
  }
  if (pipeline.executor === 'cloud-run-job') {
    const bad = entries
      .filter(([key, value]) => !allowsEnv(pipeline, key, value))
      .map(([key]) => key);
    if (bad.length > 0) {
      const allowed = Object.keys(pipeline.env);
      throw new ValidationError('Invalid params', [
        `params: ${bad.length} name(s) or value(s) not allowed; allowed names: ${allowed.join(', ') || 'none'}`,
      ]);
    }
  }
  return {
    pipeline,
    target: allowed,
    params: Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b))),
    source: sourceOf(pipeline, source),
  };
}

/** A fingerprint of what was asked, to tell a true repeat from a reused Idempotency-Key. */
export function requestHash(request: StartRequest): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        request.pipeline.name,
        request.target,
        request.params,
        ...(request.source !== undefined ? [request.source] : []),
      ]),
    )
    .digest('hex');
}

/** The `Idempotency-Key` header: printable ASCII without spaces, at most 255 characters. */
export function idempotencyKeyOf(headers: Readonly<Record<string, unknown>>): string | undefined {
  const value = headers['idempotency-key'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[\x21-\x7e]{1,255}$/.test(value)) {
    throw new ValidationError('Invalid Idempotency-Key', [
      'Idempotency-Key: 1 to 255 printable ASCII characters',
    ]);
  }
  return value;
}

const listQuery = z.strictObject({
  pipeline: z.string().regex(PIPELINE_NAME).optional(),
  limit: z
    .string()
    .regex(/^\d{1,3}$/)
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_LIST_LIMIT))
    .optional(),
});

export function parseListQuery(
  query: unknown,
  pipelines: ReadonlyMap<string, Pipeline>,
): { pipeline: string | undefined; limit: number } {
  const parsed = listQuery.safeParse(query ?? {});
  if (!parsed.success) {
    throw new ValidationError(
      'Invalid query',
      parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`),
    );
  }
  const { pipeline, limit = DEFAULT_LIST_LIMIT } = parsed.data;
  if (pipeline !== undefined && !pipelines.has(pipeline)) {
    throw new ValidationError('Unknown pipeline', [
      `pipeline: not one of ${[...pipelines.keys()].join(', ')}`,
    ]);
  }
  return { pipeline, limit };
}

const logQuery = z.strictObject({
  offset: z
    .string()
    .regex(/^\d{1,15}$/)
    .transform(Number)
    .optional(),
});

/** `GET /runs/{runId}/log?offset=N`: the byte offset of the console to read from (default 0). */
export function parseLogQuery(query: unknown): { offset: number } {
  const parsed = logQuery.safeParse(query ?? {});
  if (!parsed.success) {
    throw new ValidationError(
      'Invalid query',
      parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`),
    );
  }
  return { offset: parsed.data.offset ?? 0 };
}
