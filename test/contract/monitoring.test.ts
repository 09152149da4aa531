import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UptimeReader } from '../../functions/adapters/monitoring.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-20T00:00:00Z');

// The real @google-cloud/monitoring client (REST transport) against the sandbox's uptime series.
describe('Monitoring contract', () => {
  let sandbox: Sandbox;
  let runtime: ReturnType<typeof sandboxRuntime>;

  beforeEach(async () => {
    sandbox = await startTestSandbox();
    runtime = sandboxRuntime(sandbox);
    // 00:00 start; batch-n2-1 stops at 01:30; batch-n2-2 is preempted and deleted at 02:15;
    // eu-stopped-1 starts at 00:45.
    const vm = (zone: string, name: string) => sandbox.fleet.get('ml-training-prod', zone, name)!;
    sandbox.clock.set(new Date(T0 + 45 * 60_000));
    sandbox.fleet.start(vm('europe-west4-a', 'eu-stopped-1'));
    sandbox.clock.set(new Date(T0 + 90 * 60_000));
    sandbox.fleet.stop(vm('us-central1-b', 'batch-n2-1'));
    sandbox.clock.set(new Date(T0 + 135 * 60_000));
    sandbox.fleet.preempt(vm('us-central1-b', 'batch-n2-2'));
    sandbox.clock.set(new Date(T0 + 3 * HOUR + 10 * 60_000));
  });
  afterEach(() => sandbox.close());

  it('sums uptime per instance per hour to the simulated running time, deleted VMs included', async () => {
    const reader = new UptimeReader(() => runtime.clients.metrics(), {
      logger: runtime.logger,
      pageSize: 4,
    });
    const { samples, calls } = await reader.hourly(
      'ml-training-prod',
      new Date(T0),
      new Date(T0 + 3 * HOUR),
    );
    const table = new Map<string, number[]>();
    for (const s of samples) {
      const hours = table.get(s.instanceName) ?? [0, 0, 0];
      hours[(s.hourStart.getTime() - T0) / HOUR] = s.seconds;
      table.set(s.instanceName, hours);
    }
    expect(Object.fromEntries(table)).toEqual({
      'trainer-a100-1': [3600, 3600, 3600],
      'trainer-l4-1': [3600, 3600, 3600],
      'web-e2-small': [3600, 3600, 3600],
      'batch-n2-1': [3600, 1800, 0],
      'batch-n2-2': [3600, 3600, 900],
      'mig-worker-x1': [3600, 3600, 3600],
      'legacy-preempt-1': [3600, 3600, 3600],
      'custom-ext-1': [3600, 3600, 3600],
      'eu-c3-1': [3600, 3600, 3600],
      'eu-stopped-1': [900, 3600, 3600],
    });
    // With view FULL a page holds four points, not four series: 29 points, eight calls for the
    // whole project (series continue across pages), never one per instance.
    expect(calls).toBe(8);
    expect(sandbox.calls.filter((c) => c.route === 'monitoring.timeSeries.list')).toHaveLength(8);
    const deleted = samples.find((s) => s.instanceName === 'batch-n2-2');
    expect(deleted).toMatchObject({
      zone: 'us-central1-b',
      machineType: 'n2-standard-8',
      project: 'ml-training-prod',
    });
    expect(deleted?.instanceId).toBe(sandbox.fleet.all().find((v) => v.name === 'batch-n2-2')?.id);
  });

  it('returns per-series points without metadata when not reduced, and honours the ingest delay', async () => {
    // Now is 03:10; with a 240 s ingest delay the hour ending now has only 56 minutes of points.
    sandbox.settings.monitoringIngestDelaySeconds = 240;
    const client = await runtime.clients.metrics();
    const [series] = await client.listTimeSeries(
      {
        name: 'projects/data-pipelines',
        filter: 'metric.type = "compute.googleapis.com/instance/uptime"',
        interval: {
          startTime: { seconds: (T0 + 2 * HOUR + 10 * 60_000) / 1000 },
          endTime: { seconds: (T0 + 3 * HOUR + 10 * 60_000) / 1000 },
        },
        aggregation: { alignmentPeriod: { seconds: 3600 }, perSeriesAligner: 'ALIGN_SUM' },
      },
      { autoPaginate: false },
    );
    expect(
      series.map((s) => [
        s.metric?.labels?.instance_name,
        s.points?.[0]?.value?.doubleValue,
        s.metadata ?? null,
      ]),
    ).toEqual([
      ['etl-c2-1', 3360, null],
      ['etl-e2-micro', 3360, null],
    ]);
  });

  it('rejects aligners it cannot honour instead of answering wrongly', async () => {
    const client = await runtime.clients.metrics();
    await expect(
      client.listTimeSeries(
        {
          name: 'projects/data-pipelines',
          filter: 'metric.type = "compute.googleapis.com/instance/uptime"',
          interval: { startTime: { seconds: T0 / 1000 }, endTime: { seconds: (T0 + HOUR) / 1000 } },
          aggregation: { alignmentPeriod: { seconds: 3600 }, perSeriesAligner: 'ALIGN_MEAN' },
        },
        { autoPaginate: false },
      ),
    ).rejects.toMatchObject({ message: expect.stringContaining('ALIGN_SUM') });
  });

  it('sums each hour exactly to the minute from 60 s samples split across pages, late ones included', async () => {
    // Prepare: a VM that starts and stops off the minute, read with one point a page while the
    // last minutes of the hour are still inside Monitoring's ingest delay.
    const vm = sandbox.fleet.get('ml-training-prod', 'europe-west4-a', 'eu-stopped-1')!;
    sandbox.fleet.stop(vm);
    sandbox.clock.set(new Date(T0 + 4 * HOUR + 7 * 60_000));
    sandbox.fleet.start(vm);
    sandbox.clock.set(new Date(T0 + 5 * HOUR + 41 * 60_000));
    sandbox.fleet.stop(vm);
    sandbox.settings.monitoringIngestDelaySeconds = 240;
    sandbox.clock.set(new Date(T0 + 6 * HOUR + 2 * 60_000));
    const reader = new UptimeReader(() => runtime.clients.metrics(), {
      logger: runtime.logger,
      pageSize: 1,
    });
    const read = async () => {
      const { samples } = await reader.hourly(
        'ml-training-prod',
        new Date(T0 + 4 * HOUR),
        new Date(T0 + 6 * HOUR),
      );
      return samples
        .filter((s) => s.instanceName === 'eu-stopped-1')
        .map((s) => [new Date(s.hourStart).toISOString().slice(11, 16), s.seconds])
        .sort();
    };

    // Act / Assess: 04:07 to 05:41 is 53 + 41 minutes; every minute counted once.
    expect(await read()).toEqual([
      ['04:00', 53 * 60],
      ['05:00', 41 * 60],
    ]);
    // A VM running through 05:00-06:00, read at 06:02: 240 s of ingest delay hide the last two
    // minutes of the hour (the recorder waits ten minutes for this); at 06:10 the hour is whole.
    const trainer = async () => {
      const { samples } = await reader.hourly(
        'ml-training-prod',
        new Date(T0 + 5 * HOUR),
        new Date(T0 + 6 * HOUR),
      );
      return samples.find((s) => s.instanceName === 'trainer-a100-1')?.seconds;
    };
    expect(await trainer()).toBe(58 * 60);
    sandbox.clock.set(new Date(T0 + 6 * HOUR + 10 * 60_000));
    expect(await trainer()).toBe(3600);
  });
});
