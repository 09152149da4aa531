/**
 * Serves a Functions Framework target on a loopback port, as `npm start`, the demos and the
 * tests need: registered first when a handler is given, then served through the framework's own
 * request handling (body parsing, CloudEvent and Pub/Sub push conversion) with the same JSON
 * replies to malformed bodies as the deployed functions.
 */

import type { AddressInfo } from 'node:net';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { installHttpEdge } from '../core/http-edge.js';
import { createLogger } from '../core/logger.js';

const edgeLogger = createLogger();

export interface ServedTarget {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  close(): Promise<void>;
}

export type TargetHandler =
  | { kind: 'http'; handler: functions.HttpFunction }
  | { kind: 'event'; handler: functions.CloudEventFunction };

export async function serveTarget(
  name: string,
  target?: TargetHandler,
  port = 0,
): Promise<ServedTarget> {
  installHttpEdge(() => edgeLogger);
  if (target?.kind === 'http') functions.http(name, target.handler);
  else if (target?.kind === 'event') functions.cloudEvent(name, target.handler);
  const server = getTestServer(name);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
