import { Ledger } from '../../functions/adapters/bigquery.js';
import type { PricedMachine, PriceLookup } from '../../functions/core/pricing.js';
import { setProjectLabels } from '../../functions/sandbox/routes/resource-manager.js';
import type { CapturedSlackMessage } from '../../functions/sandbox/routes/slack.js';
import { slackState } from '../../functions/sandbox/routes/slack.js';
import { FIXTURES, loadFixture } from '../support/fixtures.js';
import { sandboxRuntime, startTestSandbox, type Sandbox } from '../support/sandbox.js';
import { capabilitySqlRoot } from '../support/sql.js';
import { spotPrices } from '../support/stand-ins.js';

/** What the label tests share: the sandbox with the label fleet, settings, prices, the ledger. */
export const DATASET = 'costguard_labels';
export const PROJECTS = ['ml-training-prod', 'data-pipelines', 'research-sandbox'];

export async function startLabelSandbox(
  options: { resourceManager?: boolean } = {},
): Promise<Sandbox> {
  const sandbox = await startTestSandbox('fleets/labels.json');
  if (options.resourceManager === false) {
    // Resource Manager refuses every read, as it does without resourcemanager.projects.get.
    sandbox.faults.set('resourcemanager.projects.get', { fail: { count: 1_000, status: 403 } });
  } else {
    const projectLabels = loadFixture<Record<string, Record<string, string>>>(
      'policies/labels-projects.json',
    );
    for (const [project, labels] of Object.entries(projectLabels)) {
      setProjectLabels(sandbox, project, labels);
    }
  }
  return sandbox;
}

export function labelEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    COSTGUARD_PROJECTS: PROJECTS.join(','),
    COSTGUARD_DATASET: DATASET,
    COSTGUARD_LABEL_POLICY_FILE: `${FIXTURES}policies/labels.json`,
    COSTGUARD_LABELS_DRY_RUN: 'false',
    COSTGUARD_SLACK_CHANNEL: 'C0LABELS',
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    COSTGUARD_DASHBOARD_URL: 'https://lookerstudio.google.com/reporting/costguard',
    ...overrides,
  };
}

/** Spot hourly prices of the fleet's machines; anything else has no price. */
const SPOT_HOURLY: Readonly<Record<string, number>> = {
  'n2-standard-8': 0.0776,
  'n2-standard-4': 0.0388,
  'g2-standard-8': 0.2948,
  'n2d-standard-4': 0.0292,
  'e2-standard-4': 0.0402,
  'c2-standard-8': 0.0906,
  'n1-standard-4': 0.04,
};

const labelPrices = spotPrices(SPOT_HOURLY);

/** The fleet's prices, keeping every machine it was asked to price. */
export const fakePrices: PriceLookup & { asked: PricedMachine[] } = {
  asked: [],
  rate(machine) {
    fakePrices.asked.push(machine);
    return labelPrices.rate(machine);
  },
};

export function labelLedger(sandbox: Sandbox): Ledger {
  const runtime = sandboxRuntime(sandbox);
  return new Ledger(() => runtime.clients.bigquery(PROJECTS[0] as string, 'US'), {
    project: PROJECTS[0] as string,
    dataset: DATASET,
    location: 'US',
    logger: runtime.logger,
    // Only the label tables and views, and the VM inventory a created VM is snapshotted into,
    // so other capabilities' files cannot interfere.
    sqlRoot: capabilitySqlRoot(/^(3\d|11)_/),
    retry: { baseDelayMs: 1 },
  });
}

/** An audit-log CloudEvent fixture (fixtures/audit), in the structured form. */
export interface AuditEventFixture {
  id: string;
  type: string;
  data: {
    protoPayload: {
      serviceName: string;
      methodName: string;
      resourceName: string;
      [field: string]: unknown;
    };
    resource?: { type: string; labels: { instance_id: string; project_id: string; zone: string } };
    operation?: { id?: string; producer?: string; first?: boolean; last?: boolean };
    insertId: string;
    [field: string]: unknown;
  };
  [attribute: string]: unknown;
}

export function slackMessages(sandbox: Sandbox): CapturedSlackMessage[] {
  return slackState(sandbox).messages;
}

export function labelsOf(
  sandbox: Sandbox,
  project: string,
  zone: string,
  name: string,
): Record<string, string> | undefined {
  return sandbox.fleet.get(project, zone, name)?.labels;
}

export function callsTo(sandbox: Sandbox, route: string): number[] {
  return sandbox.calls.filter((c) => c.route === route).map((c) => c.status);
}
