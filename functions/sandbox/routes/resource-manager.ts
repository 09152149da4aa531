/**
 * Resource Manager v3 `projects.get` for the sandbox, answering for the fleet's projects by id
 * or by number (budgets name projects by number), with labels set through `setProjectLabels` or
 * `PUT /_sandbox/projects/P/labels`. Like the real API it answers 403 for a project that does
 * not exist or may not be read, without saying which.
 */

import { errorMessage } from '../../core/errors.js';
import { asRecord, fail, route } from '../http.js';
import type { Sandbox, SandboxModule } from '../sandbox.js';

interface ProjectState {
  labels: Map<string, Record<string, string>>;
}

function state(sandbox: Sandbox): ProjectState {
  return sandbox.extension<ProjectState>('resource-manager', () => ({ labels: new Map() }));
}

export function setProjectLabels(
  sandbox: Sandbox,
  project: string,
  labels: Record<string, string>,
): void {
  if (!sandbox.fleet.projects.has(project)) throw new Error(`unknown project ${project}`);
  state(sandbox).labels.set(project, { ...labels });
}

const routes = [
  route<Sandbox>(
    'resourcemanager.projects.get',
    'GET',
    '/v3/projects/{project}',
    (request, sandbox) => {
      const wanted = request.params.project as string;
      const project = [...sandbox.fleet.projects.values()].find(
        (p) => p.id === wanted || p.number === wanted,
      );
      if (!project) {
        fail(
          403,
          `Permission 'resourcemanager.projects.get' denied on resource '//cloudresourcemanager.googleapis.com/projects/${wanted}' (or it may not exist).`,
          'forbidden',
        );
      }
      return {
        body: {
          name: `projects/${project.number}`,
          parent: 'organizations/100000000001',
          projectId: project.id,
          state: 'ACTIVE',
          displayName: project.id,
          createTime: '2024-01-01T00:00:00.000Z',
          updateTime: '2024-01-01T00:00:00.000Z',
          etag: `W/"${project.number}"`,
          labels: state(sandbox).labels.get(project.id) ?? {},
        },
      };
    },
  ),
  route<Sandbox>(
    'sandbox.projects.labels',
    'PUT',
    '/_sandbox/projects/{project}/labels',
    (request, sandbox) => {
      const project = request.params.project as string;
      const labels = asRecord(request.body);
      if (!Object.values(labels).every((v) => typeof v === 'string')) {
        fail(400, 'Labels must be a JSON object of strings');
      }
      try {
        setProjectLabels(sandbox, project, labels as Record<string, string>);
      } catch (error) {
        fail(404, errorMessage(error), 'notFound');
      }
      return { body: { project, labels } };
    },
  ),
];

export const resourceManagerModule: SandboxModule = { name: 'resource-manager', routes };
