/**
 * Cloud Logging as far as preemptions need it: every Spot preemption writes its System Event
 * audit log entry (`compute.instances.preempted`, in `cloudaudit.googleapis.com%2Fsystem_event`),
 * and sinks route those entries to a Pub/Sub push endpoint, as deploy's Logging sink and the
 * topic's push subscription deliver them to `recordPreemption`. A preemption comes with its
 * notice on the simulated clock: the operation, the entry and STOPPING at once, TERMINATED 30 s
 * later (the entry's timestamp is the operation's start, as in Compute's own entries).
 */
import { randomInt } from 'node:crypto';
import { errorMessage } from '../../core/errors.js';
import { PREEMPTED_OPERATION, type SimOperation, type SimVm } from '../fleet.js';
import { asRecord, fail, notFound, route } from '../http.js';
import type { Sandbox, SandboxModule } from '../sandbox.js';

export const PREEMPTION_NOTICE_SECONDS = 30;

export interface LogSink {
  /** Where entries are pushed (the function's URL); the Pub/Sub topic's name ends the path. */
  readonly pushEndpoint: string;
  readonly topic: string;
}

export interface Delivery {
  readonly sink: string;
  readonly insertId: string;
  readonly messageId: string;
  status: number | 'failed';
}

interface LoggingState {
  entries: Array<Record<string, unknown>>;
  sinks: Map<string, LogSink>;
  deliveries: Delivery[];
  pending: Set<Promise<void>>;
}

export function loggingState(sandbox: Sandbox): LoggingState {
  return sandbox.extension<LoggingState>('logging', () => ({
    entries: [],
    sinks: new Map(),
    deliveries: [],
    pending: new Set(),
  }));
}

function utc(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The System Event audit log entry Compute writes when it preempts a VM. */
export function preemptionLogEntry(
  vm: SimVm,
  op: SimOperation,
  at: number,
): Record<string, unknown> {
  const resourceName = `projects/${vm.project}/zones/${vm.zone}/instances/${vm.name}`;
  return {
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      status: { message: 'Instance was preempted.' },
      authenticationInfo: { principalEmail: 'system@google.com' },
      serviceName: 'compute.googleapis.com',
      methodName: PREEMPTED_OPERATION,
      resourceName,
      request: { '@type': `type.googleapis.com/${PREEMPTED_OPERATION}` },
    },
    insertId: `${op.id.slice(-8)}e${at.toString(36)}`,
    resource: {
      type: 'gce_instance',
      labels: { instance_id: vm.id, project_id: vm.project, zone: vm.zone },
    },
    timestamp: utc(at),
    severity: 'INFO',
    logName: `projects/${vm.project}/logs/cloudaudit.googleapis.com%2Fsystem_event`,
    operation: { id: op.name, producer: PREEMPTED_OPERATION, first: true, last: true },
    receiveTimestamp: utc(at + 431),
  };
}

/** The body a topic's push subscription posts for one message. */
export function pushBody(
  data: string,
  project: string,
  topic: string,
  message: { attributes: Record<string, string>; publishTime: string; messageId?: string },
): Record<string, unknown> {
  return {
    message: {
      data: Buffer.from(data).toString('base64'),
      attributes: message.attributes,
      messageId: message.messageId ?? String(randomInt(1, 2 ** 47)),
      publishTime: message.publishTime,
    },
    subscription: `projects/${project}/subscriptions/${topic}-push`,
  };
}

/** The body a Pub/Sub push subscription posts for a Logging sink's entry. */
export function sinkPushBody(
  entry: Record<string, unknown>,
  project: string,
  topic: string,
  messageId?: string,
): Record<string, unknown> {
  return pushBody(JSON.stringify(entry), project, topic, {
    attributes: { 'logging.googleapis.com/timestamp': String(entry.timestamp) },
    publishTime: String(entry.receiveTimestamp),
    ...(messageId ? { messageId } : {}),
  });
}

/**
 * Posts a push body to a sink's endpoint (the Functions Framework reads the topic from the
 * path, as deployed); `settleDeliveries` waits for it and for `answered` with its status.
 */
export function pushTo(
  sandbox: Sandbox,
  sink: LogSink,
  project: string,
  body: Record<string, unknown>,
  answered: (status: number | 'failed') => void,
): void {
  const state = loggingState(sandbox);
  const push = (async () => {
    try {
      const url = `${sink.pushEndpoint.replace(/\/+$/, '')}/projects/${project}/topics/${sink.topic}`;
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      answered(response.status);
    } catch {
      answered('failed');
    }
  })();
  state.pending.add(push);
  void push.finally(() => state.pending.delete(push));
}

/** Pushes an entry to every sink; the push is awaited by `settleDeliveries`. */
function deliver(sandbox: Sandbox, entry: Record<string, unknown>, project: string): void {
  const state = loggingState(sandbox);
  for (const [name, sink] of state.sinks) {
    const body = sinkPushBody(entry, project, sink.topic);
    const delivery: Delivery = {
      sink: name,
      insertId: String(entry.insertId),
      messageId: String((body.message as { messageId: string }).messageId),
      status: 'failed',
    };
    state.deliveries.push(delivery);
    pushTo(sandbox, sink, project, body, (status) => {
      delivery.status = status;
    });
  }
}

/** Waits until every push so far has been answered (tests and demos call it after a preemption). */
export async function settleDeliveries(sandbox: Sandbox): Promise<Delivery[]> {
  const state = loggingState(sandbox);
  while (state.pending.size > 0) await Promise.all([...state.pending]);
  return state.deliveries;
}

/** Preempts a running VM with Compute's notice: STOPPING now, TERMINATED when the notice ends. */
export function preemptWithNotice(
  sandbox: Sandbox,
  vm: SimVm,
  noticeSeconds = PREEMPTION_NOTICE_SECONDS,
): SimOperation {
  const op = sandbox.fleet.beginPreemption(vm, noticeSeconds * 1000);
  if (noticeSeconds <= 0) sandbox.fleet.completePreemption(vm, op);
  else sandbox.clock.schedule(op.doneAt, () => sandbox.fleet.completePreemption(vm, op));
  return op;
}

const routes = [
  route<Sandbox>('logging.entries', 'GET', '/_sandbox/logging/entries', (_request, sandbox) => ({
    body: { entries: loggingState(sandbox).entries },
  })),
  route<Sandbox>(
    'logging.deliveries',
    'GET',
    '/_sandbox/logging/deliveries',
    async (_request, sandbox) => ({ body: { deliveries: await settleDeliveries(sandbox) } }),
  ),
  route<Sandbox>('logging.sink', 'PUT', '/_sandbox/logging/sinks/{name}', (request, sandbox) => {
    const body = asRecord(request.body);
    const endpoint = body.pushEndpoint;
    const topic = body.topic ?? 'costguard-preemptions';
    if (typeof endpoint !== 'string' || !/^http:\/\/127\.0\.0\.1:\d+\//.test(`${endpoint}/`)) {
      fail(400, 'Send {"pushEndpoint": "http://127.0.0.1:PORT/", "topic": "NAME"} (loopback only)');
    }
    if (typeof topic !== 'string' || !/^[a-z][a-z0-9-]{2,62}$/.test(topic)) {
      fail(400, 'topic must be a Pub/Sub topic name');
    }
    loggingState(sandbox).sinks.set(request.params.name as string, {
      pushEndpoint: endpoint,
      topic,
    });
    return { body: Object.fromEntries(loggingState(sandbox).sinks) };
  }),
  route<Sandbox>('sandbox.preempt', 'POST', '/_sandbox/compute/preempt', (request, sandbox) => {
    const body = asRecord(request.body);
    const vm = sandbox.fleet.get(String(body.project), String(body.zone), String(body.name));
    if (!vm) notFound(`${String(body.project)}/${String(body.zone)}/${String(body.name)}`);
    const notice = body.noticeSeconds ?? PREEMPTION_NOTICE_SECONDS;
    if (typeof notice !== 'number' || !(notice >= 0)) {
      fail(400, 'noticeSeconds must be a number of seconds, 0 or more');
    }
    if (vm.status !== 'RUNNING') fail(400, `${vm.name} is ${vm.status}, not RUNNING`);
    try {
      const op = preemptWithNotice(sandbox, vm, notice);
      return {
        body: {
          operation: op.name,
          status: vm.status,
          terminatedAt: new Date(op.doneAt).toISOString(),
          deleted: vm.deletedAt !== undefined,
        },
      };
    } catch (error) {
      fail(400, errorMessage(error));
    }
  }),
];

export const loggingModule: SandboxModule = {
  name: 'logging',
  routes,
  start(sandbox) {
    sandbox.fleet.onEvent((event) => {
      // Compute writes the entry as the preemption begins, during the guest's notice.
      if (event.type !== 'preemption-began') return;
      const entry = preemptionLogEntry(event.vm, event.operation, sandbox.clock.nowMs());
      loggingState(sandbox).entries.push(entry);
      deliver(sandbox, entry, event.vm.project);
    });
  },
};
