/**
 * Errors that carry the retry decision. A permanent error is logged and acknowledged (retrying
 * cannot help: bad input, a policy refusal); a transient one is rethrown so the platform retries.
 */
export class PermanentError extends Error {
  override name = 'PermanentError';
  readonly retryable = false as const;
}

export class TransientError extends Error {
  override name = 'TransientError';
  readonly retryable = true as const;
}

/** Input from outside (a message, a request body, an audit event) that does not validate. */
export class ValidationError extends PermanentError {
  override name = 'ValidationError';
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(issues.length > 0 ? `${message}: ${issues.join('; ')}` : message);
  }
}

/** A setting that is missing or wrong; the message is one line naming the variable. */
export class ConfigError extends PermanentError {
  override name = 'ConfigError';
}

// gRPC status codes that google-gax reports for failures a retry can fix. ABORTED is what a REST
// 409 without a `status` becomes (Compute's errors carry none); the reasons below refine it.
const TRANSIENT_RPC_CODES = new Set([
  4 /* DEADLINE_EXCEEDED */, 8 /* RESOURCE_EXHAUSTED */, 10 /* ABORTED */, 13 /* INTERNAL */,
  14 /* UNAVAILABLE */,
]);
const TRANSIENT_HTTP_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * `errors[].reason` (and ErrorInfo `reason`) values that mean "slow down": Compute answers a rate
 * limit with HTTP 403 and one of these, never with 429 (cloud.google.com/compute/api-quota).
 */
export const RATE_LIMIT_REASONS: ReadonlySet<string> = new Set([
  'rateLimitExceeded',
  'userRateLimitExceeded',
  'RESOURCE_OPERATION_RATE_EXCEEDED',
  'RATE_LIMIT_EXCEEDED',
]);
// Reasons a retry can fix whatever the status says (a backend hiccup reported as 4xx or 5xx).
const TRANSIENT_REASONS: ReadonlySet<string> = new Set([
  ...RATE_LIMIT_REASONS,
  'backendError',
  'internalError',
]);
// Reasons that make a 409 (which gax reports as ABORTED when the body has no `status`) final.
const PERMANENT_REASONS: ReadonlySet<string> = new Set([
  'alreadyExists',
  'duplicate',
  'resourceInUseByAnotherResource',
]);

// gax maps HTTP statuses onto gRPC codes for REST calls; these are the ones callers branch on.
const RPC_CODE_TO_HTTP: Record<number, number> = {
  3: 400,
  5: 404,
  6: 409,
  7: 403,
  8: 429,
  9: 412,
  10: 409,
  13: 500,
  14: 503,
  16: 401,
};

type ErrorShape = {
  code?: unknown;
  status?: unknown;
  reason?: unknown;
  errors?: unknown;
  message?: unknown;
  response?: { status?: unknown; data?: unknown };
  cause?: unknown;
};

/**
 * The HTTP status behind an error from any of the client libraries (gax REST errors carry a
 * gRPC code, @google-cloud/common errors an HTTP code, gaxios a response), if there is one.
 */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as ErrorShape;
  if (typeof e.response?.status === 'number') return e.response.status;
  if (typeof e.code === 'number') {
    if (e.code >= 100) return e.code;
    return RPC_CODE_TO_HTTP[e.code];
  }
  if (typeof e.status === 'number' && e.status >= 100) return e.status;
  return undefined;
}

function reasonsIn(body: unknown, into: string[]): void {
  if (typeof body !== 'object' || body === null) return;
  const root = body as { error?: unknown };
  const error = (typeof root.error === 'object' && root.error !== null ? root.error : root) as {
    errors?: unknown;
    details?: unknown;
  };
  for (const list of [error.errors, error.details]) {
    if (!Array.isArray(list)) continue;
    for (const item of list as Array<{ reason?: unknown }>) {
      if (typeof item?.reason === 'string') into.push(item.reason);
    }
  }
}

/**
 * The `errors[].reason` values (and an ErrorInfo's `reason`) of a Google API error, however the
 * client library surfaced it: gax's `reason`, @google-cloud/common's `errors`, a gaxios response
 * body, or the JSON body gaxios puts in the message of the errors it throws for gax's REST calls.
 */
export function errorReasons(error: unknown): string[] {
  if (typeof error !== 'object' || error === null) return [];
  const e = error as ErrorShape;
  const reasons: string[] = [];
  if (typeof e.reason === 'string') reasons.push(e.reason);
  if (Array.isArray(e.errors)) reasonsIn({ errors: e.errors }, reasons);
  const data = e.response?.data;
  if (typeof data === 'string' && data.trimStart().startsWith('{')) {
    try {
      reasonsIn(JSON.parse(data), reasons);
    } catch {
      // Not JSON after all: no reasons in it.
    }
  } else reasonsIn(data, reasons);
  if (reasons.length === 0 && typeof e.message === 'string' && e.message.startsWith('{')) {
    try {
      reasonsIn(JSON.parse(e.message), reasons);
    } catch {
      // A message that only looks like JSON.
    }
  }
  return [...new Set(reasons)];
}

/** A rate limit, however the API said it: 429, RESOURCE_EXHAUSTED, or 403 with a rate reason. */
export function isRateLimited(error: unknown): boolean {
  if (errorReasons(error).some((r) => RATE_LIMIT_REASONS.has(r))) return true;
  return httpStatusOf(error) === 429;
}

/**
 * Whether a retry could help, from the HTTP status and `errors[].reason` together: a rate limit
 * (403 with a rate reason, or 429), 408, 5xx and network faults are transient; 400, 401, 403
 * `forbidden`/`accessNotConfigured`, 404 and 412 are permanent. Explicit TransientError and
 * PermanentError say so themselves.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof TransientError) return true;
  if (error instanceof PermanentError) return false;
  if (typeof error !== 'object' || error === null) return false;
  const e = error as ErrorShape;
  if (typeof e.code === 'string' && TRANSIENT_NETWORK_CODES.has(e.code)) return true;
  const reasons = errorReasons(error);
  if (reasons.some((r) => TRANSIENT_REASONS.has(r))) return true;
  if (reasons.some((r) => PERMANENT_REASONS.has(r))) return false;
  if (typeof e.response?.status === 'number') return TRANSIENT_HTTP_STATUS.has(e.response.status);
  if (typeof e.code === 'number') {
    return e.code >= 100 ? TRANSIENT_HTTP_STATUS.has(e.code) : TRANSIENT_RPC_CODES.has(e.code);
  }
  if (typeof e.status === 'number' && e.status >= 100) return TRANSIENT_HTTP_STATUS.has(e.status);
  if (e.cause !== undefined && e.cause !== error) return isTransient(e.cause);
  return false;
}

export function isNotFound(error: unknown): boolean {
  return httpStatusOf(error) === 404;
}

export function isPreconditionFailed(error: unknown): boolean {
  return httpStatusOf(error) === 412;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
