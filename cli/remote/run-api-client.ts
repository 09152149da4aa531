/**
 * The run API (`triggerRun`) as the remote client calls it: start, read, follow the log of and
 * cancel a run, each call with the caller's Google ID token. 503s, 5xx and network failures are
 * retried with backoff (a start carries an Idempotency-Key, so a retried start starts nothing
 * twice); any other refusal is a RunApiError with the API's own message.
 */
import { z } from 'zod';
import { errorMessage } from '../../functions/core/errors.js';
import { withRetry } from '../../functions/core/retry.js';
import { RUN_ID } from '../../functions/runs/run-id.js';

/**
 * What the client reads of a run. The run id names local files and the results prefix a
 * download, so both are checked here before anything uses them.
 */
const runView = z.object({
  runId: z.string().regex(RUN_ID),
  pipeline: z.string(),
  target: z.string(),
  status: z.string(),
  resultsPrefix: z
    .string()
    .regex(/^gs:\/\/[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]\/results\/run-[0-9a-f]{20}\/$/)
    .nullable(),
  exitMarker: z.string().nullable(),
  detail: z.string().nullable(),
  cost: z.object({ amount: z.number(), currency: z.string(), source: z.string() }).nullable(),
  phases: z.record(z.string(), z.number()).nullable().optional(),
});

/** The next part of a run's console, or where its log lives (Cloud Run executions). */
const runLogPart = z.object({
  contents: z.string(),
  /** The offset to ask for next. */
  next: z.number().int().min(0),
  /** Output that the VM no longer holds was skipped (the serial port keeps its last 1 MB). */
  skipped: z.number().int().min(0).optional(),
  link: z.string().nullable().optional(),
});

export type RunView = z.output<typeof runView>;
export type RunLogPart = z.output<typeof runLogPart>;

function checked<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`triggerRun answered ${what} in an unexpected shape: ${issues.join('; ')}`);
  }
  return parsed.data;
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

  private async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<unknown> {
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
        return parsed;
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

  async start(
    request: { pipeline: string; target: string; source?: string },
    idempotencyKey: string,
  ): Promise<RunView> {
    const reply = await this.call('POST', '/runs', request, { 'idempotency-key': idempotencyKey });
    return checked(runView, reply, 'the start');
  }

  async get(runId: string): Promise<RunView> {
    return checked(runView, await this.call('GET', `/runs/${encodeURIComponent(runId)}`), 'a run');
  }

  async log(runId: string, offset: number): Promise<RunLogPart> {
    const reply = await this.call('GET', `/runs/${encodeURIComponent(runId)}/log?offset=${offset}`);
    return checked(runLogPart, reply, 'a log read');
  }

  async cancel(runId: string): Promise<RunView> {
    const reply = await this.call('POST', `/runs/${encodeURIComponent(runId)}:cancel`);
    return checked(runView, reply, 'the cancel');
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
