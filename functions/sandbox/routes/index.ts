import type { SandboxModule } from '../sandbox.js';
import { bigQueryModule } from './bigquery.js';
import { computeModule } from './compute.js';
import { controlModule } from './control.js';
import { monitoringModule } from './monitoring.js';
import { slackModule } from './slack.js';

/** Every API the sandbox serves; a new API is one module file plus one line here. */
export function defaultModules(): SandboxModule[] {
  return [controlModule, computeModule, monitoringModule, bigQueryModule, slackModule];
}
