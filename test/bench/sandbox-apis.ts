/**
 * The APIs the sandbox serves, as the prefixes of their route names: a benchmark that injects
 * latency "on every API route" sets it on each of these, while the sandbox's own inspection and
 * control routes (`sandbox.*`) stay immediate.
 */

export const SANDBOX_APIS = [
  'compute',
  'bigquery',
  'billingbudgets',
  'billingCatalog',
  'resourcemanager',
  'slack',
  'monitoring',
  'storage',
  'logging',
  'run',
  'cloudidentity',
  'scheduler',
] as const;
