/**
 * The deploy plan: a pure function of the validated inputs. Every step converges when run
 * again: a probe decides create, update or nothing, and IAM bindings are additive.
 */

import { bindSql } from '../functions/adapters/bigquery.js';
import { BUDGET_ID } from '../functions/budget/trusted-budgets.js';
import {
  BUDGET_IDS_VARIABLE,
  envVarsFlag,
  functionEnvironment,
  pipelineBuckets,
  pipelineInvokers,
  pipelineProjects,
  SLACK_SIGNING_VARIABLE,
  SLACK_TOKEN_VARIABLE,
  type DeployInputs,
  type PipelineBinding,
} from './function-settings.js';
import {
  addBinding,
  bindingsOf,
  getPolicy,
  removeBinding,
  rolesHeld,
  type IamResource,
} from './iam-steps.js';
import { ALL_LEDGER_ROLES, ledgerGrants } from './ledger-access.js';
import { billingExportViewSql, queryText } from './ledger-sql.js';
import { UsageError } from './options.js';
import {
  BIGQUERY_DATA_EDITOR,
  BIGQUERY_JOB_USER,
  BILLING_VIEWER,
  BUDGET_PUBLISHER,
  customRoleName,
  EVENT_RECEIVER,
  eventReceiverGrant,
  functionProjectGrants,
  GOVERNED_PROJECT_ROLES,
  OBJECT_VIEWER,
  PIPELINE_PROJECT_ROLES,
  batchVmRole,
  type RunActor,
  PROJECT_ROLES,
  PUBSUB_PUBLISHER,
  ROLES,
  roleForPolicy,
  runObserverGrant,
  SECRET_ACCESSOR,
  SERVICE_ACCOUNT_USER,
  TOPIC_PUBLISHING_ROLES,
  type CustomRole,
  type ProjectGrant,
} from './permissions.js';
import {
  bq,
  bqQuery,
  gcloud,
  type Command,
  type Plan,
  type ProbeOutcome,
  type Step,
} from './plan.js';
import {
  eventarcTriggerArgs,
  budgetIds,
  customRoleState,
  describeEventarcTrigger,
  describeCustomRole,
  describeSchedulerJob,
  describeSecret,
  latestSecretVersion,
  describeServiceAccount,
  describeSink,
  describeTopic,
  describeVmServiceAccount,
  listBudgets,
  schedulerJobArgs,
  secretVersionOf,
  showDataset,
} from './probes.js';
import {
  AUDIT_TRIGGER_LOCATION,
  BETA_INSERT_TRIGGER,
  budgetDisplayName,
  BUDGET_TOPIC,
  EVENTS_ACCOUNT,
  FUNCTIONS,
  functionSpec,
  functionUrl,
  INSERT_METHODS,
  member,
  PREEMPTION_ROUTE,
  PREEMPTION_TOPIC,
  INSERT_ROUTE,
  INSERT_TOPIC,
  INSERT_TOPIC_TRIGGER,
  insertSinkProjects,
  type LogRoute,
  RESUME_JOB,
  RUNTIME,
  SCHEDULER_ACCOUNT,
  serviceAccountEmail,
  SERVICES,
  CLOUD_IDENTITY_SERVICE,
  SLACK_SECRET,
  SLACK_SIGNING_SECRET,
  FIRST_SECRET_VERSION,
  VM_SERVICE_ACCOUNT_PLACEHOLDER,
  type FunctionSpec,
} from './resources.js';
import { deploySummary } from './summary.js';

/**
 * The billing accounts whose budgets a function reads (getBudget needs billing.budgets.get
 * there; Billing Account Viewer is the narrowest predefined role with it): the budget enforcer
 * the deployed budget's, the cap enforcer those of the budgets its caps follow.
 */
function billingAccountsRead(spec: FunctionSpec, inputs: DeployInputs): string[] {
  if (spec.target === 'enforceBudget') return [inputs.options.billingAccount];
  if (spec.target !== 'enforceSpotCap' || !inputs.spotCapsJson) return [];
  const caps = JSON.parse(inputs.spotCapsJson) as Array<{ period?: unknown; budget?: unknown }>;
  const accounts = caps.flatMap((cap) => {
    const account =
      cap.period === 'budget' && typeof cap.budget === 'string'
        ? /^billingAccounts\/([^/]+)\//.exec(cap.budget)?.[1]
        : undefined;
    return account ? [account] : [];
  });
  return [...new Set(accounts)];
}

/**
 * The functions deployed: triggerRun only when it has pipelines to run, slackActions only when
 * someone may act from Slack.
 */
export function deployedFunctions(inputs: DeployInputs): FunctionSpec[] {
  return FUNCTIONS.filter(
    (f) =>
      (f.target !== 'triggerRun' || inputs.pipelinesJson !== undefined) &&
      (f.target !== 'slackActions' || inputs.options.slackActors.length > 0),
  );
}

function serviceAccountStep(project: string, account: string, what: string): Step {
  const email = serviceAccountEmail(account, project);
  const create = gcloud(
    'iam',
    'service-accounts',
    'create',
    account,
    `--project=${project}`,
    `--display-name=costguard ${what}`,
    '--quiet',
  );
  return {
    title: `Service account ${email} (${what})`,
    commands: [create],
    probe: {
      argv: describeServiceAccount(email, project),
      choose: (found) => (found.ok ? [] : [create]),
    },
  };
}

function customRoleStep(project: string, role: CustomRole): Step {
  const definition = [
    `--project=${project}`,
    `--title=${role.title}`,
    `--description=Least-privilege role for ${role.title}, managed by costguard deploy`,
    `--permissions=${role.permissions.join(',')}`,
    '--stage=GA',
    '--quiet',
  ];
  const create = gcloud('iam', 'roles', 'create', role.id, ...definition);
  const update = gcloud('iam', 'roles', 'update', role.id, ...definition);
  const undelete = gcloud('iam', 'roles', 'undelete', role.id, `--project=${project}`, '--quiet');
  return {
    title: `Custom role ${customRoleName(project, role)}: ${role.permissions.join(', ')}`,
    commands: [create],
    probe: {
      argv: describeCustomRole(role, project),
      choose: (found) => {
        switch (customRoleState(found)) {
          case 'missing':
            return [create];
          case 'deleted':
            return [undelete, update];
          case 'present':
            return [update];
        }
      },
    },
  };
}

function datasetStep({ options }: DeployInputs): Step {
  const { project, dataset, bqLocation } = options;
  const create = bq(
    `--project_id=${project}`,
    `--location=${bqLocation}`,
    'mk',
    '--dataset',
    '--description=costguard ledger: Spot VM costs, enforcement decisions, label checks and runs',
    `${project}:${dataset}`,
  );
  return {
    title: `BigQuery dataset ${project}:${dataset} (${bqLocation})`,
    commands: [create],
    probe: {
      argv: showDataset(project, dataset, 'none'),
      choose: (found) => (found.ok ? [] : [create]),
    },
  };
}

const BILLING_EXPORT_STAND_IN = '70_billing_export.sql';

function migrationSteps({ options, sql }: DeployInputs): Step[] {
  const { project, dataset, bqLocation } = options;
  const query = (sql: string): Command => bqQuery(project, bqLocation, queryText(sql));
  const steps: Step[] = sql.map((file) => ({
    title: `Ledger migration: sql/${file.name}`,
    commands: [query(bindSql(file.sql, { project, dataset }))],
  }));
  // The migration creates billing_export as an empty stand-in; this points it at the real export,
  // right after the stand-in's step so the views that read the export see its current columns.
  if (options.billingExport) {
    const standIn = sql.findIndex((file) => file.name.endsWith(BILLING_EXPORT_STAND_IN));
    steps.splice(standIn === -1 ? steps.length : standIn + 1, 0, {
      title: `Reconcile with the Cloud Billing export ${options.billingExport}`,
      commands: [query(billingExportViewSql({ project, dataset }, options.billingExport))],
    });
  }
  return steps;
}

/**
 * Each function's account gets its table-level roles on exactly the tables it appends to and
 * reads (through views), after the migration created them. A dataset-wide Data Editor left by
 * an earlier deploy is revoked: it would let any function rewrite every table.
 */
function ledgerGrantSteps(inputs: DeployInputs, functions: readonly FunctionSpec[]): Step[] {
  const { project, dataset, bqLocation } = inputs.options;
  const emails = functions.map((f) => serviceAccountEmail(f.account, project));
  const steps: Step[] = functions.map((f) => {
    const grants = ledgerGrants(f.target, inputs.sql);
    const principal = member(serviceAccountEmail(f.account, project));
    const list = (role: CustomRole) =>
      grants.filter((g) => g.role.id === role.id).map((g) => g.table);
    return {
      title: `Ledger tables ${f.target} may touch: ${ALL_LEDGER_ROLES.map(
        (role) => [role, list(role)] as const,
      )
        .filter(([, tables]) => tables.length > 0)
        .map(([role, tables]) => `${role.id} on ${tables.join(', ')}`)
        .join('; ')}`,
      commands: grants.map((g) =>
        addBinding(
          { kind: 'table', project, dataset, table: g.table },
          principal,
          customRoleName(project, g.role),
        ),
      ),
    };
  });
  const revoke = (granted: readonly string[]): Command =>
    bqQuery(
      project,
      bqLocation,
      `REVOKE \`${BIGQUERY_DATA_EDITOR}\` ON SCHEMA \`${project}\`.${dataset} FROM ${granted
        .map((e) => `"${member(e)}"`)
        .join(', ')}`,
    );
  steps.push({
    title: `No function holds ${BIGQUERY_DATA_EDITOR} on the whole dataset ${dataset}`,
    note: 'revoked only where an earlier deploy granted it',
    commands: [],
    probe: {
      argv: showDataset(project, dataset, 'json'),
      choose: (found) => {
        const granted = found.ok ? emails.filter((e) => found.stdout.includes(e)) : [];
        return granted.length > 0 ? [revoke(granted)] : [];
      },
    },
  });
  return steps;
}

function topicStep(project: string): Step {
  const create = gcloud('pubsub', 'topics', 'create', BUDGET_TOPIC, `--project=${project}`);
  return {
    title: `Pub/Sub topic ${BUDGET_TOPIC} for budget alerts`,
    commands: [create],
    probe: {
      argv: describeTopic(project),
      choose: (found) => (found.ok ? [] : [create]),
    },
  };
}

/** What dry-run prints where a sink's writer identity is read at deploy time. */
export const SINK_WRITER_PLACEHOLDER = 'serviceAccount:SINK_WRITER_IDENTITY';

/**
 * Where a function's log entries come from in other projects: its topic, and in each project a
 * Logging sink of the entries it needs (preemption System Events, which Eventarc's audit log
 * triggers never carry; instance inserts, which they carry only for their own project), whose
 * writer identity may publish to the topic.
 */
function logRoutingSteps(route: LogRoute, host: string, projects: readonly string[]): Step[] {
  const { sink, topic: topicName, what } = route;
  const create = gcloud('pubsub', 'topics', 'create', topicName, `--project=${host}`);
  const destination = `pubsub.googleapis.com/projects/${host}/topics/${topicName}`;
  const topic: IamResource = { kind: 'topic', project: host, topic: topicName };
  return [
    {
      title: `Pub/Sub topic ${topicName} for ${what}`,
      commands: [create],
      probe: {
        argv: describeTopic(host, topicName),
        choose: (found) => (found.ok ? [] : [create]),
      },
    },
    ...projects.flatMap((p): Step[] => {
      const definition = [`--project=${p}`, `--log-filter=${route.filter(p)}`, '--quiet'];
      const createSink = gcloud('logging', 'sinks', 'create', sink, destination, ...definition);
      const updateSink = gcloud('logging', 'sinks', 'update', sink, destination, ...definition);
      return [
        {
          title: `Logging sink ${sink} in ${p}: its ${what} to ${topicName}`,
          commands: [createSink],
          probe: {
            argv: describeSink(sink, p),
            choose: (found) => [found.ok ? updateSink : createSink],
          },
        },
        {
          title: `The ${sink} sink of ${p} may publish to ${topicName} (${PUBSUB_PUBLISHER})`,
          commands: [addBinding(topic, SINK_WRITER_PLACEHOLDER, PUBSUB_PUBLISHER)],
          note: "the sink's writer identity is read with `gcloud logging sinks describe` at deploy time",
          probe: {
            argv: describeSink(sink, p),
            choose: (found) => {
              const writer = found.ok ? found.stdout.trim() : '';
              return writer === '' ? [] : [addBinding(topic, writer, PUBSUB_PUBLISHER)];
            },
          },
        },
      ];
    }),
  ];
}

/**
 * Whoever can publish to the budget topic decides what enforceBudget sees, so Cloud Billing's
 * budget agent is its only publisher: any other member holding a publishing role on the topic
 * is removed. (Project-wide roles such as Editor also publish; they are the project's to narrow.)
 */
function topicPublisherStep(project: string): Step {
  const topic: IamResource = { kind: 'topic', project, topic: BUDGET_TOPIC };
  const grant = addBinding(topic, BUDGET_PUBLISHER, PUBSUB_PUBLISHER);
  return {
    title: `Only Cloud Billing's budget agent may publish to ${BUDGET_TOPIC}: ${PUBSUB_PUBLISHER} for ${BUDGET_PUBLISHER}, any other publisher on the topic removed`,
    commands: [grant],
    probe: {
      argv: getPolicy(topic),
      choose: (found) => {
        const wider = bindingsOf(found)
          .filter((b) => TOPIC_PUBLISHING_ROLES.includes(b.role))
          .flatMap((b) =>
            b.members
              .filter((m) => m !== BUDGET_PUBLISHER)
              .map((m) => removeBinding(topic, m, b.role)),
          );
        const granted = rolesHeld(found, BUDGET_PUBLISHER).includes(PUBSUB_PUBLISHER);
        return [...wider, ...(granted ? [] : [grant])];
      },
    },
  };
}

/** Budget thresholds are the policy's tiers, so an alert arrives exactly where a tier starts. */
export function thresholdPercents(inputs: DeployInputs): string[] {
  return inputs.budgetPolicy.tiers.map((t) => String(t.at));
}

function budgetStep(inputs: DeployInputs): Step {
  const { project, billingAccount, budgetAmount, projects } = inputs.options;
  const scope = [
    `--filter-projects=${projects.map((p) => `projects/${p}`).join(',')}`,
    `--notifications-rule-pubsub-topic=projects/${project}/topics/${BUDGET_TOPIC}`,
    '--calendar-period=month',
  ];
  const thresholds = thresholdPercents(inputs);
  const create = gcloud(
    'billing',
    'budgets',
    'create',
    `--billing-account=${billingAccount}`,
    `--display-name=${budgetDisplayName(project)}`,
    budgetAmount ? `--budget-amount=${budgetAmount}` : '--last-period-amount',
    ...scope,
    ...thresholds.map((p) => `--threshold-rule=percent=${p}`),
    '--quiet',
  );
  const update = (id: string): Command =>
    gcloud(
      'billing',
      'budgets',
      'update',
      id,
      `--billing-account=${billingAccount}`,
      ...(budgetAmount ? [`--budget-amount=${budgetAmount}`] : []),
      ...scope,
      '--clear-threshold-rules',
      ...thresholds.map((p) => `--add-threshold-rule=percent=${p}`),
      '--quiet',
    );
  return {
    title: `Budget ${budgetDisplayName(project)} on ${billingAccount}, alerting at ${thresholds
      .map((p) => `${Math.round(Number(p) * 100)}%`)
      .join(', ')} of ${budgetAmount ?? "last month's spend"} to ${BUDGET_TOPIC}`,
    commands: [create],
    probe: {
      argv: listBudgets(billingAccount, project),
      choose: (found) => {
        const [id] = found.ok ? budgetIds(found.stdout) : [];
        return id ? [update(id)] : [create];
      },
    },
  };
}

/** A Slack secret in Secret Manager, which variable fills it, and which functions read it. */
interface SecretSpec {
  readonly secret: string;
  readonly variable: string;
  readonly what: string;
  /** The deploy option that needs it, named when the variable is missing. */
  readonly neededBy: string;
}

const BOT_TOKEN: SecretSpec = {
  secret: SLACK_SECRET,
  variable: SLACK_TOKEN_VARIABLE,
  what: 'Slack bot token',
  neededBy: '--slack-channel',
};
const SIGNING_SECRET: SecretSpec = {
  secret: SLACK_SIGNING_SECRET,
  variable: SLACK_SIGNING_VARIABLE,
  what: "Slack app's signing secret",
  neededBy: '--slack-actors',
};

function secretSteps(
  inputs: DeployInputs,
  emails: readonly string[],
  spec: SecretSpec = BOT_TOKEN,
): Step[] {
  const { project } = inputs.options;
  const { secret, variable, what, neededBy } = spec;
  const create = gcloud(
    'secrets',
    'create',
    secret,
    `--project=${project}`,
    '--replication-policy=automatic',
    '--quiet',
  );
  const addVersion: Command = {
    ...gcloud(
      'secrets',
      'versions',
      'add',
      secret,
      `--project=${project}`,
      '--data-file=-',
      '--quiet',
    ),
    stdinFrom: variable,
  };
  return [
    {
      title: `Secret ${secret} for the ${what}`,
      commands: [create],
      probe: {
        argv: describeSecret(project, secret),
        choose: (found) => (found.ok ? [] : [create]),
      },
    },
    {
      title: `${what.charAt(0).toUpperCase()}${what.slice(1)} from $${variable} into ${secret}`,
      note: `read from stdin, only when $${variable} is set and differs from the stored version`,
      commands: [addVersion],
      probe: {
        argv: [
          'gcloud',
          'secrets',
          'versions',
          'access',
          'latest',
          `--secret=${secret}`,
          `--project=${project}`,
        ],
        choose: (stored, env) => {
          const token = env[variable]?.trim();
          if (token) return stored.ok && stored.stdout.trim() === token ? [] : [addVersion];
          if (stored.ok) return [];
          throw new UsageError(
            `${neededBy} needs the ${what}: set ${variable} in the environment (it is sent to Secret Manager on stdin)`,
          );
        },
      },
    },
    {
      title: `Let ${emails.length === 1 ? 'its function' : 'each function'} read ${secret} (and no other secret)`,
      commands: emails.map((email) =>
        addBinding({ kind: 'secret', project, secret }, member(email), SECRET_ACCESSOR),
      ),
    },
  ];
}

function triggerFlags(spec: FunctionSpec, inputs: DeployInputs): string[] {
  const { project } = inputs.options;
  const events = serviceAccountEmail(EVENTS_ACCOUNT, project);
  switch (spec.trigger.kind) {
    case 'scheduled':
    case 'http-api':
    case 'slack-interactivity':
      return ['--trigger-http'];
    case 'budget-topic':
      return [`--trigger-topic=${BUDGET_TOPIC}`, `--trigger-service-account=${events}`];
    case 'preemption-sink':
      return [`--trigger-topic=${PREEMPTION_TOPIC}`, `--trigger-service-account=${events}`];
    case 'instance-inserts':
      return [
        '--trigger-event-filters=type=google.cloud.audit.log.v1.written',
        '--trigger-event-filters=serviceName=compute.googleapis.com',
        `--trigger-event-filters=methodName=${INSERT_METHODS[0]}`,
        `--trigger-location=${AUDIT_TRIGGER_LOCATION}`,
        `--trigger-service-account=${events}`,
      ];
  }
}

/** The versions of the Slack secrets a function mounts. */
interface SecretVersions {
  readonly token: string;
  readonly signing: string;
}

/**
 * Slack secrets are mounted at fixed versions, the newest enabled when deploy runs (a version
 * stored later reaches no function until the next deploy); `:latest` would let whoever may add
 * a version change what every function posts with, or which requests slackActions believes,
 * without a deploy.
 */
function slackSecretsFlag(withSigning: boolean, versions: SecretVersions): string {
  const mounts = [
    `${SLACK_TOKEN_VARIABLE}=${SLACK_SECRET}:${versions.token}`,
    ...(withSigning
      ? [`${SLACK_SIGNING_VARIABLE}=${SLACK_SIGNING_SECRET}:${versions.signing}`]
      : []),
  ];
  return `--set-secrets=${mounts.join(',')}`;
}

/** The version number a secret probe answered, or a clear refusal to deploy without one. */
function pinnedVersion(found: ProbeOutcome | undefined, secret: string, variable: string): string {
  const version = secretVersionOf(found ?? { ok: false, stdout: '' });
  if (!version) {
    throw new UsageError(
      `${secret} has no enabled version to mount; set ${variable} and deploy again`,
    );
  }
  return version;
}

function functionStep(spec: FunctionSpec, inputs: DeployInputs): Step {
  const { project, region, sourceDir, slackChannel, billingAccount } = inputs.options;
  const env = functionEnvironment(spec, inputs);
  const isPublic = spec.trigger.kind === 'slack-interactivity';
  const deploy = (settings: Record<string, string>, versions: SecretVersions): Command =>
    gcloud(
      'functions',
      'deploy',
      spec.name,
      '--gen2',
      `--project=${project}`,
      `--region=${region}`,
      `--runtime=${RUNTIME}`,
      `--source=${sourceDir}`,
      `--entry-point=${spec.target}`,
      `--service-account=${serviceAccountEmail(spec.account, project)}`,
      `--memory=${spec.memory}`,
      `--timeout=${spec.timeoutSeconds}s`,
      `--max-instances=${spec.maxInstances}`,
      // Slack cannot send a Google identity token: slackActions is public, and the request
      // signature it checks over every raw body is its authentication.
      isPublic ? '--allow-unauthenticated' : '--no-allow-unauthenticated',
      ...triggerFlags(spec, inputs),
      ...(spec.retry ? ['--retry'] : []),
      envVarsFlag(settings),
      slackChannel ? slackSecretsFlag(isPublic, versions) : '--clear-secrets',
      '--quiet',
    );
  const trustsBudget = spec.target === 'enforceBudget';
  const step: Step = {
    title: `Function ${spec.name} (${spec.target}): ${spec.memory}, ${spec.timeoutSeconds}s, at most ${spec.maxInstances} instance(s)`,
    commands: [deploy(env, { token: FIRST_SECRET_VERSION, signing: FIRST_SECRET_VERSION })],
  };
  if (!trustsBudget && !slackChannel) return step;
  // What the deploy reads first, in this order: the budget's id, the token's version, the
  // signing secret's version (slackActions only).
  const reads = [
    ...(trustsBudget ? [listBudgets(billingAccount, project)] : []),
    ...(slackChannel ? [latestSecretVersion(project, SLACK_SECRET)] : []),
    ...(isPublic ? [latestSecretVersion(project, SLACK_SIGNING_SECRET)] : []),
  ];
  const notes = [
    // enforceBudget believes only the deployed budget, whose id exists once the budget step ran.
    ...(trustsBudget
      ? [
          `${BUDGET_IDS_VARIABLE} is the id of budget ${budgetDisplayName(project)}, read with \`gcloud billing budgets list\` at deploy time`,
        ]
      : []),
    // Secrets are pinned to the version stored now, never `latest`: a version added later
    // reaches the function only through the next deploy.
    ...(slackChannel
      ? [
          `the Slack token is mounted at the newest enabled version of ${SLACK_SECRET} at deploy time (${FIRST_SECRET_VERSION} on a fresh project)`,
        ]
      : []),
    ...(isPublic
      ? [
          `${SLACK_SIGNING_VARIABLE} is pinned to the newest enabled version of ${SLACK_SIGNING_SECRET}, read at deploy time`,
        ]
      : []),
  ];
  return {
    ...step,
    note: notes.join('; '),
    probe: {
      argv: reads[0] ?? [],
      more: reads.slice(1),
      choose: (first, _env, more = []) => {
        const answers = [first, ...more];
        const settings = { ...env };
        if (trustsBudget) {
          const found = answers.shift() ?? { ok: false, stdout: '' };
          const ids = (found.ok ? budgetIds(found.stdout) : []).filter((id) => BUDGET_ID.test(id));
          if (ids.length === 0) {
            throw new UsageError(
              `Budget ${budgetDisplayName(project)} was not found on billing account ${billingAccount}; enforceBudget acts only on its notifications`,
            );
          }
          settings[BUDGET_IDS_VARIABLE] = ids.join(',');
        }
        const token = slackChannel
          ? pinnedVersion(answers.shift(), SLACK_SECRET, SLACK_TOKEN_VARIABLE)
          : FIRST_SECRET_VERSION;
        const signing = isPublic
          ? pinnedVersion(answers.shift(), SLACK_SIGNING_SECRET, SLACK_SIGNING_VARIABLE)
          : FIRST_SECRET_VERSION;
        return [deploy(settings, { token, signing })];
      },
    },
  };
}

function invokerStep(
  spec: FunctionSpec,
  principals: readonly string[],
  inputs: DeployInputs,
): Step {
  const { project, region } = inputs.options;
  return {
    title: `Who may invoke ${spec.name}: ${principals.join(', ')}`,
    commands: principals.map((principal) => ({
      ...gcloud(
        'functions',
        'add-invoker-policy-binding',
        spec.name,
        `--region=${region}`,
        `--project=${project}`,
        `--member=${principal}`,
        '--format=none',
        '--quiet',
      ),
      retryUntilPropagated: true,
    })),
  };
}

/** An Eventarc trigger besides the function's own, created or brought up to date. */
function extraTriggerStep(
  title: string,
  trigger: {
    readonly name: string;
    readonly location: string;
    readonly flags: string[];
    /** Flags only `create` takes (a trigger's transport topic cannot change). */
    readonly createFlags?: string[];
  },
  inputs: DeployInputs,
): Step {
  const { project, region } = inputs.options;
  const spec = functionSpec('enforceLabelsOnCreate');
  const target = [
    `--destination-run-service=${spec.name}`,
    `--destination-run-region=${region}`,
    `--service-account=${serviceAccountEmail(EVENTS_ACCOUNT, project)}`,
  ];
  const where = eventarcTriggerArgs(trigger.name, trigger.location, project);
  const create = gcloud(
    'eventarc',
    'triggers',
    'create',
    ...where,
    ...target,
    ...(trigger.createFlags ?? []),
    ...trigger.flags,
  );
  const update = gcloud('eventarc', 'triggers', 'update', ...where, ...target, ...trigger.flags);
  return {
    title,
    commands: [create],
    probe: {
      argv: describeEventarcTrigger(trigger.name, trigger.location, project),
      choose: (found) => [found.ok ? update : create],
    },
  };
}

function betaInsertTriggerStep(inputs: DeployInputs): Step {
  const spec = functionSpec('enforceLabelsOnCreate');
  return extraTriggerStep(
    `Eventarc trigger ${BETA_INSERT_TRIGGER}: ${INSERT_METHODS[1]} audit logs to ${spec.name} (the function's own trigger takes ${INSERT_METHODS[0]})`,
    {
      name: BETA_INSERT_TRIGGER,
      location: AUDIT_TRIGGER_LOCATION,
      flags: [
        '--event-filters=type=google.cloud.audit.log.v1.written',
        '--event-filters=serviceName=compute.googleapis.com',
        `--event-filters=methodName=${INSERT_METHODS[1]}`,
        '--quiet',
      ],
    },
    inputs,
  );
}

/** The inserts of the other governed projects, published by their sinks, reach the function. */
function insertTopicTriggerStep(inputs: DeployInputs): Step {
  const { project, region } = inputs.options;
  const spec = functionSpec('enforceLabelsOnCreate');
  return extraTriggerStep(
    `Eventarc trigger ${INSERT_TOPIC_TRIGGER}: ${INSERT_TOPIC} (inserts in ${insertSinkProjects(inputs.options).join(', ')}) to ${spec.name}`,
    {
      name: INSERT_TOPIC_TRIGGER,
      location: region,
      createFlags: [`--transport-topic=projects/${project}/topics/${INSERT_TOPIC}`],
      flags: ['--event-filters=type=google.cloud.pubsub.topic.v1.messagePublished', '--quiet'],
    },
    inputs,
  );
}

function schedulerStep(spec: FunctionSpec, inputs: DeployInputs): Step {
  if (spec.trigger.kind !== 'scheduled') throw new Error(`${spec.target} is not scheduled`);
  const { project, region } = inputs.options;
  const url = functionUrl(spec.name, project, region);
  const where = schedulerJobArgs(spec.trigger.job, region, project);
  const job = [
    `--schedule=${spec.trigger.schedule}`,
    '--time-zone=Etc/UTC',
    `--uri=${url}`,
    '--http-method=POST',
    '--message-body={}',
    `--oidc-service-account-email=${serviceAccountEmail(SCHEDULER_ACCOUNT, project)}`,
    `--oidc-token-audience=${url}`,
    `--attempt-deadline=${spec.timeoutSeconds}s`,
    `--description=costguard: calls ${spec.target}`,
  ];
  const create = gcloud(
    'scheduler',
    'jobs',
    'create',
    'http',
    ...where,
    ...job,
    '--headers=Content-Type=application/json',
    '--quiet',
  );
  const update = gcloud(
    'scheduler',
    'jobs',
    'update',
    'http',
    ...where,
    ...job,
    '--update-headers=Content-Type=application/json',
    '--quiet',
  );
  return {
    title: `Cloud Scheduler job ${spec.trigger.job}: ${spec.target} at "${spec.trigger.schedule}" (UTC) with an OIDC token`,
    commands: [create],
    probe: {
      argv: describeSchedulerJob(spec.trigger.job, region, project),
      choose: (found) => [found.ok ? update : create],
    },
  };
}

/**
 * The resume tick: Cloud Scheduler publishes `{"task":"resume-runs"}` to the preemptions topic
 * every 5 minutes, and recordPreemption starts the next attempt of every run whose backoff is
 * over. Without it a run waiting out its backoff would resume only when someone reads it.
 */
function resumeJobStep(inputs: DeployInputs): Step {
  const { project, region } = inputs.options;
  const where = schedulerJobArgs(RESUME_JOB.name, region, project);
  const job = [
    `--schedule=${RESUME_JOB.schedule}`,
    '--time-zone=Etc/UTC',
    `--topic=${PREEMPTION_TOPIC}`,
    `--message-body=${RESUME_JOB.message}`,
    '--description=costguard: resumes preempted runs whose backoff is over',
    '--quiet',
  ];
  const create = gcloud('scheduler', 'jobs', 'create', 'pubsub', ...where, ...job);
  const update = gcloud('scheduler', 'jobs', 'update', 'pubsub', ...where, ...job);
  return {
    title: `Cloud Scheduler job ${RESUME_JOB.name}: the resume tick to ${PREEMPTION_TOPIC} at "${RESUME_JOB.schedule}" (UTC)`,
    commands: [create],
    probe: {
      argv: describeSchedulerJob(RESUME_JOB.name, region, project),
      choose: (found) => [found.ok ? update : create],
    },
  };
}

/**
 * What a function that acts on pipeline runs may do: triggerRun; recordPreemption, which starts
 * a preempted run's VM again for its next attempt; and slackActions, whose *Cancel run* stops a
 * run's VM or cancels its Cloud Run job execution.
 */
function pipelineSteps(inputs: DeployInputs, who: RunActor): Step[] {
  const runs = member(serviceAccountEmail(functionSpec(who).account, inputs.options.project));
  const steps: Step[] = pipelineProjects(inputs.pipelines).map((project) => ({
    title: `Let ${who} wait on Compute operations and read machine types in ${project}`,
    commands: [bindOnProject(runObserverGrant(inputs.options.project, project, who))],
  }));
  for (const pipeline of inputs.pipelines) steps.push(...pipelineBindingSteps(pipeline, runs, who));
  for (const { bucket, project } of pipelineBuckets(inputs.pipelines)) {
    steps.push({
      title: `${who} may read run results in gs://${bucket}`,
      commands: [addBinding({ kind: 'bucket', project, bucket }, runs, OBJECT_VIEWER)],
    });
  }
  return steps;
}

function bindOnProject(grant: ProjectGrant): Command {
  return addBinding({ kind: 'project', project: grant.project }, grant.principal, grant.role);
}

/** What each function that acts on runs may do on a batch VM (its `batchVmRole`). */
const VM_ABILITIES: Readonly<Record<RunActor, string>> = {
  triggerRun: 'start, stop, label and set metadata',
  recordPreemption: 'start, stop and set metadata',
  slackActions: 'stop and set metadata',
};

/** `PROJECT_NUMBER-compute@developer.gserviceaccount.com`, Editor on its project by default. */
const DEFAULT_COMPUTE_ACCOUNT = /^\d+-compute@developer\.gserviceaccount\.com$/;

function pipelineBindingSteps(pipeline: PipelineBinding, runs: string, who: RunActor): Step[] {
  const { project } = pipeline;
  const steps: Step[] = [];
  for (const { zone, instance } of pipeline.vms ?? []) {
    steps.push({
      title: `Pipeline ${pipeline.name}: ${who} may ${VM_ABILITIES[who]} on VM ${project}/${zone}/${instance} only`,
      commands: [
        addBinding(
          { kind: 'instance', project, zone, instance },
          runs,
          customRoleName(project, batchVmRole(who)),
        ),
      ],
    });
    const actAs = (email: string): Command =>
      addBinding({ kind: 'service-account', project, email }, runs, SERVICE_ACCOUNT_USER);
    steps.push({
      title: `Pipeline ${pipeline.name}: ${who} may act as the service account of VM ${instance} (setMetadata on a VM that runs as one needs it)`,
      note: 'the VM service account is read with `gcloud compute instances describe` at run time',
      commands: [actAs(VM_SERVICE_ACCOUNT_PLACEHOLDER)],
      probe: {
        argv: describeVmServiceAccount(project, zone, instance),
        choose: (found) => {
          const email = found.ok ? found.stdout.trim() : '';
          if (!found.ok) {
            throw new UsageError(
              `Pipeline ${pipeline.name}: VM ${project}/${zone}/${instance} was not found; create it before deploying`,
            );
          }
          if (DEFAULT_COMPUTE_ACCOUNT.test(email)) {
            throw new UsageError(
              `Pipeline ${pipeline.name}: VM ${project}/${zone}/${instance} runs as the default Compute service account ${email}, which usually holds Editor; whoever sets its metadata would run code with that. Give the VM its own account with only read on the source and write on the results bucket: gcloud iam service-accounts create ${instance}-runner --project=${project}, then with the VM stopped gcloud compute instances set-service-account ${instance} --zone=${zone} --project=${project} --service-account=${instance}-runner@${project}.iam.gserviceaccount.com --scopes=cloud-platform`,
            );
          }
          return email ? [actAs(email)] : [];
        },
      },
    });
  }
  if (pipeline.job) {
    steps.push({
      title: `Pipeline ${pipeline.name}: ${who} may run and cancel Cloud Run job ${pipeline.job.name} only`,
      commands: [
        addBinding(
          { kind: 'run-job', project, region: pipeline.job.region, job: pipeline.job.name },
          runs,
          customRoleName(project, ROLES.runJob),
        ),
      ],
    });
  }
  return steps;
}

export function planDeploy(inputs: DeployInputs): Plan {
  const { options } = inputs;
  const { project, projects } = options;
  const functions = deployedFunctions(inputs);
  const emailOf = (spec: FunctionSpec) => serviceAccountEmail(spec.account, project);
  const functionEmails = functions.map(emailOf);
  const schedulerEmail = serviceAccountEmail(SCHEDULER_ACCOUNT, project);
  const eventsEmail = serviceAccountEmail(EVENTS_ACCOUNT, project);

  const steps: Step[] = [
    {
      title: `Enable the APIs costguard uses in ${project}`,
      commands: [
        gcloud(
          'services',
          'enable',
          ...SERVICES,
          // triggerRun asks Cloud Identity whether a caller is in a pipeline's invoker group.
          ...(inputs.pipelines.some((p) => p.invokers.some((i) => i.startsWith('group:')))
            ? [CLOUD_IDENTITY_SERVICE]
            : []),
          `--project=${project}`,
          '--quiet',
        ),
      ],
    },
    ...functions.map((f) => serviceAccountStep(project, f.account, `${f.target} function`)),
    serviceAccountStep(project, SCHEDULER_ACCOUNT, 'Cloud Scheduler invoker'),
    serviceAccountStep(project, EVENTS_ACCOUNT, 'Eventarc trigger identity'),
    ...projects.flatMap((p) =>
      GOVERNED_PROJECT_ROLES.map((role) => customRoleStep(p, roleForPolicy(role, inputs))),
    ),
    ...ALL_LEDGER_ROLES.map((role) => customRoleStep(project, role)),
    ...pipelineProjects(inputs.pipelines).flatMap((p) =>
      PIPELINE_PROJECT_ROLES.map((role) => customRoleStep(p, role)),
    ),
    ...functions.map((f): Step => {
      const accounts = billingAccountsRead(f, inputs);
      return {
        title: `Roles of ${emailOf(f)}: ${[
          ...PROJECT_ROLES[f.target].map((r) => `${r.id} in ${projects.join(', ')}`),
          `${BIGQUERY_JOB_USER} in ${project}`,
          ...accounts.map((a) => `${BILLING_VIEWER} on ${a}`),
        ].join('; ')}`,
        commands: [
          ...functionProjectGrants(f, options).map(bindOnProject),
          ...accounts.map((account) =>
            addBinding({ kind: 'billing-account', account }, member(emailOf(f)), BILLING_VIEWER),
          ),
        ],
      };
    }),
    {
      title: `Let ${eventsEmail} receive Eventarc events (${EVENT_RECEIVER})`,
      commands: [bindOnProject(eventReceiverGrant(project))],
    },
    datasetStep(inputs),
    ...migrationSteps(inputs),
    ...ledgerGrantSteps(inputs, functions),
    topicStep(project),
    topicPublisherStep(project),
    budgetStep(inputs),
    ...(functions.some((f) => f.target === 'recordPreemption')
      ? logRoutingSteps(PREEMPTION_ROUTE, project, projects)
      : []),
    ...(functions.some((f) => f.target === 'enforceLabelsOnCreate') &&
    insertSinkProjects(options).length > 0
      ? logRoutingSteps(INSERT_ROUTE, project, insertSinkProjects(options))
      : []),
    ...(options.slackChannel ? secretSteps(inputs, functionEmails) : []),
    ...(functions.some((f) => f.target === 'slackActions')
      ? secretSteps(inputs, [emailOf(functionSpec('slackActions'))], SIGNING_SECRET)
      : []),
    ...functions.map((f) => functionStep(f, inputs)),
    ...functions
      .map((f) => {
        const principals =
          f.trigger.kind === 'scheduled'
            ? [member(schedulerEmail)]
            : f.trigger.kind === 'http-api'
              ? [...new Set([...options.runInvokers, ...pipelineInvokers(inputs.pipelines)])]
              : f.trigger.kind === 'slack-interactivity'
                ? []
                : [member(eventsEmail)];
        return invokerStep(f, principals, inputs);
      })
      .filter((s) => s.commands.length > 0),
    betaInsertTriggerStep(inputs),
    ...(functions.some((f) => f.target === 'enforceLabelsOnCreate') &&
    insertSinkProjects(options).length > 0
      ? [insertTopicTriggerStep(inputs)]
      : []),
    ...functions.filter((f) => f.trigger.kind === 'scheduled').map((f) => schedulerStep(f, inputs)),
    ...(functions.some((f) => f.target === 'triggerRun')
      ? [
          ...pipelineSteps(inputs, 'triggerRun'),
          // recordPreemption starts a preempted run's VM again; it never touches Cloud Run jobs.
          ...pipelineSteps(
            { ...inputs, pipelines: inputs.pipelines.filter((p) => p.vms) },
            'recordPreemption',
          ),
          ...(functions.some((f) => f.target === 'recordPreemption') &&
          inputs.pipelines.some((p) => p.resumes)
            ? [resumeJobStep(inputs)]
            : []),
        ]
      : []),
    // Cancel run from Slack goes through the run service as the trigger's own cancel does.
    ...(functions.some((f) => f.target === 'slackActions') && inputs.pipelines.length > 0
      ? pipelineSteps(inputs, 'slackActions')
      : []),
  ];
  return { steps, summary: deploySummary(inputs, functions) };
}
