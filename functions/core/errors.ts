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

// gRPC status codes that google-gax reports for failures a retry can fix.
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

// gax maps HTTP statuses onto gRPC codes for REST calls; these are the ones callers branch on.
const RPC_CODE_TO_HTTP: Record<number, number> = {
  5: 404,
  6: 409,
  7: 403,
  9: 412,
  3: 400,
  16: 401,
};

/**
 * The HTTP status behind an error from any of the client libraries (gax REST errors carry a
 * gRPC code, @google-cloud/common errors an HTTP code, gaxios a response), if there is one.
 */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as {
    code?: unknown;
    status?: unknown;
    response?: { status?: unknown };
    statusDetails?: unknown;
  };
  if (typeof e.response?.status === 'number') return e.response.status;
  if (typeof e.code === 'number') {
    if (e.code >= 100) return e.code;
    return RPC_CODE_TO_HTTP[e.code];
  }
  if (typeof e.status === 'number' && e.status >= 100) return e.status;
  return undefined;
}

/** Whether a retry could help: explicit TransientError, 429/5xx, retryable gRPC codes, network faults. */
export function isTransient(error: unknown): boolean {
  if (error instanceof TransientError) return true;
  if (error instanceof PermanentError) return false;
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; response?: { status?: unknown }; cause?: unknown };
  if (typeof e.code === 'string' && TRANSIENT_NETWORK_CODES.has(e.code)) return true;
  if (typeof e.response?.status === 'number') return TRANSIENT_HTTP_STATUS.has(e.response.status);
  if (typeof e.code === 'number') {
    return e.code >= 100 ? TRANSIENT_HTTP_STATUS.has(e.code) : TRANSIENT_RPC_CODES.has(e.code);
  }
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
