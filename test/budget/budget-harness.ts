/**
 * What the budget tests share: a sandbox with the Budgets and Resource Manager modules and the
 * budget fleet, the enforcer's own tables migrated, the function served by functions-framework
 * on a loopback port, and readers for what a user would look at afterwards.
 */
import { Ledger } from '../../functions/adapters/bigquery.js';
import { BudgetDirectory } from '../../functions/adapters/budgets.js';
import { ProjectDirectory } from '../../functions/adapters/projects.js';
import {
  createBudgetEnforcer,
  type BudgetEnforcer,
  type BudgetEnforcerConfig,
  type BudgetEnforcerDeps,
} from '../../functions/budget/enforce-budget.js';
import { BigQueryEnforcementLedger } from '../../functions/budget/enforcement-ledger.js';
import { budgetSettings } from '../../functions/budget/policy.js';
import { readConfig } from '../../functions/core/config.js';
import { buildEnforceBudget, type BudgetEntryOverrides } from '../../functions/budget/entry.js';
import {
  budgetNotificationEvent,
  type BudgetFigures,
} from '../../functions/sandbox/demos/budget-notifications.js';
import type { FleetFixture } from '../../functions/sandbox/fleet.js';
import { putBudget } from '../../functions/sandbox/routes/billing-budgets.js';
import { slackState, type CapturedSlackMessage } from '../../functions/sandbox/routes/slack.js';
import { serveTarget, type ServedTarget } from '../../functions/sandbox/serve-target.js';
import { loadFixture } from '../support/fixtures.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';
import { capabilitySqlRoot } from '../support/sql.js';
import { spotPrices } from '../support/stand-ins.js';

export const ACCOUNT = '01D4EE-079462-DFD6EC';
export const BUDGET_ID = 'de72f49d-779b-4945-a127-4d6ce8def0bb';
export const PERIOD = '2026-11-01T07:00:00.000Z';
export const NEXT_PERIOD = '2026-12-01T08:00:00.000Z';
export const DATASET = 'costguard';

/** Spot prices per hour by machine type, for the typed stand-in of the pricing engine. */
export const SPOT_PRICES: Readonly<Record<string, number>> = {
  'a2-highgpu-1g': 1.4696,
  'g2-standard-8': 0.3412,
  'n2-standard-16': 0.3104,
  'c2-standard-8': 0.1694,
  'n2-standard-8': 0.1552,
  'n2-standard-4': 0.0776,
  'e2-standard-4': 0.0449,
  'n1-standard-4': 0.0401,
};

export const fakePrices = spotPrices(SPOT_PRICES);

export const BASE_ENV: Readonly<Record<string, string>> = {
  COSTGUARD_PROJECTS: 'ml-training-prod,data-pipelines',
  COSTGUARD_DATASET: DATASET,
  COSTGUARD_SLACK_CHANNEL: 'C0FINOPS',
  SLACK_BOT_TOKEN: 'xoxb-sandbox-not-a-secret',
  COSTGUARD_BUDGET_ENFORCE: 'true',
  COSTGUARD_BILLING_ACCOUNT: ACCOUNT,
  COSTGUARD_BUDGET_IDS: BUDGET_ID,
};

export interface Delivery {
  status: number;
}

let served = 0;

export class BudgetHarness {
  readonly ledger: Ledger;
  private target: ServedTarget | undefined;
  private readonly targets: ServedTarget[] = [];

  private constructor(
    readonly sandbox: Sandbox,
    readonly runtime: ReturnType<typeof sandboxRuntime>,
  ) {
    this.ledger = new Ledger(() => runtime.clients.bigquery('ml-training-prod', 'US'), {
      project: 'ml-training-prod',
      dataset: DATASET,
      location: 'US',
      logger: runtime.logger,
      // Only the enforcer's tables (and the holds put from Slack), so other DDL stays out.
      sqlRoot: capabilitySqlRoot(/^(2\d|45)_/),
      retry: { baseDelayMs: 1 },
    });
  }

  static async start(
    options: {
      env?: Record<string, string>;
      fleet?: FleetFixture;
      budget?: Record<string, unknown>;
      overrides?: BudgetEntryOverrides;
    } = {},
  ): Promise<BudgetHarness> {
    const sandbox = await startTestSandbox(
      options.fleet ?? loadFixture<FleetFixture>('budget/fleet.json'),
      {},
    );
    putBudget(
      sandbox,
      options.budget ?? loadFixture<Record<string, unknown>>('budget/get-budget.json'),
    );
    const runtime = sandboxRuntime(sandbox, { ...BASE_ENV, ...options.env });
    const harness = new BudgetHarness(sandbox, runtime);
    await harness.ledger.migrate();
    await harness.serve(options.overrides);
    return harness;
  }

  /**
   * The enforcer itself, past the CloudEvent edge, on the sandbox's adapters: `fleet` and
   * `notifier` as the test builds them, any other port replaced by `overrides`, and the policy
   * and settings of `config` over the harness's.
   */
  enforcer(
    base: Pick<BudgetEnforcerDeps, 'fleet' | 'notifier'>,
    overrides: Partial<BudgetEnforcerDeps> = {},
    config: Partial<BudgetEnforcerConfig> = {},
  ): BudgetEnforcer {
    const { runtime } = this;
    const { logger } = runtime;
    return createBudgetEnforcer({
      ...base,
      budgets: new BudgetDirectory(() => runtime.clients.budgets(), { logger }),
      projects: new ProjectDirectory(() => runtime.clients.projects(), { logger }),
      prices: fakePrices,
      ledger: new BigQueryEnforcementLedger(this.ledger),
      logger,
      clock: this.sandbox.clock,
      ...overrides,
      config: {
        policy: readConfig(budgetSettings, {}).policy,
        projects: ['ml-training-prod', 'data-pipelines'],
        enforce: true,
        stopConcurrency: 4,
        dashboardUrl: undefined,
        trusted: { billingAccount: ACCOUNT, budgetIds: [BUDGET_ID] },
        ...config,
      },
    });
  }

  /**
   * Serves a fresh enforceBudget under a new target name: a new function instance, with its
   * own lock, optionally with more settings on top of the harness's. Later deliveries go to it.
   */
  async serve(
    overrides: BudgetEntryOverrides = {},
    env: Record<string, string> = {},
  ): Promise<ServedTarget> {
    const runtime =
      Object.keys(env).length === 0
        ? this.runtime
        : { ...this.runtime, env: { ...this.runtime.env, ...env } };
    const target = await serveTarget(`enforceBudget-test-${++served}`, {
      kind: 'event',
      handler: await buildEnforceBudget(runtime, { prices: fakePrices, ...overrides }),
    });
    this.targets.push(target);
    this.target = target;
    return target;
  }

  /** Posts a structured CloudEvent, as Eventarc does for a gen2 function. */
  async deliver(event: unknown, target = this.target): Promise<Delivery> {
    return this.post(target, '/', JSON.stringify(event), 'application/cloudevents+json');
  }

  /** Posts the raw push body, as a Pub/Sub push subscription or the emulator does. */
  async push(body: unknown, target = this.target): Promise<Delivery> {
    return this.post(
      target,
      '/projects/costguard-ops/topics/budget-alerts',
      JSON.stringify(body),
      'application/json',
    );
  }

  async notify(figures: Partial<BudgetFigures> & { costAmount: number }, target = this.target) {
    return this.deliver(budgetNotificationEvent(this.figures(figures)), target);
  }

  figures(figures: Partial<BudgetFigures> & { costAmount: number }): BudgetFigures {
    return {
      billingAccountId: ACCOUNT,
      budgetId: BUDGET_ID,
      budgetDisplayName: 'Spot ML training',
      budgetAmount: 5000,
      costIntervalStart: PERIOD,
      publishTime: this.sandbox.clock.now().toISOString(),
      ...figures,
    };
  }

  /** The body a Pub/Sub push subscription posts: the CloudEvent's data, before conversion. */
  pushBody(figures: Partial<BudgetFigures> & { costAmount: number }): unknown {
    return budgetNotificationEvent(this.figures(figures)).data;
  }

  private async post(
    target: ServedTarget | undefined,
    path: string,
    body: string,
    contentType: string,
  ): Promise<Delivery> {
    if (!target) throw new Error('no function served');
    // Deliveries are never simultaneous with the previous one's records (Pub/Sub backs off 10 s
    // at least), so the latest row per key is well defined.
    this.sandbox.clock.advance(10_000);
    const response = await fetch(new URL(path, target.url), {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });
    await response.arrayBuffer();
    return { status: response.status };
  }

  /** A VM's status, as the sandbox sees it. */
  status(name: string): string | undefined {
    return this.sandbox.fleet.all().find((vm) => vm.name === name)?.status;
  }

  /** Names of the VMs that are running now, sorted. */
  runningNames(): string[] {
    return this.sandbox.fleet
      .all()
      .filter((vm) => vm.status === 'RUNNING')
      .map((vm) => vm.name)
      .sort();
  }

  /** Names of the VMs that were running and have since been stopped, sorted. */
  stoppedNames(): string[] {
    return this.sandbox.fleet
      .all()
      .filter(
        (vm) =>
          vm.history.some((h) => h.status === 'TERMINATED') && vm.history[0]?.status === 'RUNNING',
      )
      .map((vm) => vm.name)
      .sort();
  }

  /** Stop operations Compute performed, per VM name (a second stop would show as 2). */
  stopOperations(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const op of this.sandbox.fleet.operations) {
      if (op.operationType === 'stop') out[op.targetName] = (out[op.targetName] ?? 0) + 1;
    }
    return out;
  }

  slack(): CapturedSlackMessage[] {
    return slackState(this.sandbox).messages;
  }

  /** The latest action per VM decision, as a dashboard would read it. */
  async actions(): Promise<ActionView[]> {
    return this.ledger.query<ActionView>(
      `SELECT instance_name, project_id, CAST(tier AS FLOAT64) AS tier, action, priority, CAST(hourly_cost AS FLOAT64) AS hourly_cost,
              dry_run, request_id, reason, CAST(cost_interval_start AS STRING) AS period
       FROM \`\${dataset}.enforcement_actions\`
       QUALIFY ROW_NUMBER() OVER (
         PARTITION BY row_key
         ORDER BY recorded_at DESC, CASE WHEN action = 'STOPPING' THEN 1 ELSE 0 END
       ) = 1
       ORDER BY instance_name, tier, cost_interval_start`,
    );
  }

  async notifications(): Promise<NotificationView[]> {
    return this.ledger.query<NotificationView>(
      `SELECT message_id, outcome, CAST(tier AS FLOAT64) AS tier, stopped, failed, spared,
              CAST(saving_per_hour AS FLOAT64) AS saving_per_hour, dry_run, slack_ts, reason
       FROM \`\${dataset}.budget_notifications\`
       ORDER BY recorded_at, outcome`,
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.targets.map((t) => t.close()));
    await this.sandbox.close();
  }
}

export interface ActionView {
  instance_name: string;
  project_id: string;
  tier: number;
  action: string;
  priority: string;
  hourly_cost: number | null;
  dry_run: boolean;
  request_id: string | null;
  reason: string;
  period: string;
}

export interface NotificationView {
  message_id: string;
  outcome: string;
  tier: number | null;
  stopped: number;
  failed: number;
  spared: number;
  saving_per_hour: number | null;
  dry_run: boolean;
  slack_ts: string | null;
  reason: string;
}
