/**
 * The run trigger's settings. `COSTGUARD_PIPELINES` (JSON, or a file named by
 * `COSTGUARD_PIPELINES_FILE`) names every pipeline a caller may start and how it runs: on a
 * reusable batch VM (`vm`) or as a Cloud Run Job execution (`cloud-run-job`). Everything a
 * request may choose (target, environment values) is an exact allow-list here.
 */
import { z } from 'zod';
import {
  commonSettings,
  PROJECT_ID,
  readConfig,
  setting,
  type ConfigOf,
  type Env,
  configError,
} from '../core/config.js';
import { INVOKER } from './authorize.js';
import { PIPELINE_NAME, TARGET } from './run-id.js';

export const ZONE = /^[a-z]+-[a-z]+\d+-[a-z]$/;
export const REGION = /^[a-z]+-[a-z]+\d+$/;
export const RESOURCE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const BUCKET = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;
const ENV_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
/** Any value a request may pass in an environment override, before the per-variable rule. */
const ENV_VALUE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
/** Compute's maxRunDuration and Cloud Run's task timeout both stop at 7 days. */
const MAX_RUN_HOURS = 168;

const targets = z
  .array(z.string().regex(TARGET, 'a make target: letters, digits, "_", "." or "-"'))
  .min(1)
  .max(100);

const maxRunHours = z.number().positive().max(MAX_RUN_HOURS).default(24);

/** Who may start, read, list and cancel the pipeline's runs. */
const invokers = z
  .array(
    z
      .string()
      .refine((p) => !p.startsWith('domain:'), {
        message: 'a whole domain may not invoke a pipeline; name users, groups or service accounts',
      })
      .refine((p) => p.startsWith('domain:') || INVOKER.test(p), {
        message:
          'a principal such as user:ana@example.com, group:ml-team@example.com or serviceAccount:ci@p.iam.gserviceaccount.com',
      }),
  )
  .min(1, 'name at least one invoker')
  .max(100);

/** A run whose VM is preempted comes back: up to maxAttempts attempts, backoffSeconds apart. */
const resume = z.strictObject({
  maxAttempts: z.number().int().min(1).max(10),
  backoffSeconds: z.number().int().min(0).max(86_400),
});

/** Most candidate VMs a pipeline may list (each is read at every start). */
const MAX_CANDIDATES = 10;

/**
 * One VM a run of the pipeline may take. `project`, if given, must be the pipeline's own: the
 * candidates of a pipeline are one machine in several zones of one project.
 */
const candidate = z.strictObject({
  project: z.string().regex(PROJECT_ID, 'a project id').optional(),
  zone: z.string().regex(ZONE, 'a zone such as us-east1-b'),
  instance: z.string().regex(RESOURCE_NAME, 'an instance name'),
});

const vmPipeline = z
  .strictObject({
    executor: z.literal('vm'),
    project: z.string().regex(PROJECT_ID, 'a project id'),
    /** The single batch VM (with `instance`); or `candidates` instead of both. */
    zone: z.string().regex(ZONE, 'a zone such as us-east1-b').optional(),
    instance: z.string().regex(RESOURCE_NAME, 'an instance name').optional(),
    /** VMs a start picks from: the idle one with the lowest recent preemption rate. */
    candidates: z
      .array(candidate)
      .min(1, 'list at least one candidate VM')
      .max(MAX_CANDIDATES, `at most ${MAX_CANDIDATES} candidate VMs`)
      .optional(),
    bucket: z.string().regex(BUCKET, 'a bucket name'),
    targets,
    maxRunHours,
    invokers,
    /** Start even when a Spot cap the VM falls in is at its shedding tier. */
    ignoreSpotCaps: z.boolean().default(false),
    /**
     * Where a start may name its own source tarball (`gs://BUCKET/src/...`, in the pipeline's
     * bucket); unset: every run uses the source the VM was set up with.
     */
    sourcePrefix: z
      .string()
      .regex(
        /^gs:\/\/[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]\/src\/(?:[A-Za-z0-9._-]+\/){0,8}$/,
        'gs://BUCKET/src/ or a folder under it',
      )
      .optional(),
    /** Seconds between the VM's [vmstat]/[mpstat] console lines; 0 for none. */
    telemetryIntervalSeconds: z.number().int().min(0).max(3600).default(60),
    resume: resume.optional(),
  })
  .refine(
    (p) => p.sourcePrefix === undefined || p.sourcePrefix.startsWith(`gs://${p.bucket}/src/`),
    {
      message: "sourcePrefix must be under gs://BUCKET/src/ of the pipeline's own bucket",
      path: ['sourcePrefix'],
    },
  )
  .superRefine((p, ctx) => checkVms(p, ctx))
  .transform(({ zone, instance, candidates, ...rest }) => ({
    ...rest,
    candidates: (candidates ?? [{ zone: zone as string, instance: instance as string }]).map(
      (c): VmCandidate => Object.freeze({ zone: c.zone, instance: c.instance }),
    ),
  }));

/** A VM a pipeline's runs may take, in the pipeline's project. */
export interface VmCandidate {
  readonly zone: string;
  readonly instance: string;
}

/** Either one VM (`zone` and `instance`) or `candidates`: distinct VMs of the pipeline's project. */
function checkVms(
  p: {
    project: string;
    zone?: string | undefined;
    instance?: string | undefined;
    candidates?:
      Array<{ project?: string | undefined; zone: string; instance: string }> | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  const single = p.zone !== undefined || p.instance !== undefined;
  if (p.candidates === undefined) {
    for (const key of ['zone', 'instance'] as const) {
      if (p[key] === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `give ${key} (with ${key === 'zone' ? 'instance' : 'zone'}), or candidates instead`,
        });
      }
    }
    return;
  }
  if (single) {
    ctx.addIssue({
      code: 'custom',
      path: ['candidates'],
      message: 'give either zone and instance (one VM) or candidates, not both',
    });
  }
  const seen = new Set<string>();
  p.candidates.forEach((c, i) => {
    if (c.project !== undefined && c.project !== p.project) {
      ctx.addIssue({
        code: 'custom',
        path: ['candidates', i, 'project'],
        message: `every candidate runs in the pipeline's project ${p.project}; a pipeline cannot span projects`,
      });
    }
    const key = `${c.zone}/${c.instance}`;
    if (seen.has(key)) {
      ctx.addIssue({
        code: 'custom',
        path: ['candidates', i],
        message: `${key} is listed twice`,
      });
    }
    seen.add(key);
  });
}

const envRule = z
  .strictObject({
    values: z.array(z.string().regex(ENV_VALUE)).min(1).optional(),
    pattern: z
      .string()
      .refine((p) => p.startsWith('^') && p.endsWith('$'), 'an anchored pattern (^...$)')
      .refine((p) => {
        try {
          new RegExp(p);
          return true;
        } catch {
          return false;
        }
      }, 'a valid regular expression')
      .optional(),
  })
  .refine((rule) => rule.values !== undefined || rule.pattern !== undefined, {
    message: 'give "values" or "pattern"',
  });

const cloudRunPipeline = z.strictObject({
  executor: z.literal('cloud-run-job'),
  project: z.string().regex(PROJECT_ID, 'a project id'),
  region: z.string().regex(REGION, 'a region such as us-central1'),
  job: z.string().regex(RESOURCE_NAME, 'a Cloud Run job name'),
  targets,
  maxRunHours,
  invokers,
  /** Start even when a Spot cap the job falls in is at its shedding tier. */
  ignoreSpotCaps: z.boolean().default(false),
  /** Where the job writes its results (optional); given to it as COSTGUARD_RESULTS_PREFIX. */
  bucket: z.string().regex(BUCKET, 'a bucket name').optional(),
  /** Environment variables a request may override, each with its allowed values. */
  env: z
    .record(z.string(), envRule)
    .superRefine((env, ctx) => {
      for (const name of Object.keys(env)) {
        if (!ENV_NAME.test(name)) {
          ctx.addIssue({ code: 'custom', path: [name], message: 'an upper-case variable name' });
        } else if (name.startsWith('COSTGUARD_')) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: 'COSTGUARD_* variables are set by costguard',
          });
        }
      }
    })
    .default({}),
});

const pipelines = z
  .record(z.string(), z.discriminatedUnion('executor', [vmPipeline, cloudRunPipeline]))
  .superRefine((p, ctx) => {
    const names = Object.keys(p);
    if (names.length === 0) ctx.addIssue({ code: 'custom', message: 'at least one pipeline' });
    for (const name of names.filter((n) => !PIPELINE_NAME.test(n))) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: 'a pipeline name: lower-case letters, digits and "-"',
      });
    }
  });

export type VmPipeline = z.output<typeof vmPipeline> & { readonly name: string };
export type CloudRunPipeline = z.output<typeof cloudRunPipeline> & { readonly name: string };
export type Pipeline = VmPipeline | CloudRunPipeline;

export const runsSettings = {
  pipelines: setting.json(
    'COSTGUARD_PIPELINES',
    'a JSON object of pipelines, each {"executor": "vm", project, zone and instance (or candidates [{zone, instance}]), bucket, targets, maxRunHours, invokers} or {"executor": "cloud-run-job", project, region, job, targets, maxRunHours, env, invokers}',
    pipelines,
  ),
  dryRun: setting.boolean('COSTGUARD_RUNS_DRY_RUN', false),
  publicUrl: setting.optionalText(
    'COSTGUARD_RUNS_PUBLIC_URL',
    'the URL the function is reached at, for statusUrl (unset: relative URLs)',
    /^https?:\/\/[^\s?#]+$/,
  ),
  audiences: setting.list(
    'COSTGUARD_RUNS_AUDIENCES',
    'the identity token audiences triggerRun accepts, comma-separated (default: COSTGUARD_RUNS_PUBLIC_URL)',
    { default: [] },
  ),
};

export interface RunsConfig {
  readonly pipelines: ReadonlyMap<string, Pipeline>;
  readonly dryRun: boolean;
  /** Base URL of the function without a trailing slash, or '' for relative status URLs. */
  readonly publicUrl: string;
  /** A caller's identity token must be for one of these. */
  readonly audiences: readonly string[];
}

export type TriggerRunConfig = ConfigOf<typeof commonSettings> & { readonly runs: RunsConfig };

/** Reads and cross-checks the settings: a pipeline may only name a governed project. */
export function readTriggerRunConfig(env: Env): TriggerRunConfig {
  const raw = readConfig({ ...commonSettings, ...runsSettings }, env);
  const outside = Object.entries(raw.pipelines).filter(
    ([, p]) => !raw.projects.includes(p.project),
  );
  if (outside.length > 0) {
    throw configError(
      'COSTGUARD_PIPELINES',
      'pipelines in the projects of COSTGUARD_PROJECTS',
      outside.map(([name, p]) => `${name} uses ${p.project}`).join(', '),
    );
  }
  const { pipelines: configured, dryRun, publicUrl, audiences, ...common } = raw;
  const base = (publicUrl ?? '').replace(/\/+$/, '');
  const accepted = audiences.length > 0 ? audiences : base ? [base] : [];
  if (accepted.length === 0) {
    throw configError(
      'COSTGUARD_RUNS_AUDIENCES',
      'the identity token audiences triggerRun accepts',
      'neither it nor COSTGUARD_RUNS_PUBLIC_URL is set',
    );
  }
  return Object.freeze({
    ...common,
    runs: Object.freeze({
      pipelines: pipelinesByName(configured),
      dryRun,
      publicUrl: base,
      audiences: accepted,
    }),
  });
}

function pipelinesByName(
  configured: Record<string, z.output<typeof vmPipeline> | z.output<typeof cloudRunPipeline>>,
): Map<string, Pipeline> {
  return new Map<string, Pipeline>(
    Object.entries(configured).map(([name, p]) => [name, Object.freeze({ ...p, name })]),
  );
}

/**
 * The pipelines as the functions that resume preempted runs read them (recordPreemption and the
 * hourly recorder): undefined when COSTGUARD_PIPELINES is not set, so they record preemptions only.
 */
export function readResumeConfig(env: Env): RunsConfig | undefined {
  if (
    (env[runsSettings.pipelines.variable] ?? env[`${runsSettings.pipelines.variable}_FILE`]) ===
    undefined
  ) {
    return undefined;
  }
  const raw = readConfig(
    {
      pipelines: runsSettings.pipelines,
      dryRun: runsSettings.dryRun,
      publicUrl: runsSettings.publicUrl,
    },
    env,
  );
  return Object.freeze({
    pipelines: pipelinesByName(raw.pipelines),
    dryRun: raw.dryRun,
    publicUrl: (raw.publicUrl ?? '').replace(/\/+$/, ''),
    audiences: [],
  });
}

/** Whether a request may set `name` to `value` for this pipeline. */
export function allowsEnv(pipeline: CloudRunPipeline, name: string, value: string): boolean {
  if (!Object.hasOwn(pipeline.env, name) || !ENV_VALUE.test(value)) return false;
  const rule = pipeline.env[name];
  if (!rule) return false;
  if (rule.values?.includes(value)) return true;
  // The whole value must match, whatever anchors (or alternations) the pattern has itself.
  return rule.pattern !== undefined && new RegExp(`^(?:${rule.pattern})$`).test(value);
}
