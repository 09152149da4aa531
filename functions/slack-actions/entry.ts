/**
 * `slackActions`: HTTP, the Slack app's interactivity Request URL. Deployed public
 * (`--allow-unauthenticated`): Slack cannot send a Google identity token, so the request
 * signature, checked over the raw body before anything is parsed, is the authentication. Every
 * signed click gets 200 (Slack shows an error for anything else); an unsigned, forged or stale
 * request gets 401 and changes nothing; a signed body that is not a costguard click gets 400.
 */
import type { HttpFunction, Request } from '@google-cloud/functions-framework';
import { resolveEndpoints } from '../adapters/endpoints.js';
import { commonAdapters, type Runtime } from '../adapters/runtime.js';
import { postToResponseUrl, SlackNotifier, SlackWebDirectory } from '../adapters/slack.js';
import { commonSettings, configError, readConfig } from '../core/config.js';
import { httpHandler, type HttpReply } from '../core/handlers.js';
import { budgetSettings } from '../budget/policy.js';
import { capSettings } from '../caps/cap-policy.js';
import { BigQuerySlackActionLedger } from './action-ledger.js';
import type { PerformerOverrides } from './perform-actions.js';
import {
  createSlackActions,
  type ActionPerformer,
  type SlackActionsReply,
} from './slack-actions.js';
import type { SignedRequest } from './request-signature.js';
import { slackActionSettings } from './settings.js';

/** With the budget policy and the caps, whose tiers Approve and Skip answer for. */
export const slackActionEntrySettings = {
  ...commonSettings,
  ...slackActionSettings,
  policy: budgetSettings.policy,
  caps: capSettings.caps,
  stopConcurrency: budgetSettings.stopConcurrency,
};

/** Slack's payloads carry the whole message (up to 50 blocks of 3,000 characters). */
const MAX_BODY_BYTES = 1024 * 1024;

/** Where Slack's `response_url`s point; the sandbox's Slack when SLACK_API_URL moves Slack. */
const SLACK_HOOKS_ORIGIN = 'https://hooks.slack.com/';

function header(request: Request, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

export function signedRequestOf(request: Request): SignedRequest {
  return {
    timestamp: header(request, 'x-slack-request-timestamp'),
    signature: header(request, 'x-slack-signature'),
    rawBody: request.rawBody,
  };
}

export function httpReplyOf(reply: SlackActionsReply): HttpReply {
  // Slack ignores the body of a reply to a block_actions click; what the user sees goes through
  // chat.update and response_url.
  return reply.status === 200
    ? { status: 200, body: undefined }
    : { status: 401, body: { error: reply.error } };
}

export async function buildSlackActions(
  runtime: Runtime,
  overrides: PerformerOverrides = {},
): Promise<HttpFunction> {
  const config = readConfig(slackActionEntrySettings, runtime.env);
  if (config.actorGroups.length === 0 && config.actorChannels.length === 0) {
    throw configError(
      slackActionSettings.actorGroups.variable,
      `at least one Slack user group, or channels in ${slackActionSettings.actorChannels.variable}`,
      'neither is set, so nobody could act',
    );
  }
  const token = config.slackToken;
  if (!token) {
    throw configError(commonSettings.slackToken.variable, 'a Slack bot token', 'it is not set');
  }
  const { clients, logger, clock } = runtime;
  const slackApiUrl = resolveEndpoints(runtime.env).slackApiUrl;
  const responseOrigin = slackApiUrl ? new URL(slackApiUrl).origin + '/' : SLACK_HOOKS_ORIGIN;
  const adapters = commonAdapters(runtime, config);
  const { makeSlackActionPerformer } = await import('./perform-actions.js');
  const performer: ActionPerformer = await makeSlackActionPerformer(
    runtime,
    config,
    adapters,
    overrides,
  );
  const slackActions = createSlackActions({
    ledger: new BigQuerySlackActionLedger(adapters.ledger),
    directory: new SlackWebDirectory(
      () => clients.slack(token),
      () => clock.now().getTime(),
    ),
    notifier: new SlackNotifier(() => clients.slack(token), config.slackChannel ?? '', logger),
    respond: (url, message) => postToResponseUrl(responseOrigin, url, message),
    performer,
    logger,
    clock,
    config,
  });
  return httpHandler(
    logger,
    async (request) => httpReplyOf(await slackActions.handle(signedRequestOf(request))),
    { methods: ['POST'], maxBodyBytes: MAX_BODY_BYTES },
  );
}
