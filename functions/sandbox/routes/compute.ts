/**
 * Compute Engine v1, the REST subset costguard uses: instances (aggregatedList, list, get,
 * getSerialPortOutput, start, stop, setLabels, setMetadata, setScheduling), zone operations (get,
 * wait, list), the aggregated list of a project's operations, and machine types (get, list,
 * aggregatedList).
 */

import { readFileSync } from 'node:fs';
import { isValidLabelKey, isValidLabelValue, MAX_LABELS } from '../../core/labels.js';
import { repositoryPath } from '../../core/repository-path.js';
import { compileFilter } from '../compute-filter.js';
import { newFingerprint, type SimOperation, type SimVm } from '../fleet.js';
import { asRecord, fail, notFound, page, route, type SandboxRequest, textOf } from '../http.js';
import type { Sandbox, SandboxModule } from '../sandbox.js';
import { readSerial, resetSerial, serialEnd } from '../serial-console.js';

const BASE = 'https://www.googleapis.com/compute/v1';
const INSTANCE_FILTER_FIELDS =
  /^(name|status|zone|machineType|id|labels\.[a-z][a-z0-9_-]*|scheduling\.(provisioningModel|preemptible|instanceTerminationAction))$/;
const WAIT_LIMIT_MS = 120_000;
const OPERATION_FILTER_FIELDS = /^(operationType|targetId|targetLink|status|name)$/;

interface MachineTypeSpec {
  name: string;
  guestCpus: number;
  memoryMb: number;
  isSharedCpu: boolean;
  accelerators?: Array<{ guestAcceleratorType: string; guestAcceleratorCount: number }>;
  bundledLocalSsds?: { defaultInterface: string; partitionCount: number };
  architecture?: string;
}

let catalog: Map<string, MachineTypeSpec> | undefined;

function machineTypeCatalog(): Map<string, MachineTypeSpec> {
  catalog ??= new Map(
    (
      JSON.parse(readFileSync(repositoryPath('fixtures/compute/machine-types.json'), 'utf8')) as {
        machineTypes: MachineTypeSpec[];
      }
    ).machineTypes.map((m) => [m.name, m]),
  );
  return catalog;
}

/** Predefined types from the catalog; custom types (`[family-]custom-CPUS-MEMORY[-ext]`) by name. */
export function machineTypeSpec(name: string): MachineTypeSpec | undefined {
  const known = machineTypeCatalog().get(name);
  if (known) return known;
  const custom = /^(?:([a-z0-9]+)-)?custom-(\d+)-(\d+)(-ext)?$/.exec(name);
  if (!custom) return undefined;
  return { name, guestCpus: Number(custom[2]), memoryMb: Number(custom[3]), isSharedCpu: false };
}

/** Zones of the regions Compute serves the sandbox's fleets from; others get a, b and c. */
const REGION_ZONES: Record<string, readonly string[]> = {
  'us-central1': ['a', 'b', 'c', 'f'],
  'us-east1': ['b', 'c', 'd'],
  'us-east4': ['a', 'b', 'c'],
  'us-west1': ['a', 'b', 'c'],
  'europe-west1': ['b', 'c', 'd'],
  'europe-west4': ['a', 'b', 'c'],
  'asia-southeast1': ['a', 'b', 'c'],
};

/** Every zone of the regions the given zones are in, sorted (the scopes of an aggregatedList). */
export function zonesOfRegions(zones: readonly string[]): string[] {
  const out = new Set<string>(zones);
  for (const zone of zones) {
    const region = zone.replace(/-[a-z]$/, '');
    for (const suffix of REGION_ZONES[region] ?? ['a', 'b', 'c']) out.add(`${region}-${suffix}`);
  }
  return [...out].sort();
}

function zoneUrl(project: string, zone: string): string {
  return `${BASE}/projects/${project}/zones/${zone}`;
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString().replace('Z', '-00:00');
}

export function renderInstance(vm: SimVm): Record<string, unknown> {
  const zone = zoneUrl(vm.project, vm.zone);
  const scheduling: Record<string, unknown> = {
    onHostMaintenance:
      vm.provisioningModel === 'STANDARD' && vm.gpus.length === 0 ? 'MIGRATE' : 'TERMINATE',
    automaticRestart: vm.provisioningModel === 'STANDARD',
    preemptible: vm.provisioningModel === 'SPOT' || vm.provisioningModel === 'PREEMPTIBLE',
  };
  // A legacy preemptible VM carries only `preemptible: true`; every other model names itself.
  if (vm.provisioningModel !== 'PREEMPTIBLE') scheduling.provisioningModel = vm.provisioningModel;
  if (vm.terminationAction) scheduling.instanceTerminationAction = vm.terminationAction;
  if (vm.maxRunDurationSeconds !== undefined) {
    scheduling.maxRunDuration = { seconds: String(vm.maxRunDurationSeconds) };
  }
  return {
    kind: 'compute#instance',
    id: vm.id,
    creationTimestamp: iso(vm.createdAt),
    name: vm.name,
    machineType: `${zone}/machineTypes/${vm.machineType}`,
    status: vm.status,
    zone,
    scheduling,
    labels: { ...vm.labels },
    labelFingerprint: vm.labelFingerprint,
    metadata: {
      kind: 'compute#metadata',
      fingerprint: vm.metadataFingerprint,
      items: vm.metadata.map((i) => ({ ...i })),
    },
    guestAccelerators: vm.gpus.map((g) => ({
      acceleratorType: `${zone}/acceleratorTypes/${g.type}`,
      acceleratorCount: g.count,
    })),
    ...(vm.lastStartAt !== undefined ? { lastStartTimestamp: iso(vm.lastStartAt) } : {}),
    ...(vm.lastStopAt !== undefined ? { lastStopTimestamp: iso(vm.lastStopAt) } : {}),
    selfLink: `${zone}/instances/${vm.name}`,
  };
}

/**
 * A zone operation as Compute renders it: PENDING in the reply to the call that started it,
 * RUNNING until it ends, then DONE (with `error.errors[]` when it failed). A stuck operation
 * never ends.
 */
export function renderOperation(
  op: SimOperation,
  now: number,
  options: { justStarted?: boolean } = {},
): Record<string, unknown> {
  const done = !options.justStarted && now >= op.doneAt;
  const status = options.justStarted ? 'PENDING' : done ? 'DONE' : 'RUNNING';
  const zone = zoneUrl(op.project, op.zone);
  return {
    kind: 'compute#operation',
    id: op.id,
    name: op.name,
    zone,
    operationType: op.operationType,
    targetLink: `${zone}/instances/${op.targetName}`,
    targetId: op.targetId,
    status,
    user: op.operationType === 'compute.instances.preempted' ? 'system' : 'costguard@sandbox',
    progress: done ? 100 : 0,
    insertTime: iso(op.insertTime),
    ...(status === 'PENDING' ? {} : { startTime: iso(op.insertTime) }),
    ...(done ? { endTime: iso(op.doneAt) } : {}),
    ...(op.operationType === 'compute.instances.preempted'
      ? { statusMessage: 'Instance was preempted.' }
      : {}),
    ...(done && op.error
      ? {
          error: { errors: [op.error] },
          httpErrorStatusCode: op.httpErrorStatusCode ?? 400,
          httpErrorMessage: op.httpErrorStatusCode === 503 ? 'SERVICE UNAVAILABLE' : 'BAD REQUEST',
        }
      : {}),
    selfLink: `${zone}/operations/${op.name}`,
  };
}

function project(sandbox: Sandbox, id: string): { id: string; number: string; zones: string[] } {
  const p = sandbox.fleet.projects.get(id);
  if (!p) fail(404, `The resource 'projects/${id}' was not found`, 'notFound');
  return p;
}

function instance(sandbox: Sandbox, params: Record<string, string>): SimVm {
  const {
    project: p,
    zone,
    instance: name,
  } = params as { project: string; zone: string; instance: string };
  project(sandbox, p);
  const vm = sandbox.fleet.get(p, zone, name);
  if (!vm) notFound(`projects/${p}/zones/${zone}/instances/${name}`);
  return vm;
}

function filtered(
  request: SandboxRequest,
  fields: RegExp,
): (r: Record<string, unknown>) => boolean {
  try {
    return compileFilter(request.query.get('filter'), fields);
  } catch (error) {
    fail(
      400,
      `Invalid value for field 'filter': '${request.query.get('filter')}'. ${(error as Error).message}`,
    );
  }
}

/**
 * Runs a mutation once per requestId, as Compute does; the operation is returned either way.
 * The change itself (`apply`) happens when the operation starts; an operation fault can make
 * it take longer, never finish, or fail (then nothing changes).
 */
function mutate(
  sandbox: Sandbox,
  request: SandboxRequest,
  vm: SimVm,
  operationType: string,
  apply: (op: SimOperation) => void,
): { body: unknown } {
  const requestId = request.query.get('requestId') ?? undefined;
  if (requestId) {
    const earlier = sandbox.fleet.operationByRequestId(vm.project, vm.zone, requestId);
    if (earlier) return { body: renderOperation(earlier, sandbox.clock.nowMs()) };
  }
  const fault = sandbox.faults.takeOperation(`compute.instances.${operationType}`);
  const seconds = fault?.seconds ?? sandbox.settings.operationSeconds;
  const op = sandbox.fleet.recordOperation(
    vm,
    operationType,
    requestId,
    fault?.stuck ? Number.POSITIVE_INFINITY : seconds * 1000,
  );
  if (fault?.error) op.error = { ...fault.error };
  else apply(op);
  return { body: renderOperation(op, sandbox.clock.nowMs(), { justStarted: true }) };
}

function conditionNotMet(what: string): never {
  fail(
    412,
    `${what} fingerprint either invalid or resource ${what.toLowerCase()} have changed`,
    'conditionNotMet',
  );
}

const routes = [
  route<Sandbox>(
    'compute.instances.aggregatedList',
    'GET',
    '/compute/v1/projects/{project}/aggregated/instances',
    (request, sandbox) => {
      const p = project(sandbox, request.params.project as string);
      const keep = filtered(request, INSTANCE_FILTER_FIELDS);
      const unreachable = sandbox.faults.unreachableZones('compute.instances.aggregatedList');
      const partial = request.query.get('returnPartialSuccess') === 'true';
      const rendered = sandbox.fleet
        .live(p.id)
        .filter((vm) => !unreachable.has(vm.zone))
        .map(renderInstance)
        .filter(keep);
      const { items, nextPageToken } = page(rendered, request.query);
      // Every zone of every region the project uses is a scope of the answer, as Compute lists
      // all of them; a zone without results on this page says so in a warning.
      const byZone: Record<string, unknown> = {};
      for (const zone of zonesOfRegions(p.zones)) {
        const scope = `zones/${zone}`;
        const data = [{ key: 'scope', value: scope }];
        if (unreachable.has(zone)) {
          byZone[scope] = {
            warning: {
              code: 'UNREACHABLE',
              message: `The resource 'projects/${p.id}/zones/${zone}' is unreachable.`,
              data,
            },
          };
          continue;
        }
        const inZone = items.filter((i) => i.zone === zoneUrl(p.id, zone));
        byZone[scope] =
          inZone.length > 0
            ? { instances: inZone }
            : {
                warning: {
                  code: 'NO_RESULTS_ON_PAGE',
                  message: `There are no results for scope '${scope}' on this page.`,
                  data,
                },
              };
      }
      const unreachables = [...unreachable]
        .filter((zone) => p.zones.includes(zone) || zonesOfRegions(p.zones).includes(zone))
        .sort()
        .map((zone) => `zones/${zone}`);
      return {
        body: {
          kind: 'compute#instanceAggregatedList',
          id: `projects/${p.id}/aggregated/instances`,
          items: byZone,
          ...(nextPageToken ? { nextPageToken } : {}),
          selfLink: `${BASE}/projects/${p.id}/aggregated/instances`,
          // With returnPartialSuccess the unreachable scopes are also listed here.
          ...(partial && unreachables.length > 0 ? { unreachables } : {}),
        },
      };
    },
  ),
  route<Sandbox>(
    'compute.instances.list',
    'GET',
    '/compute/v1/projects/{project}/zones/{zone}/instances',
    (request, sandbox) => {
      const p = project(sandbox, request.params.project as string);
      const keep = filtered(request, INSTANCE_FILTER_FIELDS);
      const rendered = sandbox.fleet
        .live(p.id)
        .filter((vm) => vm.zone === request.params.zone)
        .map(renderInstance)
        .filter(keep);
      const { items, nextPageToken } = page(rendered, request.query);
      return {
        body: {
          kind: 'compute#instanceList',
          items,
          ...(nextPageToken ? { nextPageToken } : {}),
          selfLink: `${zoneUrl(p.id, request.params.zone as string)}/instances`,
        },
      };
    },
  ),
  route<Sandbox>(
    'compute.instances.get',
    'GET',
    '/compute/v1/projects/{project}/zones/{zone}/instances/{instance}',
    (request, sandbox) => ({
      body: renderInstance(instance(sandbox, request.params)),
    }),
  ),
  route<Sandbox>(
    'compute.instances.getSerialPortOutput',
    'GET',
    '/compute/v1/projects/{project}/zones/{zone}/instances/{instance}/serialPort',
    (request, sandbox) => {
      const vm = instance(sandbox, request.params);
      const port = Number(request.query.get('port') ?? '1');
      const start = Number(request.query.get('start') ?? '0');
      if (port !== 1) fail(400, 'The sandbox serves serial port 1 only', 'invalid');
      if (!Number.isSafeInteger(start)) fail(400, `Invalid value for field 'start'`, 'invalid');
      // A negative start counts back from the end, as Compute allows.
      const from = start < 0 ? Math.max(0, serialEnd(sandbox, vm) + start) : start;
      const output = readSerial(sandbox, vm, from);
      return {
        body: {
          kind: 'compute#serialPortOutput',
          contents: output.contents,
          start: String(output.start),
          next: String(output.next),
          selfLink: `${zoneUrl(vm.project, vm.zone)}/instances/${vm.name}/serialPort`,
        },
      };
    },
  ),
  route<Sandbox>(
    'compute.instances.start',
    'POST',
    '/compute/v1/projects/{project}/zones/{zone}/instances/{instance}/start',
    (request, sandbox) => {
      const vm = instance(sandbox, request.params);
      return mutate(sandbox, request, vm, 'start', () => {
        if (vm.status === 'RUNNING') return;
        if (!['TERMINATED', 'STOPPED', 'SUSPENDED'].includes(vm.status)) {
          fail(
            400,
            `The resource 'projects/${vm.project}/zones/${vm.zone}/instances/${vm.name}' is not ready`,
            'resourceNotReady',
          );
        }
        sandbox.fleet.start(vm);
      });
    },
  ),
  route<Sandbox>(
    'compute.instances.stop',
    'POST',
    '/compute/v1/projects/{project}/zones/{zone}/instances/{instance}/stop',
    (request, sandbox) => {
      const vm = instance(sandbox, request.params);
      return mutate(sandbox, request, vm, 'stop', (op) => {
        if (vm.status === 'TERMINATED') return;
        if (op.doneAt > sandbox.clock.nowMs()) {
          sandbox.fleet.setStatus(vm, 'STOPPING');
          sandbox.clock.schedule(op.doneAt, () => sandbox.fleet.stop(vm));
        } else {
          sandbox.fleet.stop(vm);
        }
      });
    },
  ),
  route<Sandbox>(
    'compute.instances.setLabels',
    'POST',
    '/compute/v1/projects/{project}/zones/{zone}/instances/{instance}/setLabels',
    (request, sandbox) => {
      const vm = instance(sandbox, request.params);
      const body = asRecord(request.body);
      const race = sandbox.faults.takeRace('compute.instances.setLabels');
      if (race) {
        Object.assign(vm.labels, race.labels ?? {});
        vm.labelFingerprint = newFingerprint(`${vm.name}:labels`);
      }
      if (body.labelFingerprint !== vm.labelFingerprint) conditionNotMet('Labels');
      const labels = (body.labels ?? {}) as Record<string, unknown>;
      const entries = Object.entries(labels);
      if (entries.length > MAX_LABELS)
        fail(400, `Invalid value for field 'resource.labels': too many labels (max ${MAX_LABELS})`);
      for (const [k, v] of entries) {
        if (!isValidLabelKey(k) || typeof v !== 'string' || !isValidLabelValue(v)) {
          fail(400, `Invalid value for field 'resource.labels': '${k}=${textOf(v)}'`);
        }
      }
      return mutate(sandbox, request, vm, 'setLabels', () => {
        vm.labels = Object.fromEntries(entries) as Record<string, string>;
        vm.labelFingerprint = newFingerprint(`${vm.name}:labels`);
      });
    },
  ),
  route<Sandbox>(
    'compute.instances.setMetadata',
    'POST',
    '/compute/v1/projects/{project}/zones/{zone}/instances/{instance}/setMetadata',
    (request, sandbox) => {
      const vm = instance(sandbox, request.params);
      const body = asRecord(request.body);
      const race = sandbox.faults.takeRace('compute.instances.setMetadata');
      if (race) {
        for (const [key, value] of Object.entries(race.metadata ?? {})) {
          vm.metadata = [...vm.metadata.filter((i) => i.key !== key), { key, value }];
        }
        vm.metadataFingerprint = newFingerprint(`${vm.name}:metadata`);
      }
      if (body.fingerprint !== vm.metadataFingerprint) conditionNotMet('Metadata');
      const items = (body.items ?? []) as Array<{ key?: unknown; value?: unknown }>;
      const size = items.reduce((n, i) => n + textOf(i.key).length + textOf(i.value).length, 0);
      if (size > 512 * 1024) fail(400, 'Metadata total size exceeds 512 KB', 'invalid');
      return mutate(sandbox, request, vm, 'setMetadata', () => {
        vm.metadata = items.map((i) => ({ key: textOf(i.key), value: textOf(i.value) }));
        vm.metadataFingerprint = newFingerprint(`${vm.name}:metadata`);
      });
    },
  ),
  route<Sandbox>(
    'compute.instances.setScheduling',
    'POST',
    '/compute/v1/projects/{project}/zones/{zone}/instances/{instance}/setScheduling',
    (request, sandbox) => {
      const vm = instance(sandbox, request.params);
      const body = asRecord(request.body);
      if (vm.status !== 'TERMINATED') {
        fail(400, 'The instance must be stopped to change its scheduling', 'resourceNotReady');
      }
      return mutate(sandbox, request, vm, 'setScheduling', () => {
        const maxRun = body.maxRunDuration as { seconds?: unknown } | undefined;
        vm.maxRunDurationSeconds =
          maxRun?.seconds !== undefined ? Number(maxRun.seconds) : undefined;
        const action = body.instanceTerminationAction;
        if (action === 'STOP' || action === 'DELETE') vm.terminationAction = action;
      });
    },
  ),
  route<Sandbox>(
    'compute.zoneOperations.get',
    'GET',
    '/compute/v1/projects/{project}/zones/{zone}/operations/{operation}',
    (request, sandbox) => ({
      body: renderOperation(operation(sandbox, request.params), sandbox.clock.nowMs()),
    }),
  ),
  route<Sandbox>(
    'compute.zoneOperations.wait',
    'POST',
    '/compute/v1/projects/{project}/zones/{zone}/operations/{operation}/wait',
    (request, sandbox) => {
      // Compute's wait blocks until the operation is done or about two minutes have passed
      // (here that time passes on the simulated clock), but is best effort: it may return at
      // once, the operation still PENDING or RUNNING (the earlyWait fault).
      const op = operation(sandbox, request.params);
      const now = sandbox.clock.nowMs();
      const early = sandbox.faults.takeEarlyWait('compute.zoneOperations.wait');
      if (!early && op.doneAt > now) {
        sandbox.clock.set(new Date(Math.min(op.doneAt, now + WAIT_LIMIT_MS)));
      }
      return { body: renderOperation(op, sandbox.clock.nowMs()) };
    },
  ),
  route<Sandbox>(
    'compute.zoneOperations.list',
    'GET',
    '/compute/v1/projects/{project}/zones/{zone}/operations',
    (request, sandbox) => {
      const p = project(sandbox, request.params.project as string);
      const keep = filtered(request, OPERATION_FILTER_FIELDS);
      const now = sandbox.clock.nowMs();
      const rendered = sandbox.fleet.operations
        .filter((op) => op.project === p.id && op.zone === request.params.zone)
        .map((op) => renderOperation(op, now))
        .filter(keep);
      const { items, nextPageToken } = page(rendered, request.query);
      return {
        body: { kind: 'compute#operationList', items, ...(nextPageToken ? { nextPageToken } : {}) },
      };
    },
  ),
  route<Sandbox>(
    'compute.globalOperations.aggregatedList',
    'GET',
    '/compute/v1/projects/{project}/aggregated/operations',
    (request, sandbox) => {
      // Every scope of the project's regions, as Compute lists them; zones without operations on
      // this page say so in a warning.
      const p = project(sandbox, request.params.project as string);
      const keep = filtered(request, OPERATION_FILTER_FIELDS);
      const now = sandbox.clock.nowMs();
      const rendered = sandbox.fleet.operations
        .filter((op) => op.project === p.id)
        .map((op) => renderOperation(op, now))
        .filter(keep);
      const { items, nextPageToken } = page(rendered, request.query);
      const byZone: Record<string, unknown> = {};
      for (const zone of zonesOfRegions(p.zones)) {
        const scope = `zones/${zone}`;
        const inZone = items.filter((i) => i.zone === zoneUrl(p.id, zone));
        byZone[scope] =
          inZone.length > 0
            ? { operations: inZone }
            : {
                warning: {
                  code: 'NO_RESULTS_ON_PAGE',
                  message: `There are no results for scope '${scope}' on this page.`,
                  data: [{ key: 'scope', value: scope }],
                },
              };
      }
      return {
        body: {
          kind: 'compute#operationAggregatedList',
          id: `projects/${p.id}/aggregated/operations`,
          items: byZone,
          ...(nextPageToken ? { nextPageToken } : {}),
          selfLink: `${BASE}/projects/${p.id}/aggregated/operations`,
        },
      };
    },
  ),
  route<Sandbox>(
    'compute.machineTypes.get',
    'GET',
    '/compute/v1/projects/{project}/zones/{zone}/machineTypes/{machineType}',
    (request, sandbox) => {
      const { project: p, zone, machineType } = request.params as Record<string, string>;
      project(sandbox, p as string);
      const spec = machineTypeSpec(machineType as string);
      if (!spec) notFound(`projects/${p}/zones/${zone}/machineTypes/${machineType}`);
      return { body: renderMachineType(p as string, zone as string, spec) };
    },
  ),
  route<Sandbox>(
    'compute.machineTypes.list',
    'GET',
    '/compute/v1/projects/{project}/zones/{zone}/machineTypes',
    (request, sandbox) => {
      const { project: p, zone } = request.params as Record<string, string>;
      project(sandbox, p as string);
      const all = [...machineTypeCatalog().values()].map((m) =>
        renderMachineType(p as string, zone as string, m),
      );
      const { items, nextPageToken } = page(all, request.query);
      return {
        body: {
          kind: 'compute#machineTypeList',
          items,
          ...(nextPageToken ? { nextPageToken } : {}),
        },
      };
    },
  ),
  route<Sandbox>(
    'compute.machineTypes.aggregatedList',
    'GET',
    '/compute/v1/projects/{project}/aggregated/machineTypes',
    (request, sandbox) => {
      const p = project(sandbox, request.params.project as string);
      const keep = filtered(request, /^(name|guestCpus|isSharedCpu|zone)$/);
      const rendered = [...p.zones]
        .sort()
        .flatMap((zone) =>
          [...machineTypeCatalog().values()].map((m) => renderMachineType(p.id, zone, m)),
        )
        .filter(keep);
      const { items, nextPageToken } = page(rendered, request.query);
      const byZone: Record<string, unknown> = {};
      for (const zone of [...p.zones].sort()) {
        const inZone = items.filter((i) => i.zone === zone);
        if (inZone.length > 0) byZone[`zones/${zone}`] = { machineTypes: inZone };
      }
      return {
        body: {
          kind: 'compute#machineTypeAggregatedList',
          items: byZone,
          ...(nextPageToken ? { nextPageToken } : {}),
        },
      };
    },
  ),
];

function operation(sandbox: Sandbox, params: Record<string, string>): SimOperation {
  const op = sandbox.fleet.operations.find(
    (o) => o.project === params.project && o.zone === params.zone && o.name === params.operation,
  );
  if (!op)
    notFound(`projects/${params.project}/zones/${params.zone}/operations/${params.operation}`);
  return op;
}

function renderMachineType(p: string, zone: string, m: MachineTypeSpec): Record<string, unknown> {
  return {
    kind: 'compute#machineType',
    name: m.name,
    description: `${m.guestCpus} vCPUs, ${Math.round((m.memoryMb / 1024) * 100) / 100} GB RAM`,
    guestCpus: m.guestCpus,
    memoryMb: m.memoryMb,
    isSharedCpu: m.isSharedCpu,
    ...(m.accelerators ? { accelerators: m.accelerators } : {}),
    ...(m.bundledLocalSsds ? { bundledLocalSsds: m.bundledLocalSsds } : {}),
    ...(m.architecture ? { architecture: m.architecture } : {}),
    maximumPersistentDisks: 128,
    zone,
    selfLink: `${zoneUrl(p, zone)}/machineTypes/${m.name}`,
  };
}

export const computeModule: SandboxModule = {
  name: 'compute',
  routes,
  start(sandbox) {
    sandbox.fleet.onEvent((event) => {
      if (event.type === 'started') resetSerial(sandbox, event.vm);
    });
  },
};
