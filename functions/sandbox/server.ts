import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../core/errors.js';
import { SimulatedClock } from './clock.js';
import { Faults } from './faults.js';
import { Fleet, type FleetFixture } from './fleet.js';
import {
  errorStyleOf,
  googleError,
  HttpProblem,
  type SandboxReply,
  type SandboxRequest,
} from './http.js';
import type { CallRecord, ReplyRecord, Sandbox, SandboxSettings } from './sandbox.js';
import { defaultModules } from './routes/index.js';

export interface SandboxOptions {
  /** The fleet, whose startTime is the simulated time at start (else now). */
  fleet?: FleetFixture;
  host?: string;
  port?: number;
}

// BigQuery's and Storage's request limit; media uploads (load jobs, objects) may be far larger.
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;

function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpProblem({ code: 413, message: 'Request body too large' }));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  const text = raw.toString('utf8');
  if (contentType?.includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  if (contentType?.includes('json') || /^\s*[[{]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      throw new HttpProblem({ code: 400, message: 'Invalid JSON payload received' });
    }
  }
  return text;
}

function send(response: ServerResponse, reply: SandboxReply): void {
  const status = reply.status ?? 200;
  const headers = { ...reply.headers };
  let payload: Buffer | string;
  if (reply.raw !== undefined) {
    payload = reply.raw;
    headers['content-type'] ??= 'application/octet-stream';
  } else {
    payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
    headers['content-type'] ??= 'application/json; charset=UTF-8';
  }
  response.writeHead(status, headers);
  response.end(payload);
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const start = options.fleet
    ? new Date(options.fleet.startTime)
    : new Date(Math.floor(Date.now() / 1000) * 1000);
  const clock = new SimulatedClock(start);
  const fleet = new Fleet(() => clock.nowMs());
  if (options.fleet) fleet.load(options.fleet);
  const faults = new Faults();
  const calls: CallRecord[] = [];
  const extensions = new Map<string, unknown>();
  const modules = defaultModules();
  const routes = modules.flatMap((m) => m.routes);
  const settings: SandboxSettings = {
    operationSeconds: 0,
    monitoringIngestDelaySeconds: 0,
    keepReplies: false,
  };
  const replies: ReplyRecord[] = [];

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://sandbox');
    const path = decodeURIComponent(url.pathname);
    const method = request.method ?? 'GET';
    let routeName = 'unmatched';
    let reply: SandboxReply;
    try {
      const candidates = routes
        .map((r) => ({ r, match: r.pattern.exec(path) }))
        .filter((c) => c.match !== null);
      const chosen = candidates.find((c) => c.r.method === method);
      if (!chosen) {
        throw new HttpProblem(
          candidates.length > 0
            ? { code: 405, message: `Method ${method} not allowed on ${path}` }
            : { code: 404, message: `No sandbox route for ${method} ${path}`, reason: 'notFound' },
        );
      }
      routeName = chosen.r.name;
      const params: Record<string, string> = {};
      chosen.r.paramNames.forEach((name, i) => {
        params[name] = chosen.match?.[i + 1] ?? '';
      });
      const rawBody = await readBody(
        request,
        path.startsWith('/upload/') ? MAX_UPLOAD_BYTES : MAX_BODY_BYTES,
      );
      const sandboxRequest: SandboxRequest = {
        method,
        path,
        query: url.searchParams,
        headers: request.headers,
        rawBody,
        body: parseBody(rawBody, request.headers['content-type']),
        params,
      };
      const delay = faults.delayFor(routeName);
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      const injected = faults.takeFailure(routeName);
      const replay = injected ? undefined : faults.takeReplay(routeName);
      if (injected) {
        reply = googleError(
          injected.status,
          injected.message,
          injected.reason,
          errorStyleOf(routeName),
          injected.domain,
        );
      } else if (replay) reply = replay;
      else reply = await chosen.r.handle(sandboxRequest, sandbox);
    } catch (error) {
      reply =
        error instanceof HttpProblem
          ? error.replyFor(routeName)
          : googleError(
              500,
              `Sandbox error: ${errorMessage(error)}`,
              'internalError',
              errorStyleOf(routeName),
            );
    }
    if (!routeName.startsWith('sandbox.')) {
      calls.push({
        at: clock.now().toISOString(),
        route: routeName,
        method,
        path,
        status: reply.status ?? 200,
        authorization: request.headers.authorization !== undefined,
      });
    }
    if (settings.keepReplies) {
      replies.push({ route: routeName, status: reply.status ?? 200, body: reply.body });
    }
    send(response, reply);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      send(response, googleError(500, String(error)));
    });
  });
  // Google's front ends keep idle connections open for minutes; a short timeout here would make
  // a busy client reuse a socket the server is closing (ECONNRESET).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const hostPort = `${host}:${address.port}`;

  const sandbox: Sandbox = {
    clock,
    fleet,
    faults,
    calls,
    replies,
    settings,
    url: `http://${hostPort}`,
    hostPort,
    extension<T>(key: string, init: () => T): T {
      if (!extensions.has(key)) extensions.set(key, init());
      return extensions.get(key) as T;
    },
    env: () => ({ GCP_EMULATOR_HOST: hostPort, SLACK_API_URL: `http://${hostPort}/api/` }),
    async close() {
      for (const m of modules) await m.stop?.(sandbox);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  for (const m of modules) await m.start?.(sandbox);
  return sandbox;
}
