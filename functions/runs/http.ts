/**
 * The HTTP edge of `triggerRun`: routes the request, checks its size, type and identity token,
 * parses it, asks the run service, and turns the service's outcome into the reply the API
 * document (`docs/openapi.json`) describes: status, headers and body. `GET /openapi.json` serves
 * that document. Nothing here decides anything about a run.
 */
import type { Request } from '@google-cloud/functions-framework';
import type { CapNotice } from '../caps/cap-admission.js';
import type { HttpLogic, HttpReply } from '../core/handlers.js';
import type { Logger } from '../core/logger.js';
import { runApiDocument } from './api-document.js';
import type { GroupMembership } from '../adapters/cloud-identity.js';
import { authenticate, mayInvoke, MembershipUnknownError } from './authorize.js';
import type { Pipeline, RunsConfig } from './config.js';
import {
  bodyTooLarge,
  idempotencyKeyOf,
  isJson,
  parseListQuery,
  parseLogQuery,
  parseStartRequest,
  routeRequest,
} from './request.js';
import type { RunRecord } from './run-record.js';
import type {
  Actor,
  CancelRunOutcome,
  GetRunOutcome,
  ListRunsOutcome,
  RunLogOutcome,
  RunService,
  StartRunOutcome,
} from './run-service.js';
import { statusUrlOf, viewOf } from './run-view.js';

function reply(status: number, body: unknown, headers?: Record<string, string>): HttpReply {
  return headers ? { status, body, headers } : { status, body };
}

const NO_SUCH_RUN = reply(404, { error: 'No such run' });

/** An HTTP caller may act on the pipelines that name it, or a group it is in, as an invoker. */
export function httpCallerCheck(
  groups: GroupMembership | undefined,
): (actor: Actor, pipeline: Pipeline) => Promise<boolean> {
  return async (actor, pipeline) =>
    actor.via === 'http' && (await mayInvoke(pipeline, { email: actor.id }, groups));
}

const MEMBERSHIP_UNKNOWN = reply(
  503,
  {
    error: "The pipeline's invoker groups could not be checked, so nothing was done; retry later",
  },
  { 'Retry-After': '30' },
);

function capWarningsOf(warnings: readonly CapNotice[]): { capWarnings?: readonly CapNotice[] } {
  return warnings.length > 0 ? { capWarnings: warnings } : {};
}

/** The replies of `POST /runs`. */
export function startReply(outcome: StartRunOutcome, publicUrl: string): HttpReply {
  const view = (run: RunRecord) => viewOf(run, publicUrl);
  const location = (run: RunRecord) => ({ Location: statusUrlOf(publicUrl, run.runId) });
  switch (outcome.kind) {
    case 'started':
      return reply(
        202,
        { ...view(outcome.run), ...capWarningsOf(outcome.capWarnings) },
        location(outcome.run),
      );
    case 'replayed':
      return reply(202, view(outcome.run), {
        'Idempotent-Replayed': 'true',
        ...location(outcome.run),
      });
    case 'dry-run':
      return reply(200, {
        dryRun: true,
        plan: outcome.plan,
        ...view(outcome.run),
        ...capWarningsOf(outcome.capWarnings),
      });
    case 'not-allowed':
      return reply(403, { error: `You are not an invoker of pipeline ${outcome.pipeline}` });
    case 'key-reused':
      return reply(422, {
        error: 'This Idempotency-Key was used for a different request',
        runId: outcome.runId,
      });
    case 'over-cap': {
      const { cap } = outcome;
      return reply(409, {
        error: cap.message,
        cap: cap.cap,
        spend: cap.spend,
        capAmount: cap.capAmount,
        currency: cap.currency,
        resetsAt: cap.resetsAt,
      });
    }
    case 'busy':
      return reply(409, {
        error: `The pipeline's VM is busy: ${outcome.reason}`,
        activeRunId: outcome.activeRunId ?? null,
      });
    case 'start-failed':
      return reply(422, { error: 'The run could not be started', ...view(outcome.run) });
  }
}

/** The replies of `GET /runs/{runId}`, `GET /runs` and `POST /runs/{runId}:cancel`. */
export function getReply(outcome: GetRunOutcome, publicUrl: string): HttpReply {
  return outcome.kind === 'found' ? reply(200, viewOf(outcome.run, publicUrl)) : NO_SUCH_RUN;
}

export function listReply(outcome: ListRunsOutcome, publicUrl: string): HttpReply {
  if (outcome.kind === 'not-allowed') {
    return reply(403, { error: `You are not an invoker of pipeline ${outcome.pipeline}` });
  }
  return reply(200, { runs: outcome.runs.map((r) => viewOf(r, publicUrl)) });
}

export function cancelReply(outcome: CancelRunOutcome, publicUrl: string): HttpReply {
  switch (outcome.kind) {
    case 'cancelled':
      return reply(202, viewOf(outcome.run, publicUrl));
    case 'dry-run':
      return reply(200, { dryRun: true, ...viewOf(outcome.run, publicUrl) });
    case 'not-active':
      return reply(409, {
        error: 'The run is not active',
        runId: outcome.run.runId,
        status: outcome.run.status,
      });
    case 'not-found':
      return NO_SUCH_RUN;
  }
}

/** The reply of `GET /runs/{runId}/log`: the console's next part, or where the log is. */
export function logReply(outcome: RunLogOutcome, offset: number): HttpReply {
  if (outcome.kind === 'not-found') return NO_SUCH_RUN;
  const { run, log } = outcome;
  const base = { runId: run.runId, contents: '', start: offset, next: offset, skipped: 0 };
  switch (log.kind) {
    case 'console':
      return reply(200, {
        ...base,
        contents: log.contents,
        start: log.start,
        next: log.next,
        skipped: Math.max(0, log.start - offset),
        link: null,
      });
    case 'link':
      return reply(200, { ...base, link: log.link ?? null });
    case 'none':
      return reply(200, { ...base, next: log.next, link: null });
  }
}

/** The HTTP logic of `triggerRun`: the request edge, then the run service, then the reply. */
export function createTriggerRunHttp(
  service: RunService,
  config: RunsConfig,
  logger: Logger,
  mayAct: (actor: Actor, pipeline: Pipeline) => Promise<boolean>,
): HttpLogic {
  const { publicUrl } = config;
  const refused = (pipeline: string, actor: Actor): void =>
    logger.warn('Caller refused: not an invoker of the pipeline', { pipeline, caller: actor.id });
  return async (request: Request): Promise<HttpReply> => {
    const headers = request.headers as Record<string, unknown>;
    if (bodyTooLarge(headers, request.rawBody)) {
      return reply(413, { error: 'The request body is too large' });
    }
    const route = routeRequest(request.method, request.path);
    // The API's description is no secret; Cloud Run IAM still decides who reaches it.
    if (route.kind === 'api-document') return reply(200, runApiDocument(publicUrl));
    const authentication = authenticate(request.headers, config.audiences);
    if (!authentication.ok) {
      logger.warn('Caller refused: not authenticated', {
        reason: authentication.reason,
        method: request.method,
        path: request.path,
      });
      return reply(
        401,
        { error: 'Call with an identity token issued for this function' },
        { 'WWW-Authenticate': 'Bearer' },
      );
    }
    const actor: Actor = { id: authentication.caller.email, via: 'http' };
    try {
      switch (route.kind) {
        case 'not-found':
          return reply(404, { error: 'Not found' });
        case 'method-not-allowed':
          return reply(405, { error: 'Method not allowed' }, { Allow: route.allow.join(', ') });
        case 'start': {
          if (!isJson(headers))
            return reply(415, { error: 'Send the run request as application/json' });
          const start = parseStartRequest(request.body, config.pipelines);
          // The key is checked only for a caller that may run the pipeline at all.
          if (!(await mayAct(actor, start.pipeline))) {
            refused(start.pipeline.name, actor);
            return startReply({ kind: 'not-allowed', pipeline: start.pipeline.name }, publicUrl);
          }
          const key = idempotencyKeyOf(headers);
          return startReply(await service.start({ request: start, key, actor }), publicUrl);
        }
        case 'list': {
          const outcome = await service.list(
            parseListQuery(request.query, config.pipelines),
            actor,
          );
          if (outcome.kind === 'not-allowed') refused(outcome.pipeline, actor);
          return listReply(outcome, publicUrl);
        }
        case 'get':
          return getReply(await service.get(route.runId, actor), publicUrl);
        case 'cancel':
          return cancelReply(await service.cancel(route.runId, actor), publicUrl);
        case 'log': {
          const { offset } = parseLogQuery(request.query);
          return logReply(await service.log(route.runId, actor, offset), offset);
        }
      }
    } catch (error) {
      if (!(error instanceof MembershipUnknownError)) throw error;
      logger.error('Caller refused: invoker groups could not be checked', {
        pipeline: error.pipeline,
        groups: error.groups,
        caller: actor.id,
        error: error.cause,
      });
      return MEMBERSHIP_UNKNOWN;
    }
  };
}
