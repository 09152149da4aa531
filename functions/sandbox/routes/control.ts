/**
 * The sandbox's own API under `/_sandbox/`: inspect calls, the fleet and captured Slack
 * messages; move the simulated clock; inject faults; add VMs (preemptions: `logging.ts`).
 */

import { errorMessage } from '../../core/errors.js';
import { renderInstance } from './compute.js';
import { playClick } from '../slack-click.js';
import { slackState } from './slack.js';
import { asRecord, fail, notFound, route } from '../http.js';
import type { InstanceFixture } from '../fleet.js';
import type { Sandbox, SandboxModule } from '../sandbox.js';

function summary(sandbox: Sandbox): Record<string, unknown> {
  return {
    now: sandbox.clock.now().toISOString(),
    projects: [...sandbox.fleet.projects.values()],
    instances: sandbox.fleet.live().length,
    running: sandbox.fleet.live().filter((vm) => vm.status === 'RUNNING').length,
    calls: sandbox.calls.length,
    slackMessages: slackState(sandbox).messages.length,
    faults: sandbox.faults.list(),
  };
}

const routes = [
  route<Sandbox>('sandbox.summary', 'GET', '/_sandbox', (_request, sandbox) => ({
    body: summary(sandbox),
  })),
  route<Sandbox>('sandbox.fleet', 'GET', '/_sandbox/fleet', (request, sandbox) => {
    const project = request.query.get('project') ?? undefined;
    return {
      body: {
        now: sandbox.clock.now().toISOString(),
        instances: sandbox.fleet.live(project).map((vm) => ({
          project: vm.project,
          zone: vm.zone,
          name: vm.name,
          id: vm.id,
          status: vm.status,
          machineType: vm.machineType,
          provisioningModel: vm.provisioningModel,
          labels: vm.labels,
          metadata: Object.fromEntries(vm.metadata.map((i) => [i.key, i.value])),
        })),
      },
    };
  }),
  route<Sandbox>(
    'sandbox.instance',
    'GET',
    '/_sandbox/fleet/{project}/{zone}/{name}',
    (request, sandbox) => {
      const { project, zone, name } = request.params as Record<string, string>;
      const vm = sandbox.fleet.get(project as string, zone as string, name as string);
      if (!vm) notFound(`${project}/${zone}/${name}`);
      return {
        body: {
          ...renderInstance(vm),
          history: vm.history.map((h) => ({ at: new Date(h.at).toISOString(), status: h.status })),
        },
      };
    },
  ),
  route<Sandbox>('sandbox.calls', 'GET', '/_sandbox/calls', (request, sandbox) => {
    const prefix = request.query.get('route') ?? '';
    return { body: { calls: sandbox.calls.filter((c) => c.route.startsWith(prefix)) } };
  }),
  route<Sandbox>('sandbox.calls.clear', 'DELETE', '/_sandbox/calls', (_request, sandbox) => {
    sandbox.calls.length = 0;
    return { status: 204 };
  }),
  route<Sandbox>('sandbox.slack', 'GET', '/_sandbox/slack/messages', (_request, sandbox) => ({
    body: { messages: slackState(sandbox).messages },
  })),
  route<Sandbox>('sandbox.slack.responses', 'GET', '/_sandbox/slack/responses', (_r, sandbox) => ({
    body: { responses: slackState(sandbox).responses },
  })),
  route<Sandbox>('sandbox.slack.app', 'PUT', '/_sandbox/slack/app', (request, sandbox) => {
    // The Slack app's interactivity settings: `{"interactivityUrl": URL, "signingSecret": S}`.
    const body = asRecord(request.body);
    const app = slackState(sandbox).app;
    if (typeof body.interactivityUrl === 'string') app.interactivityUrl = body.interactivityUrl;
    if (typeof body.signingSecret === 'string') app.signingSecret = body.signingSecret;
    return { body: { interactivityUrl: app.interactivityUrl } };
  }),
  route<Sandbox>(
    'sandbox.slack.click',
    'POST',
    '/_sandbox/slack/click',
    async (request, sandbox) => {
      // Plays a click as Slack sends it: `{"actionId": "costguard_restart", "user": "U0ONCALL",
      // "ts": "...", "forge": true}`; answers with what the app answered.
      const body = asRecord(request.body);
      const text = (key: string): string | undefined =>
        typeof body[key] === 'string' ? body[key] : undefined;
      const actionId = text('actionId');
      if (!actionId) fail(400, 'Send {"actionId": "costguard_restart", "user": "U0ONCALL"}');
      try {
        const played = await playClick(sandbox, {
          actionId,
          ...(text('ts') ? { ts: text('ts') } : {}),
          ...(text('user') ? { user: text('user') } : {}),
          ...(text('blockId') ? { blockId: text('blockId') } : {}),
          ...(text('date') ? { date: text('date') } : {}),
          ...(text('actionTs') ? { actionTs: text('actionTs') } : {}),
          forge: body.forge === true,
          stale: body.stale === true,
        });
        return { body: played };
      } catch (error) {
        fail(400, errorMessage(error));
      }
    },
  ),
  route<Sandbox>('sandbox.clock', 'GET', '/_sandbox/clock', (_request, sandbox) => ({
    body: { now: sandbox.clock.now().toISOString() },
  })),
  route<Sandbox>('sandbox.clock.move', 'POST', '/_sandbox/clock', (request, sandbox) => {
    const body = asRecord(request.body);
    try {
      if (typeof body.advanceSeconds === 'number')
        sandbox.clock.advance(body.advanceSeconds * 1000);
      else if (typeof body.to === 'string') sandbox.clock.set(new Date(body.to));
      else fail(400, 'Send {"advanceSeconds": N} or {"to": "ISO time"}');
    } catch (error) {
      if (error instanceof RangeError) fail(400, error.message);
      throw error;
    }
    return { body: { now: sandbox.clock.now().toISOString() } };
  }),
  route<Sandbox>('sandbox.settings', 'GET', '/_sandbox/settings', (_request, sandbox) => ({
    body: sandbox.settings,
  })),
  route<Sandbox>('sandbox.settings.set', 'PUT', '/_sandbox/settings', (request, sandbox) => {
    // How long operations take and how late Monitoring is, for benchmarks and people trying
    // the product: `{"operationSeconds": 30, "monitoringIngestDelaySeconds": 240}`.
    const body = asRecord(request.body);
    for (const key of ['operationSeconds', 'monitoringIngestDelaySeconds'] as const) {
      const value = body[key];
      if (value === undefined) continue;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        fail(400, `${key} must be a number of seconds, 0 or more`);
      }
      sandbox.settings[key] = value;
    }
    return { body: sandbox.settings };
  }),
  route<Sandbox>('sandbox.faults', 'GET', '/_sandbox/faults', (_request, sandbox) => ({
    body: sandbox.faults.list(),
  })),
  route<Sandbox>('sandbox.faults.set', 'PUT', '/_sandbox/faults/{target*}', (request, sandbox) => {
    sandbox.faults.set(request.params.target as string, asRecord(request.body));
    return { body: sandbox.faults.list() };
  }),
  route<Sandbox>('sandbox.faults.clear', 'DELETE', '/_sandbox/faults', (_request, sandbox) => {
    sandbox.faults.clear();
    return { status: 204 };
  }),
  route<Sandbox>(
    'sandbox.addInstance',
    'POST',
    '/_sandbox/compute/instances',
    (request, sandbox) => {
      try {
        const vm = sandbox.fleet.add(asRecord(request.body) as InstanceFixture);
        return { status: 201, body: renderInstance(vm) };
      } catch (error) {
        fail(400, errorMessage(error));
      }
    },
  ),
];

export const controlModule: SandboxModule = { name: 'sandbox', routes };
