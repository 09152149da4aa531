/**
 * Cloud Monitoring v3 `projects.timeSeries.list` for `compute.googleapis.com/instance/uptime`
 * (DELTA, DOUBLE, seconds), derived from each VM's status history: a VM accrues uptime only
 * while RUNNING. As Compute samples it: one point a minute, each ending at its minute, visible
 * only once the ingest delay has passed (`monitoringIngestDelaySeconds`, up to 240 s in
 * production). Supports ALIGN_SUM with an alignment period, and REDUCE_SUM with groupByFields
 * (the way to get `metadata.system_labels."machine_type"` back). With `view: FULL`, `pageSize`
 * counts points, not series, so one series can continue on the next page. Deleted VMs keep
 * their series.
 */

import { fail, page, route } from '../http.js';
import type { SimVm } from '../fleet.js';
import type { Sandbox, SandboxModule } from '../sandbox.js';

const SAMPLE_MS = 60_000;
const UPTIME = 'compute.googleapis.com/instance/uptime';
const ALIGNERS: Record<string, string> = { '0': 'ALIGN_NONE', '14': 'ALIGN_SUM' };
const REDUCERS: Record<string, string> = { '0': 'REDUCE_NONE', '4': 'REDUCE_SUM' };

function enumName(value: string | null, names: Record<string, string>, fallback: string): string {
  if (value === null || value === '') return fallback;
  return names[value] ?? value;
}

function seconds(duration: string | null): number | undefined {
  if (!duration) return undefined;
  const match = /^(\d+(?:\.\d+)?)s$/.exec(duration);
  if (!match) fail(400, `Invalid duration: ${duration}`);
  return Number(match[1]);
}

function time(value: string | null, name: string): number {
  const ms = value ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) fail(400, `Field ${name} is required and must be a timestamp`);
  return ms;
}

interface Condition {
  field: string;
  value: string;
  negate: boolean;
}

/** `metric.type = "..."` plus optional `resource.labels.*`/`metric.labels.*` equalities, ANDed. */
function parseFilter(filter: string | null): Condition[] {
  if (!filter) fail(400, 'Field filter is required');
  const conditions: Condition[] = [];
  const parts = filter.split(/\s+AND\s+/i);
  for (const part of parts) {
    const match =
      /^\s*([a-z_.]+(?:\."[a-z_]+")?|metadata\.(?:system|user)_labels\."[^"]+")\s*(!?=)\s*"([^"]*)"\s*$/.exec(
        part,
      );
    if (!match) fail(400, `Could not parse filter: ${part.trim()}`);
    conditions.push({
      field: match[1] as string,
      value: match[3] as string,
      negate: match[2] === '!=',
    });
  }
  if (!conditions.some((c) => c.field === 'metric.type'))
    fail(400, 'The filter must name metric.type');
  return conditions;
}

interface SeriesIdentity {
  metric: Record<string, string>;
  resource: Record<string, string>;
  system: Record<string, string>;
  user: Record<string, string>;
}

function identity(vm: SimVm): SeriesIdentity {
  return {
    metric: { instance_name: vm.name },
    resource: { project_id: vm.project, instance_id: vm.id, zone: vm.zone },
    system: { machine_type: vm.machineType, instance_group: '' },
    user: { ...vm.labels },
  };
}

/** Where a label field (`resource.labels.zone`, `metadata.user_labels."team"`) sits in a series. */
function fieldSlot(field: string): { group: keyof SeriesIdentity; key: string } | undefined {
  const label = /^(metric|resource)\.labels?\.([a-z_]+)$/.exec(field);
  if (label) return { group: label[1] as 'metric' | 'resource', key: label[2] as string };
  const meta = /^metadata\.(system|user)_labels\."?([^"]+)"?$/.exec(field);
  if (meta) return { group: meta[1] as 'system' | 'user', key: meta[2] as string };
  return undefined;
}

function fieldValue(id: SeriesIdentity, field: string): string | undefined {
  if (field === 'metric.type') return UPTIME;
  if (field === 'resource.type') return 'gce_instance';
  const slot = fieldSlot(field);
  return slot ? id[slot.group][slot.key] : undefined;
}

const routes = [
  route<Sandbox>(
    'monitoring.timeSeries.list',
    'GET',
    '/v3/projects/{project}/timeSeries',
    (request, sandbox) => {
      const q = request.query;
      const project = request.params.project as string;
      if (!sandbox.fleet.projects.has(project))
        fail(
          403,
          `Permission monitoring.timeSeries.list denied (or the resource may not exist) on projects/${project}`,
        );
      const conditions = parseFilter(q.get('filter'));
      const start = time(q.get('interval.startTime'), 'interval.startTime');
      const end = time(q.get('interval.endTime'), 'interval.endTime');
      if (end <= start) fail(400, 'interval.endTime must be after interval.startTime');
      const aligner = enumName(q.get('aggregation.perSeriesAligner'), ALIGNERS, 'ALIGN_NONE');
      const reducer = enumName(q.get('aggregation.crossSeriesReducer'), REDUCERS, 'REDUCE_NONE');
      const period = seconds(q.get('aggregation.alignmentPeriod'));
      const groupBy = q.getAll('aggregation.groupByFields');
      if (aligner !== 'ALIGN_SUM')
        fail(400, `The sandbox supports perSeriesAligner ALIGN_SUM only (got ${aligner})`);
      if (reducer !== 'REDUCE_NONE' && reducer !== 'REDUCE_SUM')
        fail(400, `Unsupported crossSeriesReducer ${reducer}`);
      if (!period || period < 60) fail(400, 'aggregation.alignmentPeriod must be at least 60s');

      const metricType = conditions.find((c) => c.field === 'metric.type')?.value;
      if (metricType !== UPTIME) return { body: { timeSeries: [], unit: '' } };

      // Windows end at interval.endTime and step back by the period, as Monitoring aligns them.
      const windows: Array<[number, number]> = [];
      for (let windowEnd = end; windowEnd - period * 1000 >= start; windowEnd -= period * 1000) {
        windows.push([windowEnd - period * 1000, windowEnd]);
      }
      // A minute's sample exists once its minute has ended and the ingest delay has passed.
      const visibleUntil =
        Math.floor(
          (sandbox.clock.nowMs() - sandbox.settings.monitoringIngestDelaySeconds * 1000) /
            SAMPLE_MS,
        ) * SAMPLE_MS;

      const groups = new Map<string, { id: SeriesIdentity; sums: number[] }>();
      for (const vm of sandbox.fleet.all()) {
        if (vm.project !== project) continue;
        const id = identity(vm);
        const matches = conditions.every((c) => {
          const value = fieldValue(id, c.field);
          return c.negate ? value !== c.value : value === c.value;
        });
        if (!matches) continue;
        const sums = windows.map(([a, b]) =>
          sandbox.fleet.uptimeSeconds(vm, a, Math.min(b, visibleUntil)),
        );
        if (sums.every((s) => s === 0)) continue;
        let key = `${vm.project}/${vm.zone}/${vm.id}`;
        let groupId = id;
        if (reducer === 'REDUCE_SUM') {
          const values = groupBy.map((f) => fieldValue(id, f) ?? '');
          key = values.join('\u0000');
          groupId = { metric: {}, resource: {}, system: {}, user: {} };
          groupBy.forEach((f, i) => {
            const slot = fieldSlot(f);
            if (slot) groupId[slot.group][slot.key] = values[i] as string;
          });
        }
        const group = groups.get(key);
        if (group) group.sums = group.sums.map((s, i) => s + (sums[i] ?? 0));
        else groups.set(key, { id: groupId, sums });
      }

      const series = [...groups.values()].map(({ id, sums }) => {
        const hasMetadata = Object.keys(id.system).length + Object.keys(id.user).length > 0;
        return {
          metric: { type: UPTIME, labels: id.metric },
          resource: { type: 'gce_instance', labels: id.resource },
          ...(hasMetadata && reducer !== 'REDUCE_NONE'
            ? { metadata: { systemLabels: id.system, userLabels: id.user } }
            : {}),
          metricKind: 'DELTA',
          valueType: 'DOUBLE',
          points: windows
            .map(([a, b], i) => ({ a, b, v: sums[i] ?? 0 }))
            .filter((p) => p.v > 0)
            .map((p) => ({
              interval: {
                startTime: new Date(p.a).toISOString(),
                endTime: new Date(p.b).toISOString(),
              },
              value: { doubleValue: p.v },
            })),
          unit: 's',
        };
      });
      const headersOnly = q.get('view') === 'HEADERS' || q.get('view') === '1';
      const { items, nextPageToken } = pageByPoints(series, q, headersOnly);
      return {
        body: { timeSeries: items, ...(nextPageToken ? { nextPageToken } : {}), unit: 's' },
      };
    },
  ),
];

type Series = { points: unknown[] } & Record<string, unknown>;

/**
 * Pages as Monitoring does with `view: FULL`: `pageSize` (default and most 100,000) is the
 * number of points on a page, and a series whose points do not all fit continues on the next.
 * The page token is the offset in points.
 */
function pageByPoints(
  series: readonly Series[],
  q: URLSearchParams,
  headersOnly: boolean,
): { items: Series[]; nextPageToken: string | undefined } {
  if (headersOnly) {
    const { items, nextPageToken } = page(
      series.map(({ points: _points, ...header }) => ({ ...header, points: [] })),
      q,
      { sizeParam: 'pageSize', defaultSize: 100000, maxSize: 100000 },
    );
    return { items, nextPageToken };
  }
  const raw = q.get('pageSize');
  let size = raw === null || raw === '' ? 100000 : Number(raw);
  if (!Number.isInteger(size) || size < 0) fail(400, "Invalid value for field 'pageSize'");
  if (size === 0 || size > 100000) size = 100000;
  const token = q.get('pageToken');
  const offset = token
    ? Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^p:/, ''))
    : 0;
  if (!Number.isInteger(offset) || offset < 0) fail(400, 'Invalid page token');
  const items: Series[] = [];
  let seen = 0;
  let taken = 0;
  let total = 0;
  for (const s of series) total += s.points.length;
  for (const s of series) {
    const start = Math.max(0, offset - seen);
    seen += s.points.length;
    if (start >= s.points.length || taken >= size) continue;
    const points = s.points.slice(start, start + (size - taken));
    taken += points.length;
    items.push({ ...s, points });
  }
  const end = offset + taken;
  return {
    items,
    nextPageToken: end < total ? Buffer.from(`p:${end}`).toString('base64url') : undefined,
  };
}

export const monitoringModule: SandboxModule = { name: 'monitoring', routes };
