/**
 * Reads the files the options name (policies, pipelines, the ledger SQL) and validates each with
 * the capability's own settings spec, so that a policy deploy accepts is one the function accepts.
 */

import { readFileSync } from 'node:fs';
import { migrationFiles } from '../functions/adapters/bigquery.js';
import { budgetSettings, DEFAULT_POLICY } from '../functions/budget/policy.js';
import { capSettings } from '../functions/caps/cap-policy.js';
import { readConfig, type ConfigOf, type Setting } from '../functions/core/config.js';
import { labelSettings } from '../functions/labels/settings.js';
import { recorderSettings } from '../functions/recorder/settings.js';
import { runsSettings } from '../functions/runs/config.js';
import type { DeployInputs, PipelineBinding } from './function-settings.js';
import { Problems, UsageError, type DeployOptions } from './options.js';

function readText(file: string, option: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `--${option} ${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

function validated<T>(setting: Setting<T>, text: string, option: string, file: string): T {
  try {
    return readConfig({ value: setting }, { [setting.variable]: text }).value;
  } catch (error) {
    throw new UsageError(`--${option} ${file}: ${(error as Error).message}`);
  }
}

/** What each pipeline gives triggerRun access to, from the pipelines as validated. */
export function pipelineBindings(
  pipelines: ConfigOf<typeof runsSettings>['pipelines'],
): PipelineBinding[] {
  return Object.entries(pipelines).map(([name, p]) => {
    const base = {
      name,
      project: p.project,
      invokers: p.invokers,
      ...(p.bucket ? { bucket: p.bucket } : {}),
    };
    return p.executor === 'vm'
      ? {
          ...base,
          vms: p.candidates.map(({ zone, instance }) => ({ zone, instance })),
          ...(p.resume ? { resumes: true as const } : {}),
        }
      : { ...base, job: { region: p.region, name: p.job } };
  });
}

export function loadPipelines(
  file: string,
  governed: readonly string[],
): { json: string; bindings: PipelineBinding[] } {
  const text = readText(file, 'pipelines');
  const bindings = pipelineBindings(validated(runsSettings.pipelines, text, 'pipelines', file));
  const outside = bindings.filter((b) => !governed.includes(b.project));
  if (outside.length > 0) {
    throw new UsageError(
      `--pipelines ${file}: pipelines must run in governed projects (--projects); ${outside
        .map((b) => `${b.name} uses ${b.project}`)
        .join(', ')}`,
    );
  }
  return { json: minified(text), bindings };
}

/** The file's JSON on one line; the function parses it again with the same schema. */
function minified(text: string): string {
  return JSON.stringify(JSON.parse(text));
}

export function loadDeployInputs(options: DeployOptions, sqlRoot: string): DeployInputs {
  const problems = new Problems();
  const budget = problems.attempt(() => {
    const text = options.budgetPolicyFile
      ? readText(options.budgetPolicyFile, 'budget-policy')
      : JSON.stringify(DEFAULT_POLICY);
    const policy = validated(
      budgetSettings.policy,
      text,
      'budget-policy',
      options.budgetPolicyFile ?? 'default',
    );
    return { text, policy };
  });
  const label = problems.attempt(() => {
    if (!options.labelPolicyFile) {
      return { policy: readConfig(labelSettings, {}).policy, json: undefined };
    }
    const text = readText(options.labelPolicyFile, 'label-policy');
    const policy = validated(labelSettings.policy, text, 'label-policy', options.labelPolicyFile);
    return { policy, json: minified(text) };
  });
  const spotAlertsJson = problems.attempt(() => {
    if (!options.spotAlertsFile) return undefined;
    const text = readText(options.spotAlertsFile, 'spot-alerts');
    validated(recorderSettings.alerts, text, 'spot-alerts', options.spotAlertsFile);
    return minified(text);
  });
  let capsReadTags = false;
  const spotCapsJson = problems.attempt(() => {
    if (!options.spotCapsFile) return undefined;
    const text = readText(options.spotCapsFile, 'spot-caps');
    const caps = validated(capSettings.caps, text, 'spot-caps', options.spotCapsFile);
    capsReadTags = caps.some((c) => c.prioritySource === 'tags');
    const outside = caps.flatMap((c) =>
      (c.scope.projects ?? []).filter((p) => !options.projects.includes(p)),
    );
    if (outside.length > 0) {
      throw new UsageError(
        `--spot-caps ${options.spotCapsFile}: projects outside --projects: ${[...new Set(outside)].join(', ')}`,
      );
    }
    return minified(text);
  });
  const pipelines = problems.attempt(() =>
    options.pipelinesFile ? loadPipelines(options.pipelinesFile, options.projects) : undefined,
  );
  problems.throwIfAny();
  if (!budget || !label) throw new UsageError('the policies could not be read');
  const sql = migrationFiles(sqlRoot);
  return {
    options,
    budgetPolicy: budget.policy,
    budgetPolicyJson: minified(budget.text),
    ...(label.json ? { labelPolicyJson: label.json } : {}),
    // Deploy sets COSTGUARD_LABELS_DRY_RUN to the opposite of --enforce.
    labelAction: options.enforce ? label.policy.action : 'report',
    readsTags: {
      budget: budget.policy.prioritySource === 'tags',
      caps: capsReadTags,
      labels: label.policy.exemptTag !== undefined,
    },
    ...(spotAlertsJson ? { spotAlertsJson } : {}),
    ...(spotCapsJson ? { spotCapsJson } : {}),
    ...(pipelines ? { pipelinesJson: pipelines.json } : {}),
    pipelines: pipelines?.bindings ?? [],
    sql,
  };
}
