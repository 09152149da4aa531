/**
 * The run API (`triggerRun`) as the remote client calls it: start, read, follow the log of and
 * cancel a run, each call with the caller's Google ID token. 503s, 5xx and network failures are
 * retried with backoff (a start carries an Idempotency-Key, so a retried start starts nothing
 * twice); any other refusal is a RunApiError with the API's own message.
 */
import { errorMessage } from '../../functions/core/errors.js';
import { withRetry } from '../../functions/core/retry.js';

export interface RunView {
  readonly runId: string;
  readonly pipeline: string;
  readonly target: string;
  readonly status: string;
  readonly resultsPrefix: string | null;
  readonly exitMarker: string | null;
  readonly detail: string | null;
  readonly cost: { amount: number; currency: string; source: string } | null;
  readonly logs?: { buildLog: string | null; execution: string | null };
  readonly phases?: Record<string, number> | null;
}

/** The next part of a run's console output, or where its log lives (Cloud Run executions). */
export interface RunLogPart {
  readonly contents: string;
  /** The offset to ask for next. */
  readonly next: number;
  /** Output that the VM no longer holds was skipped (the serial port keeps its last 1 MB). */
  readonly skipped?: number;
  readonly link?: string | null;
}

export class RunApiError extends Error {
  override name = 'RunApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The Authorization header value for a call; refreshed by the source when it expires. */
export type TokenSource = () => Promise<string>;

export interface RunApiOptions {
  readonly url: string;
  readonly token: TokenSource;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly fetch?: typeof fetch;
}

function retryable(error: unknown): boolean {
  if (error instanceof RunApiError) return error.status === 503 || error.status >= 500;
  return error instanceof TypeError; // fetch's network failure
}

export class RunApiClient {
  private readonly base: string;

  constructor(private readonly options: RunApiOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  private async call<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const doFetch = this.options.fetch ?? fetch;
    return withRetry(
      async () => {
        const response = await doFetch(`${this.base}${path}`, {
          method,
          headers: {
            authorization: await this.options.token(),
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...headers,
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await response.text();
        let parsed: unknown;
        try {
          parsed = text ? JSON.parse(text) : {};
        } catch {
          parsed = { error: text.slice(0, 200) };
        }
        if (!response.ok) {
          const reply = parsed as { error?: unknown; issues?: unknown };
          const issues = Array.isArray(reply.issues) ? ` (${reply.issues.join('; ')})` : '';
          throw new RunApiError(
            response.status,
            `${method} ${path} answered ${response.status}: ${typeof reply.error === 'string' ? reply.error : response.statusText}${issues}`,
          );
        }
        return parsed as T;
      },
      {
        attempts: 5,
        baseDelayMs: 500,
        maxDelayMs: 10_000,
        isRetryable: retryable,
        ...(this.options.sleep ? { sleep: this.options.sleep } : {}),
      },
    );
  }

  start(
    request: { pipeline: string; target: string; source?: string },
    idempotencyKey: string,
  ): Promise<RunView> {
    return this.call('POST', '/runs', request, { 'idempotency-key': idempotencyKey });
  }

  get(runId: string): Promise<RunView> {
    return this.call('GET', `/runs/${encodeURIComponent(runId)}`);
  }

  log(runId: string, offset: number): Promise<RunLogPart> {
    return this.call('GET', `/runs/${encodeURIComponent(runId)}/log?offset=${offset}`);
  }

  cancel(runId: string): Promise<RunView> {
    return this.call('POST', `/runs/${encodeURIComponent(runId)}:cancel`);
  }
}

/**
 * The caller's ID token for `audience`: `COSTGUARD_ID_TOKEN` when set (for example from
 * `gcloud auth print-identity-token`, or a test token against the sandbox), otherwise one
 * minted from Application Default Credentials by google-auth-library and refreshed as it expires.
 */
export function identityTokenSource(audience: string, envToken: string | undefined): TokenSource {
  if (envToken !== undefined && envToken.trim() !== '') {
    const value = envToken.trim();
    const header = /^Bearer\s/i.test(value) ? value : `Bearer ${value}`;
    return () => Promise.resolve(header);
  }
  let client: Promise<{ getRequestHeaders(): Promise<Headers> }> | undefined;
  return async () => {
    client ??= import('google-auth-library').then(({ GoogleAuth }) =>
      new GoogleAuth().getIdTokenClient(audience),
    );
    try {
      const headers = await (await client).getRequestHeaders();
      const value = headers.get('authorization');
      if (!value) throw new Error('no Authorization header');
      return value;
    } catch (error) {
      client = undefined;
      throw new Error(
        `No identity token for ${audience}: ${errorMessage(error)}. Log in with ` +
          '`gcloud auth application-default login`, or set COSTGUARD_ID_TOKEN=$(gcloud auth print-identity-token)',
        { cause: error },
      );
    }
  };
}
