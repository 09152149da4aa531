/**
 * The label entry points: `enforceLabels` (HTTP, called by Cloud Scheduler) sweeps every
 * governed project; `enforceLabelsOnCreate` (Eventarc audit log of instance inserts) checks
 * one new VM. Both read their settings once, from the runtime's environment.
 */
import type { HttpFunction, Request } from '@google-cloud/functions-framework';
import { z } from 'zod';
import { commonAdapters, type Runtime } from '../adapters/runtime.js';
import { startOfHour } from '../core/clock.js';
import { commonSettings, policyProjects, PROJECT_ID, readConfig } from '../core/config.js';
import { ValidationError } from '../core/errors.js';
import { eventHandler, httpHandler, type EventFunction, type HttpReply } from '../core/handlers.js';
import { refuseForbiddenKeys } from '../core/json-body.js';
import type { PriceLookup } from '../core/pricing.js';
import { parseInsertEvent } from './audit-event.js';
import type { SweepRequest } from './check-outcome.js';
import { createLabelEnforcer, type LabelEnforcer } from './enforce-labels.js';
import { toLabelPolicy } from './label-policy.js';
import { ProjectDirectory } from '../adapters/projects.js';
import type { ProjectLabelSource } from './project-labels.js';
import { labelSettings } from './settings.js';

export interface LabelEntryOverrides {
  /** Defaults to the pricing engine (Cloud Billing Catalog with the bundled price book). */
  readonly prices?: PriceLookup;
  /** Defaults to Resource Manager. */
  readonly projectLabels?: ProjectLabelSource;
}

export const labelEntrySettings = { ...commonSettings, ...labelSettings };

export interface ConfiguredLabelEnforcer {
  readonly enforcer: LabelEnforcer;
  /** The governed projects the policy applies to. */
  readonly projects: readonly string[];
}

/** The enforcer an entry point runs, built from the runtime's settings and clients. */
export async function buildLabelEnforcer(
  runtime: Runtime,
  overrides: LabelEntryOverrides = {},
): Promise<ConfiguredLabelEnforcer> {
  const config = readConfig(labelEntrySettings, runtime.env);
  const policy = toLabelPolicy(config.policy);
  const projects = policyProjects(
    'COSTGUARD_LABEL_POLICY',
    'scope.projects within COSTGUARD_PROJECTS',
    policy.projects,
    config.projects,
  );
  const { fleet, ledger, notifier, tags } = commonAdapters(runtime, config);
  const { logger, clock, clients } = runtime;
  // The pricing engine is loaded only when no lookup is given (tests and the demo give one).
  const prices =
    overrides.prices ??
    (await import('../pricing/index.js')).createPriceLookupFor(runtime, {
      project: projects[0] as string,
    });
  const enforcer = createLabelEnforcer({
    fleet,
    ledger,
    notifier,
    prices,
    projectLabels:
      overrides.projectLabels ?? new ProjectDirectory(() => clients.projects(), { logger }),
    tags,
    logger,
    clock,
    config: {
      policy,
      projects,
      dryRun: config.dryRun,
      concurrency: config.concurrency,
      dashboardUrl: config.dashboardUrl,
    },
  });
  return { enforcer, projects };
}

const sweepBody = z
  .object({
    dryRun: z.boolean().optional(),
    projects: z.array(z.string().regex(PROJECT_ID, 'must be a project id')).min(1).optional(),
  })
  .strict();

function bodyOf(request: Request): unknown {
  const body: unknown = request.body;
  if (body === undefined || body === null) return {};
  // Cloud Scheduler sends its body as application/octet-stream unless told otherwise.
  if (Buffer.isBuffer(body) || typeof body === 'string') {
    const text = body.toString().trim();
    if (text === '') return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ValidationError('The request body is not JSON');
    }
    refuseForbiddenKeys(parsed);
    return parsed;
  }
  return body;
}

/** The sweep id: Cloud Scheduler's schedule time, so a retried run is the same sweep. */
function sweepIdOf(request: Request, now: Date): string {
  const scheduled = request.get('x-cloudscheduler-scheduletime');
  if (scheduled === undefined) return `sweep-${startOfHour(now).toISOString()}`;
  const at = new Date(scheduled);
  if (Number.isNaN(at.getTime())) {
    throw new ValidationError('Invalid X-CloudScheduler-ScheduleTime header', [scheduled]);
  }
  return `sweep-${at.toISOString()}`;
}

/** The sweep a request asks for: its id, and at most a safer dry run over fewer projects. */
function parseSweepRequest(request: Request, governed: readonly string[], now: Date): SweepRequest {
  const parsed = sweepBody.safeParse(bodyOf(request));
  if (!parsed.success) {
    throw new ValidationError(
      'Invalid sweep request',
      parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`),
    );
  }
  const unknown = (parsed.data.projects ?? []).filter((p) => !governed.includes(p));
  if (unknown.length > 0) {
    throw new ValidationError('Projects outside the governed ones', unknown);
  }
  return {
    id: sweepIdOf(request, now),
    dryRun: parsed.data.dryRun,
    projects: parsed.data.projects,
  };
}

export async function buildEnforceLabels(
  runtime: Runtime,
  overrides: LabelEntryOverrides = {},
): Promise<HttpFunction> {
  const { enforcer, projects } = await buildLabelEnforcer(runtime, overrides);
  return httpHandler(
    runtime.logger,
    async (request): Promise<HttpReply> => {
      const report = await enforcer.sweep(
        parseSweepRequest(request, projects, runtime.clock.now()),
      );
      return { status: 200, body: report };
    },
    { methods: ['POST'] },
  );
}

export async function buildEnforceLabelsOnCreate(
  runtime: Runtime,
  overrides: LabelEntryOverrides = {},
): Promise<EventFunction> {
  const { enforcer } = await buildLabelEnforcer(runtime, overrides);
  return eventHandler<unknown>(runtime.logger, async (event) => {
    await enforcer.checkCreated(parseInsertEvent(event));
  });
}
