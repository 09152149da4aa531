/**
 * `costguard` / `npm run remote -- …`: reads the command line, builds the real run API client
 * (with the caller's ID token) and Storage client (the caller's Application Default
 * Credentials, or the sandbox through the endpoint variables), handles Ctrl-C, and exits with
 * the run's outcome.
 */
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { createClients } from '../../functions/adapters/clients.js';
import { resolveEndpoints } from '../../functions/adapters/endpoints.js';
import { ObjectStore } from '../../functions/adapters/storage.js';
import { errorMessage } from '../../functions/core/errors.js';
import { createLogger } from '../../functions/core/logger.js';
import { realSleep } from '../../functions/core/retry.js';
import { EXIT } from './outcome.js';
import { parseOptions, UsageError, USAGE } from './options.js';
import { identityTokenSource, RunApiClient, RunApiError } from './run-api-client.js';
import { cancelRemote, runRemote, type RemoteDeps } from './run-remote.js';

const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Ctrl-C while following: a flag the wait notices; a second Ctrl-C leaves at once. */
function interrupts(): { wait: RemoteDeps['wait']; onInterrupt: RemoteDeps['onInterrupt'] } {
  let pending = false;
  let wake: (() => void) | undefined;
  let asking = false;
  process.on('SIGINT', () => {
    if (asking || pending) {
      say('\n[costguard] interrupted again; leaving the run running');
      process.exit(EXIT.leftRunning);
    }
    pending = true;
    wake?.();
  });
  return {
    async wait(ms) {
      if (!pending) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
      if (!pending) return 'elapsed';
      pending = false;
      return 'interrupted';
    },
    async onInterrupt(runId) {
      // Without a terminal to ask on (make in CI, a pipe), the run goes on.
      if (!process.stdin.isTTY) return 'leave';
      asking = true;
      const prompt = createInterface({ input: process.stdin, output: process.stderr });
      try {
        const answer = await prompt.question(
          `\nCancel run ${runId} (c), or leave it running (l)? [l] `,
        );
        return /^c/i.test(answer.trim()) ? 'cancel' : 'leave';
      } finally {
        prompt.close();
        asking = false;
      }
    },
  };
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    say(error.problems.map((p) => `costguard: ${p}`).join('\n'));
    say('Run costguard --help for the options.');
    return EXIT.usage;
  }
  if (options.command === 'help') {
    say(USAGE);
    return EXIT.succeeded;
  }
  const clients = createClients(resolveEndpoints(process.env));
  // The endpoint is in the factory's hands now; @google-cloud/storage would also read the
  // variable itself and send its JSON API calls to the bare host, without /storage/v1.
  delete process.env.STORAGE_EMULATOR_HOST;
  const store = new ObjectStore(() => clients.storage(), {
    logger: createLogger({ minSeverity: 'WARNING', sink: say }),
  });
  const api = new RunApiClient({
    url: options.url,
    token: identityTokenSource(options.audience, process.env.COSTGUARD_ID_TOKEN),
    sleep: realSleep,
  });
  const deps: RemoteDeps = {
    api,
    store,
    console: (text) => process.stdout.write(text),
    say,
    ...interrupts(),
    tmpDir: tmpdir(),
    newKey: () => `costguard-remote-${randomUUID()}`,
  };
  try {
    if (options.command === 'cancel') return await cancelRemote(deps, options.runId as string);
    return await runRemote(deps, options);
  } catch (error) {
    say(`costguard: ${errorMessage(error)}`);
    return error instanceof RunApiError && error.status === 409 ? EXIT.notRun : EXIT.failed;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`costguard: ${errorMessage(error)}`);
    process.exit(EXIT.failed);
  },
);
