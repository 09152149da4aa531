/**
 * Resource Manager v3 `projects.get` for the sandbox, answering for the fleet's projects by id
 * or by number (budgets name projects by number), with labels set through `setProjectLabels` or
 * `PUT /_sandbox/projects/P/labels`. Like the real API it answers 403 for a project that does
 * not exist or may not be read, without saying which. `effectiveTags.list` answers for the
 * fleet's VMs (`//compute.googleapis.com/projects/P/zones/Z/instances/ID`) with the tags bound
 * through `bindVmTags`, each under the organization of `ORGANIZATION`.
 */

import { errorMessage } from '../../core/errors.js';
import { asRecord, fail, page, route } from '../http.js';
import type { Sandbox, SandboxModule } from '../sandbox.js';

interface ProjectState {
  labels: Map<string, Record<string, string>>;
  /** Tags bound to a VM, by `project/zone/instance id`: tag key short name to value short name. */
  vmTags: Map<string, Record<string, string>>;
}

/** The organization the sandbox's projects and tag keys belong to. */
export const ORGANIZATION = '100000000001';

function state(sandbox: Sandbox): ProjectState {
  return sandbox.extension<ProjectState>('resource-manager', () => ({
    labels: new Map(),
    vmTags: new Map(),
  }));
}

const INSTANCE_NAME =
  /^\/\/compute\.googleapis\.com\/projects\/([^/]+)\/zones\/([^/]+)\/instances\/([^/]+)$/;

/**
 * Binds tags (key short name to value short name, keys under `ORGANIZATION`) to a VM of the
 * fleet, replacing those bound before, as a holder of tag-user rights would.
 */
export function bindVmTags(
  sandbox: Sandbox,
  ref: { project: string; zone: string; name: string },
  tags: Record<string, string>,
): void {
  const vm = sandbox.fleet.get(ref.project, ref.zone, ref.name);
  if (!vm) throw new Error(`unknown VM ${ref.project}/${ref.zone}/${ref.name}`);
  state(sandbox).vmTags.set(`${vm.project}/${vm.zone}/${vm.id}`, { ...tags });
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
          parent: `organizations/${ORGANIZATION}`,
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
    'resourcemanager.effectiveTags.list',
    'GET',
    '/v3/effectiveTags',
    (request, sandbox) => {
      const parent = request.query.get('parent') ?? '';
      const named = INSTANCE_NAME.exec(parent);
      if (!named) fail(400, `Invalid value for field 'parent': '${parent}'`, 'badRequest');
      const [, projectName, zone, id] = named;
      const project = [...sandbox.fleet.projects.values()].find(
        (p) => p.id === projectName || p.number === projectName,
      );
      const vm = sandbox.fleet
        .live(project?.id)
        .find((v) => project !== undefined && v.zone === zone && v.id === id);
      if (!project || !vm) {
        fail(
          403,
          `Permission 'compute.instances.listEffectiveTags' denied on resource '${parent}' (or it may not exist).`,
          'forbidden',
        );
      }
      const bound = Object.entries(
        state(sandbox).vmTags.get(`${vm.project}/${vm.zone}/${vm.id}`) ?? {},
      );
      const tags = bound.map(([key, value], i) => ({
        tagValue: `tagValues/${ORGANIZATION}${i}`,
        namespacedTagValue: `${ORGANIZATION}/${key}/${value}`,
        tagKey: `tagKeys/${ORGANIZATION}${i}`,
        namespacedTagKey: `${ORGANIZATION}/${key}`,
        tagKeyParentName: `organizations/${ORGANIZATION}`,
        inherited: false,
      }));
      const { items, nextPageToken } = page(tags, request.query, {
        sizeParam: 'pageSize',
        defaultSize: 100,
        maxSize: 300,
      });
      return { body: { effectiveTags: items, ...(nextPageToken ? { nextPageToken } : {}) } };
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
