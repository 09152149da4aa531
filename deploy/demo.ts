import { deployCli } from './cli.js';

/**
 * For `npm start`: what deploying the demo would do, without running anything. Prints a short
 * account of the dry-run plan and the command that shows it in full.
 */
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

export async function describeDemoDeploy(out: (line: string) => void): Promise<void> {
  const commands: string[] = [];
  const steps: string[] = [];
  const code = await deployCli([...DEMO_DEPLOY_ARGS, '--dry-run'], {
    env: {},
    out: (line) => commands.push(line),
    err: (line) => {
      if (line.startsWith('# ') && !line.startsWith('# Would') && !line.startsWith('# Dry run')) {
        steps.push(line.slice(2));
      }
    },
  });
  if (code !== 0) throw new Error(`the demo deploy plan could not be made (exit ${code})`);
  const count = (tool: string) => commands.filter((c) => c.startsWith(`${tool} `)).length;
  out(
    `Deploy: ${steps.length} steps, ${count('gcloud')} gcloud and ${count('bq')} bq commands for a real project; enforcement stays in dry-run until --enforce.`,
  );
  out(`  see them all: npm run deploy -- ${DEMO_DEPLOY_ARGS.join(' ')} --dry-run`);
}
