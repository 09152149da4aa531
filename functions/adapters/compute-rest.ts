/**
 * Compute's REST API spoken directly, for the one call costguard makes by the thousand: a stop
 * storm's `instances.stop`. Through the generated client each call pays for protobuf encoding,
 * transcoding, two fetch layers and a stream pipeline, about 0.9 ms of CPU (the enforcer was
 * CPU-bound on it); here a call is one keep-alive HTTP request and one JSON.parse. Same
 * endpoint and credentials as the client library; errors carry the HTTP status as `code` and
 * Compute's `errors[]`, which core/errors.ts classifies like the client library's.
 */
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';

export const COMPUTE_ORIGIN = 'https://compute.googleapis.com';

/** Longest a call may take before it fails as a (transient) timeout. */
const REQUEST_TIMEOUT_MS = 60_000;

/** A Compute call that failed with an HTTP status: `code` is the status, `errors` Compute's. */
export class ComputeRestError extends Error {
  override name = 'ComputeRestError';
  constructor(
    readonly code: number,
    message: string,
    readonly errors: ReadonlyArray<{ reason?: string; message?: string; domain?: string }>,
  ) {
    super(message);
  }
}

/** A network failure or timeout, with Node's error code (ECONNRESET, ETIMEDOUT, …). */
class ComputeNetworkError extends Error {
  override name = 'ComputeNetworkError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ComputeRest {
  /**
   * POSTs to a method of Compute v1 (`path` below `/compute/v1/`, segments already encoded) with
   * no body, and resolves to the JSON reply (an operation for a mutation).
   */
  post(path: string, query: Readonly<Record<string, string>>): Promise<unknown>;
}

export interface ComputeRestOptions {
  /** `http://host:port` of an emulator, or Compute itself (the default). */
  readonly origin?: string;
  /** The credentials' headers (Authorization, quota project); none for an emulator. */
  readonly headers: () => Promise<Record<string, string>>;
}

function errorOf(status: number, text: string): ComputeRestError {
  let error: { message?: string; errors?: ComputeRestError['errors'] } = {};
  try {
    const parsed = JSON.parse(text) as { error?: typeof error };
    error = parsed.error ?? {};
  } catch {
    // Not JSON (a proxy's page): the status alone classifies it.
  }
  return new ComputeRestError(
    status,
    error.message ?? `Compute answered HTTP ${status}`,
    Array.isArray(error.errors) ? error.errors : [],
  );
}

export function computeRest(options: ComputeRestOptions): ComputeRest {
  const origin = new URL(options.origin ?? COMPUTE_ORIGIN);
  const secure = origin.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;
  // Unbounded sockets: the fleet's semaphores bound the calls in flight.
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  return {
    async post(path, query) {
      const search = new URLSearchParams(query).toString();
      const headers = {
        ...(await options.headers()),
        accept: 'application/json',
        'content-length': '0',
      };
      return new Promise((resolve, reject) => {
        const call = send(
          {
            protocol: origin.protocol,
            hostname: origin.hostname.replace(/^\[|\]$/g, ''),
            port: origin.port || undefined,
            path: `/compute/v1/${path}${search ? `?${search}` : ''}`,
            method: 'POST',
            headers,
            agent,
            timeout: REQUEST_TIMEOUT_MS,
          },
          (response: IncomingMessage) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('error', reject);
            response.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              const status = response.statusCode ?? 0;
              if (status < 200 || status >= 300) return reject(errorOf(status, text));
              try {
                resolve(text === '' ? {} : JSON.parse(text));
              } catch {
                reject(new ComputeRestError(502, `Compute answered ${path} with no JSON`, []));
              }
            });
          },
        );
        call.on('timeout', () =>
          call.destroy(new ComputeNetworkError('ETIMEDOUT', `Compute did not answer ${path}`)),
        );
        call.on('error', reject);
        call.end();
      });
    },
  };
}
