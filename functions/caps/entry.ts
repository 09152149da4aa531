/**
 * `enforceSpotCap`: HTTP, called by Cloud Scheduler every 10 minutes with an OIDC token. The
 * body is empty. The reply is the run's report per cap (spend so far and its recorded and
 * estimated parts, forecast and method, headroom, decision, VMs stopped): 200, or 503 when a
 * stop or a listing failed for a reason a retry can fix (what was done is recorded, and the
 * retry does nothing twice). Deploy it with `--max-instances=1`: runs then never overlap.
 */
import { BudgetDirectory } from '../adapters/budgets.js';
import type { HttpFunction, Request } from '@google-cloud/functions-framework';
import { commonAdapters, type Runtime } from '../adapters/runtime.js';
import { BigQueryEnforcementLedger } from '../budget/enforcement-ledger.js';
import { commonSettings, configError, readConfig } from '../core/config.js';
import { ValidationError } from '../core/errors.js';
import { httpHandler, isEmptyBody, type HttpReply } from '../core/handlers.js';
import type { PriceLookup } from '../core/pricing.js';
import { CapLedger } from './cap-ledger.js';
import { capSettings } from './cap-policy.js';
import { createCapEnforcer, type CapRunReport } from './enforce-spot-cap.js';

export interface CapEntryOverrides {
  /** Defaults to the pricing engine (Cloud Billing Catalog with the bundled price book). */
  readonly prices?: PriceLookup;
}

export const capEntrySettings = { ...commonSettings, ...capSettings };

function parseCapRequest(request: Pick<Request, 'body'>): void {
  if (!isEmptyBody(request.body)) {
    throw new ValidationError('The request body must be empty: a run checks every cap');
  }
}

function replyFor(report: CapRunReport): HttpReply {
  if (report.retry || report.failures.some((f) => f.retryable)) {
    return {
      status: 503,
      body: {
        error: 'Some caps could not be carried out in full; a retry finishes them',
        ...report,
      },
    };
  }
  return { status: 200, body: report };
}

export async function buildEnforceSpotCap(
  runtime: Runtime,
  overrides: CapEntryOverrides = {},
): Promise<HttpFunction> {
  const config = readConfig(capEntrySettings, runtime.env);
  const outside = config.caps.flatMap((cap) =>
    (cap.scope.projects ?? []).filter((p) => !config.projects.includes(p)),
  );
  if (outside.length > 0) {
    throw configError(
      capSettings.caps.variable,
      'cap projects within COSTGUARD_PROJECTS',
      `got ${[...new Set(outside)].join(', ')}`,
    );
  }
  const { fleet, ledger, notifier, tags } = commonAdapters(runtime, config);
  const { logger, clock } = runtime;
  // The pricing engine is loaded only when no lookup is given (tests and the demo give one).
  const prices =
    overrides.prices ??
    (await import('../pricing/index.js')).createPriceLookupFor(runtime, {
      project: config.projects[0] as string,
    });
  const actions = new BigQueryEnforcementLedger(ledger);
  const enforcer = createCapEnforcer({
    fleet,
    prices,
    actions,
    // Snoozes and restarts from Slack (slackActions) hold a tier's shedding.
    holds: actions,
    tags,
    ledger: new CapLedger(ledger),
    budgets: new BudgetDirectory(() => runtime.clients.budgets(), { logger }),
    notifier,
    logger,
    clock,
    config: {
      caps: config.caps,
      projects: config.projects,
      enforce: config.enforce,
      stopConcurrency: config.stopConcurrency,
      dashboardUrl: config.dashboardUrl,
      recentHours: config.recentHours,
    },
  });
  return httpHandler(
    logger,
    async (request) => {
      parseCapRequest(request);
      return replyFor(await enforcer.run());
    },
    { methods: ['POST'] },
  );
}
