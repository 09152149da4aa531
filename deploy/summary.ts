/**
 * What deploy prints when it is done: where things are, how to call the run trigger, where the
 * numbers are read, and the matching teardown command.
 */

import type { DeployInputs } from './function-settings.js';
import { formatCommand, gcloud, shellWord } from './plan.js';
import { functionSpec, functionUrl, type FunctionSpec } from './resources.js';
import { lookerStudioUrl, lookerViewsIn } from './looker-studio.js';

const CREATED =
  /CREATE\s+(?:OR\s+REPLACE\s+)?(TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?`\$\{dataset\}\.([A-Za-z0-9_]+)`/gi;

/** The ledger's tables and views in migration order, views first (they are what reports read). */
export function ledgerObjects(sql: DeployInputs['sql']): { views: string[]; tables: string[] } {
  const views: string[] = [];
  const tables: string[] = [];
  for (const file of sql) {
    for (const match of file.sql.matchAll(CREATED)) {
      const [, kind, name] = match;
      if (name) (kind?.toUpperCase() === 'VIEW' ? views : tables).push(name);
    }
  }
  return { views, tables };
}

/**
 * A Looker Studio Linking API URL that opens a new report with one data source per report view
 * of the ledger; with `--dashboard-url`, that report instead.
 */
export function lookerStudioLink(inputs: DeployInputs): string {
  const { project, dataset, dashboardUrl } = inputs.options;
  if (dashboardUrl) return dashboardUrl;
  return lookerStudioUrl({
    project,
    dataset,
    views: lookerViewsIn(ledgerObjects(inputs.sql).views),
  });
}

function exampleRunBody(inputs: DeployInputs): string {
  const pipelines = JSON.parse(inputs.pipelinesJson ?? '{}') as Record<
    string,
    { targets?: string[] }
  >;
  const [name, pipeline] = Object.entries(pipelines)[0] ?? ['PIPELINE', {}];
  return JSON.stringify({ pipeline: name, target: pipeline.targets?.[0] ?? 'TARGET' });
}

export function deploySummary(inputs: DeployInputs, functions: readonly FunctionSpec[]): string[] {
  const { project, region, projects, dataset, enforce, billingAccount } = inputs.options;
  const lines = [
    `costguard is deployed in ${project} (${region}) and governs ${projects.join(', ')}.`,
    enforce
      ? 'Enforcement is ON: the budget and label functions stop VMs as their policies say.'
      : 'Enforcement is in dry-run: decisions are recorded and announced, no VM is stopped. Deploy again with --enforce to switch it on.',
    `Ledger: BigQuery dataset ${project}:${dataset}.`,
    `Looker Studio: ${lookerStudioLink(inputs)}`,
  ];
  if (functions.some((f) => f.target === 'triggerRun')) {
    const url = functionUrl(functionSpec('triggerRun').name, project, region);
    lines.push(
      `Run trigger: ${url}`,
      `  curl -X POST -H "Authorization: Bearer $(gcloud auth print-identity-token)" -H 'Content-Type: application/json' -d ${shellWord(exampleRunBody(inputs))} ${url}/runs`,
      `  (callers need run.invoker: ${formatCommand(
        gcloud(
          'functions',
          'add-invoker-policy-binding',
          functionSpec('triggerRun').name,
          `--region=${region}`,
          `--project=${project}`,
          '--member=user:EMAIL',
        ),
      )})`,
    );
  } else {
    lines.push('Run trigger: not deployed (give --pipelines FILE to deploy triggerRun).');
  }
  lines.push(
    `Remove it all: npm run teardown -- --project ${project} --region ${region} --billing-account ${billingAccount}${
      projects.length > 1 || projects[0] !== project ? ` --projects ${projects.join(',')}` : ''
    }${inputs.options.pipelinesFile ? ` --pipelines ${shellWord(inputs.options.pipelinesFile)}` : ''}${
      dataset !== 'costguard' ? ` --dataset ${dataset}` : ''
    }`,
  );
  return lines;
}
