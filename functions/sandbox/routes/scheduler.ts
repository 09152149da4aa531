/**
 * Cloud Scheduler as far as costguard uses it with a Pub/Sub target: a job publishes its message
 * to a topic on a fixed period of the simulated clock (on the period's boundaries, as a cron
 * `*\/N` schedule fires), and the topic's push subscription posts it to the function, as deploy's
 * `costguard-resume-runs` job does for recordPreemption. The push goes to every sink endpoint of
 * that topic (`logging.ts`); `settleDeliveries` waits for it. A tick whose previous push is still
 * unanswered is skipped, so a long jump of the clock delivers one tick, not a burst.
 */
import { asRecord, fail, route } from '../http.js';
import type { Sandbox, SandboxModule } from '../sandbox.js';
import { loggingState, pushBody, pushTo } from './logging.js';

export interface TopicJob {
  readonly name: string;
  readonly project: string;
  readonly topic: string;
  readonly everySeconds: number;
  /** The message body (text) the job publishes. */
  readonly data: string;
}

export interface TickDelivery {
  readonly job: string;
  readonly at: string;
  status: number | 'failed' | 'pending';
}

interface ScheduledJob extends TopicJob {
  inFlight: boolean;
}

interface SchedulerState {
  jobs: Map<string, ScheduledJob>;
  deliveries: TickDelivery[];
}

export function schedulerState(sandbox: Sandbox): SchedulerState {
  return sandbox.extension<SchedulerState>('scheduler', () => ({
    jobs: new Map(),
    deliveries: [],
  }));
}

function fire(sandbox: Sandbox, job: ScheduledJob): void {
  const state = schedulerState(sandbox);
  if (job.inFlight) return;
  const sinks = [...loggingState(sandbox).sinks.values()].filter((s) => s.topic === job.topic);
  let open = sinks.length;
  if (open === 0) return;
  job.inFlight = true;
  const at = sandbox.clock.now().toISOString();
  for (const sink of sinks) {
    const delivery: TickDelivery = { job: job.name, at, status: 'pending' };
    state.deliveries.push(delivery);
    const body = pushBody(job.data, job.project, job.topic, { attributes: {}, publishTime: at });
    pushTo(sandbox, sink, job.project, body, (status) => {
      delivery.status = status;
      if (--open === 0) job.inFlight = false;
    });
  }
}

function scheduleAfter(sandbox: Sandbox, job: ScheduledJob, afterMs: number): void {
  const period = job.everySeconds * 1000;
  const at = (Math.floor(afterMs / period) + 1) * period;
  sandbox.clock.schedule(at, () => {
    // A job replaced or removed since leaves its old timer without effect.
    if (schedulerState(sandbox).jobs.get(job.name) !== job) return;
    fire(sandbox, job);
    scheduleAfter(sandbox, job, at);
  });
}

/** Creates (or replaces) a job; its first tick is the next period boundary of the clock. */
export function putTopicJob(sandbox: Sandbox, job: TopicJob): void {
  if (!(Number.isInteger(job.everySeconds) && job.everySeconds >= 60)) {
    throw new RangeError(
      'everySeconds: whole seconds, at least 60 (Cloud Scheduler runs per minute)',
    );
  }
  const scheduled: ScheduledJob = { ...job, inFlight: false };
  schedulerState(sandbox).jobs.set(job.name, scheduled);
  scheduleAfter(sandbox, scheduled, sandbox.clock.nowMs());
}

const routes = [
  route<Sandbox>('scheduler.jobs', 'GET', '/_sandbox/scheduler/jobs', (_request, sandbox) => {
    const state = schedulerState(sandbox);
    return {
      body: {
        jobs: [...state.jobs.values()].map(({ inFlight: _, ...job }) => job),
        deliveries: state.deliveries,
      },
    };
  }),
  route<Sandbox>(
    'scheduler.jobs.put',
    'PUT',
    '/_sandbox/scheduler/jobs/{name}',
    (request, sandbox) => {
      const body = asRecord(request.body);
      const { project, topic, everySeconds, data } = body;
      if (
        typeof project !== 'string' ||
        typeof topic !== 'string' ||
        typeof everySeconds !== 'number' ||
        typeof data !== 'string'
      ) {
        fail(400, 'Send {"project": P, "topic": T, "everySeconds": N, "data": "message text"}');
      }
      try {
        putTopicJob(sandbox, {
          name: request.params.name as string,
          project,
          topic,
          everySeconds,
          data,
        });
      } catch (error) {
        fail(400, (error as Error).message);
      }
      return { body: { job: request.params.name } };
    },
  ),
];

export const schedulerModule: SandboxModule = { name: 'scheduler', routes };
