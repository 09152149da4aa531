/**
 * Hourly VM uptime from Cloud Monitoring: `compute.googleapis.com/instance/uptime` (DELTA,
 * seconds), ALIGN_SUM over 3600 s windows, reduced with REDUCE_SUM per instance so that the
 * machine type comes back as metadata (Monitoring returns metadata only for grouped fields).
 * One paged call per project and window, never one per instance.
 */

import type { MetricServiceClient } from '@google-cloud/monitoring';
import type { Logger } from '../core/logger.js';
import { timestampMillis } from './timestamp.js';
import { loggedRetries, withRetry, type RetryOptions } from '../core/retry.js';

export interface UptimeSample {
  project: string;
  zone: string;
  instanceId: string;
  instanceName: string;
  /** From `metadata.system_labels.machine_type`; may be absent. */
  machineType: string | undefined;
  hourStart: Date;
  /** Running seconds in the hour, clamped to [0, 3600]. */
  seconds: number;
}

const UPTIME_FILTER =
  'metric.type = "compute.googleapis.com/instance/uptime" AND resource.type = "gce_instance"';
const GROUP_BY = [
  'resource.labels.project_id',
  'resource.labels.zone',
  'resource.labels.instance_id',
  'metric.labels.instance_name',
  'metadata.system_labels."machine_type"',
];

/** Monitoring's largest page: with `view: FULL` a page holds up to 100,000 points. */
const MAX_POINTS_PER_PAGE = 100_000;

type StructValue = { stringValue?: string | null } | string | null | undefined;

function structString(value: StructValue): string | undefined {
  if (typeof value === 'string') return value;
  return value?.stringValue ?? undefined;
}

export class UptimeReader {
  constructor(
    private readonly client: () => Promise<Pick<MetricServiceClient, 'listTimeSeries'>>,
    private readonly options: { logger: Logger; retry?: RetryOptions; pageSize?: number },
  ) {}

  /**
   * Uptime per instance per closed hour in [start, end); both must be whole hours. Pages are
   * followed explicitly so that a transient failure retries one page, not the whole window.
   */
  async hourly(
    project: string,
    start: Date,
    end: Date,
  ): Promise<{ samples: UptimeSample[]; calls: number }> {
    const client = await this.client();
    const samples: UptimeSample[] = [];
    // Every series has a point per hour: the samples of one hour share its Date.
    const hours = new Map<number, Date>();
    const hourOf = (ms: number): Date => {
      let hour = hours.get(ms);
      if (!hour) {
        hour = new Date(ms);
        hours.set(ms, hour);
      }
      return hour;
    };
    let pageToken: string | undefined;
    let calls = 0;
    do {
      const token = pageToken;
      const [series, , response] = await withRetry(
        () =>
          client.listTimeSeries(
            {
              name: `projects/${project}`,
              filter: UPTIME_FILTER,
              interval: {
                startTime: { seconds: Math.floor(start.getTime() / 1000) },
                endTime: { seconds: Math.floor(end.getTime() / 1000) },
              },
              aggregation: {
                alignmentPeriod: { seconds: 3600 },
                perSeriesAligner: 'ALIGN_SUM',
                crossSeriesReducer: 'REDUCE_SUM',
                groupByFields: GROUP_BY,
              },
              view: 'FULL',
              pageSize: this.options.pageSize ?? MAX_POINTS_PER_PAGE,
              ...(token ? { pageToken: token } : {}),
            },
            { autoPaginate: false },
          ),
        loggedRetries(this.options.logger, 'listTimeSeries', this.options.retry, { project }),
      );
      calls++;
      for (const s of series) {
        const labels = s.resource?.labels ?? {};
        const fields = (s.metadata?.systemLabels?.fields ?? {}) as Record<string, StructValue>;
        const plain = s.metadata?.systemLabels as unknown as
          Record<string, StructValue> | undefined;
        const machineType = structString(fields.machine_type) ?? structString(plain?.machine_type);
        for (const point of s.points ?? []) {
          const startMs = timestampMillis(point.interval?.startTime);
          const value = Number(point.value?.doubleValue ?? point.value?.int64Value ?? 0);
          samples.push({
            project: labels.project_id ?? project,
            zone: labels.zone ?? '',
            instanceId: labels.instance_id ?? '',
            instanceName: s.metric?.labels?.instance_name ?? '',
            machineType: machineType === '' ? undefined : machineType,
            hourStart: hourOf(startMs),
            seconds: Math.min(3600, Math.max(0, value)),
          });
        }
      }
      pageToken = response?.nextPageToken || undefined;
    } while (pageToken);
    return { samples, calls };
  }
}
