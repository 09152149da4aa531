/**
 * The endpoint contract (docs/configuration.md): `GCP_EMULATOR_HOST` sends every Google API
 * call to one host, `<SERVICE>_EMULATOR_HOST` overrides it per service, `SLACK_API_URL` moves
 * Slack. Such hosts are spoken to over plain HTTP with no credentials, so they must be loopback
 * addresses unless `COSTGUARD_ALLOW_REMOTE_EMULATOR=true`. With none set, clients use Google and
 * ADC.
 */
import { configError, type Env } from '../core/config.js';

export const GOOGLE_SERVICES = {
  compute: 'COMPUTE_EMULATOR_HOST',
  monitoring: 'MONITORING_EMULATOR_HOST',
  billingCatalog: 'BILLING_CATALOG_EMULATOR_HOST',
  billingBudgets: 'BILLING_BUDGETS_EMULATOR_HOST',
  resourceManager: 'RESOURCE_MANAGER_EMULATOR_HOST',
  bigquery: 'BIGQUERY_EMULATOR_HOST',
  storage: 'STORAGE_EMULATOR_HOST',
  run: 'RUN_EMULATOR_HOST',
  cloudIdentity: 'CLOUD_IDENTITY_EMULATOR_HOST',
} as const;

export type GoogleService = keyof typeof GOOGLE_SERVICES;

export interface EmulatorEndpoint {
  readonly host: string;
  readonly port: number;
  /** `http://host:port` */
  readonly origin: string;
}

export interface Endpoints {
  readonly google: Readonly<Partial<Record<GoogleService, EmulatorEndpoint>>>;
  readonly slackApiUrl: string | undefined;
}

export const ALLOW_REMOTE_VARIABLE = 'COSTGUARD_ALLOW_REMOTE_EMULATOR';

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

function parseHostPort(variable: string, value: string, allowRemote: boolean): EmulatorEndpoint {
  const match = /^(?:https?:\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) {
    throw configError(variable, 'host:port', `got "${value}"`);
  }
  const host = match[1] as string;
  if (!allowRemote && !isLoopbackHost(host)) {
    throw configError(
      variable,
      'a loopback host (127.0.0.1, ::1, localhost)',
      `got "${host}" (set ${ALLOW_REMOTE_VARIABLE}=true to allow it)`,
    );
  }
  return { host: host.replace(/^\[|\]$/g, ''), port, origin: `http://${host}:${port}` };
}

export function resolveEndpoints(env: Env): Endpoints {
  const allowRemote = env[ALLOW_REMOTE_VARIABLE]?.trim().toLowerCase() === 'true';
  const shared = env.GCP_EMULATOR_HOST?.trim();
  const google: Partial<Record<GoogleService, EmulatorEndpoint>> = {};
  for (const [service, variable] of Object.entries(GOOGLE_SERVICES) as [GoogleService, string][]) {
    const own = env[variable]?.trim();
    if (own) google[service] = parseHostPort(variable, own, allowRemote);
    else if (shared) google[service] = parseHostPort('GCP_EMULATOR_HOST', shared, allowRemote);
  }
  let slackApiUrl: string | undefined;
  const slack = env.SLACK_API_URL?.trim();
  if (slack) {
    let url: URL;
    try {
      url = new URL(slack);
    } catch {
      throw configError('SLACK_API_URL', 'a URL', `got "${slack}"`);
    }
    const plain = url.protocol === 'http:';
    if (
      !['http:', 'https:'].includes(url.protocol) ||
      (plain && !allowRemote && !isLoopbackHost(url.hostname))
    ) {
      throw configError('SLACK_API_URL', 'https, or http on a loopback host', `got "${slack}"`);
    }
    slackApiUrl = slack.endsWith('/') ? slack : `${slack}/`;
  }
  return { google, slackApiUrl };
}
