import { ProjectDirectory } from '../../functions/adapters/projects.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoiseProjectLabels } from '../../functions/labels/project-labels.js';
import { sandboxRuntime, type Sandbox } from '../support/sandbox.js';
import { startLabelSandbox } from './label-sandbox.js';

// The real @google-cloud/resource-manager client against the sandbox's projects.get.
describe('Project labels through Resource Manager', () => {
  let sandbox: Sandbox;
  let runtime: ReturnType<typeof sandboxRuntime>;

  beforeEach(async () => {
    sandbox = await startLabelSandbox();
    runtime = sandboxRuntime(sandbox);
  });
  afterEach(() => sandbox.close());

  const source = (): ProjectDirectory =>
    new ProjectDirectory(() => runtime.clients.projects(), {
      logger: runtime.logger,
      retry: { baseDelayMs: 1 },
    });

  it('reads a project by id and by number, as the client sends it', async () => {
    const client = await runtime.clients.projects();
    const [byNumber] = await client.getProject({ name: 'projects/271828182845' });
    expect([byNumber.projectId, byNumber.name, byNumber.labels]).toEqual([
      'data-pipelines',
      'projects/271828182845',
      { team: 'data', cost_center: 'cc-200' },
    ]);
    expect(await source().labelsOf('ml-training-prod')).toEqual({
      cost_center: 'cc-100',
      environment: 'prod',
    });
    expect(
      sandbox.calls
        .filter((c) => c.route === 'resourcemanager.projects.get')
        .every((c) => !c.authorization),
    ).toBe(true);
  });

  it('counts a project it may not read as having no labels, and says so once', async () => {
    expect(await source().labelsOf('someone-elses')).toEqual({});
    const warnings = runtime.logger.entries.filter((e) => e.severity === 'WARNING');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ project: 'someone-elses', status: 403 });
  });

  it('retries a transient failure', async () => {
    sandbox.faults.set('resourcemanager.projects.get', { fail: { count: 2, status: 503 } });
    expect(await source().labelsOf('data-pipelines')).toEqual({
      team: 'data',
      cost_center: 'cc-200',
    });
    expect(
      sandbox.calls.filter((c) => c.route === 'resourcemanager.projects.get').map((c) => c.status),
    ).toEqual([503, 503, 200]);
  });

  it('reads each project once during a run', async () => {
    const labels = memoiseProjectLabels(source());
    await Promise.all([
      labels.labelsOf('data-pipelines'),
      labels.labelsOf('data-pipelines'),
      labels.labelsOf('ml-training-prod'),
    ]);
    expect(sandbox.calls.filter((c) => c.route === 'resourcemanager.projects.get')).toHaveLength(2);
  });

  it('lets the sandbox control API set a project\u2019s labels', async () => {
    const response = await fetch(`${sandbox.url}/_sandbox/projects/research-sandbox/labels`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ team: 'research' }),
    });
    expect(response.status).toBe(200);
    expect(await source().labelsOf('research-sandbox')).toEqual({ team: 'research' });
    const unknown = await fetch(`${sandbox.url}/_sandbox/projects/nope-project/labels`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(unknown.status).toBe(404);
  });
});
