/**
 * The `recordSpotCosts` entry point (HTTP POST, Cloud Scheduler every hour, OIDC). The body may be
 * empty; `{"catchUpHours": n}` re-reads a longer window once (a manual backfill). The reply is
 * the run's summary: 200 when every project was read, 503 when one could not be read for a
 * reason a retry can fix (the rest is recorded, and the retry records nothing twice), 422 when
 * no project could be read and retrying will not help.
 */
import type { HttpFunction, Request } from '@google-cloud/functions-framework';
import { z } from 'zod';
import { commonAdapters, type Runtime } from '../adapters/runtime.js';
import { commonSettings, ledgerProjectOf, readConfig } from '../core/config.js';
import { ValidationError } from '../core/errors.js';
import { httpHandler, isEmptyBody, type HttpReply } from '../core/handlers.js';
import { createPriceLookupFor } from '../pricing/index.js';
import { createPreemptionRecorderFor } from '../preemptions/entry.js';
import {
  createRecorder,
  type Recorder,
  type RecordRequest,
  type RecordSummary,
} from './record-spot-costs.js';
import { createPreemptionDigest } from './preemption-digest.js';
import { recorderSettings } from './settings.js';
import { SpotCostLedger, TABLES } from './spot-cost-ledger.js';

const recordRequest = z
  .object({ catchUpHours: z.number().int().min(1).max(168).optional() })
  .strict();

function parseRecordRequest(request: Pick<Request, 'body'>): RecordRequest {
  const body: unknown = request.body;
  if (isEmptyBody(body)) return {};
  if (typeof body !== 'object' || Buffer.isBuffer(body) || Array.isArray(body)) {
    throw new ValidationError('The request body must be a JSON object (application/json)');
  }
  const parsed = recordRequest.safeParse(body);
  if (!parsed.success) {
    throw new ValidationError(
      'Invalid request body',
      parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`),
    );
  }
  return parsed.data.catchUpHours === undefined ? {} : { catchUpHours: parsed.data.catchUpHours };
}

/** The HTTP reply to a run: a retry is asked for when it can record what this run could not. */
export function replyFor(summary: RecordSummary, projects: number): HttpReply {
  if (summary.failures.some((f) => f.retryable) || summary.gaps.length > 0) {
    return {
      status: 503,
      body: { error: 'Some projects could not be read; a retry records them', ...summary },
    };
  }
  if (summary.failures.length > 0 && summary.failures.length === projects) {
    return { status: 422, body: { error: 'No project could be read', ...summary } };
  }
  return { status: 200, body: summary };
}

/** The recorder of one function instance, wired from the runtime's settings and clients. */
export function createRecorderFor(runtime: Runtime): { recorder: Recorder; projects: number } {
  const config = readConfig({ ...commonSettings, ...recorderSettings }, runtime.env);
  const common = commonAdapters(runtime, config);
  const ledgerProject = ledgerProjectOf(config);
  const viewUrl =
    config.dashboardUrl ??
    `https://console.cloud.google.com/bigquery?project=${ledgerProject}&ws=!1m5!1m4!4m3!1s${ledgerProject}!2s${config.dataset}!3s${TABLES.costView}`;
  const pricing = createPriceLookupFor(runtime, {
    project: config.projects[0] as string,
    currency: config.currency,
  });
  const ledger = new SpotCostLedger(common.ledger);
  const recorder = createRecorder({
    fleet: common.fleet,
    uptime: common.uptime,
    pricing,
    preemptions: createPreemptionRecorderFor(runtime, config, pricing),
    ledger,
    preemptionDigest: createPreemptionDigest({
      notifier: common.notifier,
      ledger,
      logger: runtime.logger,
      config: {
        settleMinutes: config.settleMinutes,
        currency: config.currency,
        slackChannel: config.slackChannel,
      },
    }),
    notifier: common.notifier,
    clock: runtime.clock,
    logger: runtime.logger,
    config: {
      projects: config.projects,
      catchUpHours: config.catchUpHours,
      settleMinutes: config.settleMinutes,
      currency: config.currency,
      alerts: config.alerts,
      viewUrl,
      slackChannel: config.slackChannel,
    },
  });
  return { recorder, projects: config.projects.length };
}

export function buildRecordSpotCosts(runtime: Runtime): HttpFunction {
  const { recorder, projects } = createRecorderFor(runtime);
  // Cloud Scheduler POSTs; a GET (a browser, a probe) must not record anything.
  return httpHandler(
    runtime.logger,
    async (request) => {
      const summary = await recorder.record(parseRecordRequest(request));
      return replyFor(summary, projects);
    },
    { methods: ['POST'] },
  );
}
