import * as functions from '@google-cloud/functions-framework';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  PermanentError,
  TransientError,
  ValidationError,
} from '../../functions/core/errors.js';
import { eventHandler, httpHandler, lazyEvent, lazyHttp } from '../../functions/core/handlers.js';
import { createMemoryLogger } from '../../functions/core/logger.js';
import { serveTarget } from '../../functions/sandbox/serve-target.js';

async function call(
  target: string,
  body: unknown = {},
): Promise<{ status: number; body: unknown }> {
  const served = await serveTarget(target);
  try {
    const response = await fetch(served.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  } finally {
    await served.close();
  }
}

describe('the HTTP edge', () => {
  const logger = createMemoryLogger();
  const outcomes: Record<string, () => Promise<never>> = {
    validation: () =>
      Promise.reject(new ValidationError('Bad request body', ['pipeline: required'])),
    permanent: () => Promise.reject(new PermanentError('Budget b-1 not found')),
    transient: () => Promise.reject(new TransientError('BigQuery unavailable at 10.1.2.3')),
    bug: () => Promise.reject(new TypeError('cannot read x of undefined')),
  };
  for (const [name, outcome] of Object.entries(outcomes)) {
    functions.http(`edge-${name}`, httpHandler(logger, outcome));
  }

  it.each([
    {
      name: 'validation',
      status: 400,
      body: { error: 'Bad request body: pipeline: required', issues: ['pipeline: required'] },
    },
    { name: 'permanent', status: 422, body: { error: 'Budget b-1 not found' } },
    { name: 'transient', status: 503, body: { error: 'Temporarily unavailable; retry later' } },
    { name: 'bug', status: 500, body: { error: 'Internal error' } },
  ])(
    'maps a $name failure to $status, with details only for 4xx',
    async ({ name, status, body }) => {
      expect(await call(`edge-${name}`)).toEqual({ status, body });
    },
  );

  it('reports a configuration error as one CRITICAL line and a generic 500', async () => {
    const startup = createMemoryLogger();
    let attempts = 0;
    functions.http(
      'edge-misconfigured',
      lazyHttp(
        'edge-misconfigured',
        () => startup,
        () => {
          attempts++;
          return Promise.reject(
            new ConfigError(
              'Invalid configuration: COSTGUARD_PROJECTS: expected project ids; it is not set',
            ),
          );
        },
      ),
    );
    expect(await call('edge-misconfigured')).toEqual({
      status: 500,
      body: { error: 'The function is not configured correctly; see its logs' },
    });
    await call('edge-misconfigured');
    expect(attempts).toBe(2);
    expect(startup.entries[0]).toMatchObject({
      severity: 'CRITICAL',
      message: 'Invalid configuration: COSTGUARD_PROJECTS: expected project ids; it is not set',
      target: 'edge-misconfigured',
    });
  });
});

describe('the event edge', () => {
  const event = { id: 'm-1', type: 't', source: 's', specversion: '1.0' } as const;

  it('acknowledges permanent failures and rethrows transient ones', async () => {
    const logger = createMemoryLogger();
    await expect(
      eventHandler(logger, () => Promise.reject(new PermanentError('bad payload')))(event),
    ).resolves.toBeUndefined();
    await expect(
      eventHandler(logger, () => Promise.reject(new TransientError('try again')))(event),
    ).rejects.toThrow('try again');
    expect(logger.entries.map((e) => [e.severity, e.message, e.eventId])).toEqual([
      ['ERROR', 'Event failed permanently; acknowledged', 'm-1'],
      ['ERROR', 'Event failed transiently; rethrowing for retry', 'm-1'],
    ]);
  });

  it('logs a configuration error as one CRITICAL line with the event id, rethrows it and builds again on the next delivery', async () => {
    const startup = createMemoryLogger();
    const handled: string[] = [];
    let attempts = 0;
    const handler = lazyEvent<unknown>(
      'edge-event',
      () => startup,
      () => {
        attempts++;
        if (attempts === 1) {
          return Promise.reject(
            new ConfigError('Invalid configuration: COSTGUARD_PROJECTS: not set'),
          );
        }
        return Promise.resolve((delivered: functions.CloudEvent<unknown>) => {
          handled.push(delivered.id);
          return Promise.resolve();
        });
      },
    );

    const first = handler(event);

    await expect(first).rejects.toThrow('Invalid configuration: COSTGUARD_PROJECTS: not set');
    expect(startup.entries).toEqual([
      expect.objectContaining({
        severity: 'CRITICAL',
        message: 'Invalid configuration: COSTGUARD_PROJECTS: not set',
        target: 'edge-event',
        eventId: 'm-1',
      }),
    ]);
    await handler({ ...event, id: 'm-2' });
    await handler({ ...event, id: 'm-3' });
    expect(handled).toEqual(['m-2', 'm-3']);
    expect(attempts).toBe(2);
  });
});
