/**
 * For `npm start`: what deploying the demo would do, without running anything. Prints a short
 * account of the dry-run plan and the command that shows it in full.
 */

import { defaultSqlRoot } from '../../adapters/bigquery.js';
import { loadDeployInputs } from '../../../deploy/load-inputs.js';
import { parseDeployOptions } from '../../../deploy/options.js';
import { planDeploy } from '../../../deploy/plan-deploy.js';

export const DEMO_DEPLOY_ARGS = [
  '--project',
  'costguard-demo',
  '--region',
  'us-central1',
  '--billing-account',
  '012345-6789AB-CDEF01',
  '--slack-channel',
  'C0DEMO',
];

export function describeDemoDeploy(out: (line: string) => void): Promise<void> {
  const options = parseDeployOptions([...DEMO_DEPLOY_ARGS, '--dry-run']);
  const plan = planDeploy(loadDeployInputs(options, defaultSqlRoot()));
  const commands = plan.steps.flatMap((step) => step.commands);
  const count = (tool: string) => commands.filter((c) => c.argv[0] === tool).length;
  out(
    `Deploy: ${plan.steps.length} steps, ${count('gcloud')} gcloud and ${count('bq')} bq commands for a real project; enforcement stays in dry-run until --enforce.`,
  );
  out(`  see them all: npm run deploy -- ${DEMO_DEPLOY_ARGS.join(' ')} --dry-run`);
  return Promise.resolve();
}
