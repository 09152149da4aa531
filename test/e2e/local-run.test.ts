import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ROOT } from '../support/fixtures.js';

const run = promisify(execFile);
const curlAvailable = (() => {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Waits until the output holds `marker`, or the process ends. */
function outputUntil(
  child: ReturnType<typeof spawn>,
  marker: string,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no '${marker}' in:\n${text}`)), timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      if (text.includes(marker)) {
        clearTimeout(timer);
        resolve(text);
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`npm start ended before '${marker}':\n${text}`));
    });
  });
}

// `npm start` as a user runs it, on free loopback ports, with no Google credentials: the demo
// plays, every printed command works as written, and SIGTERM to npm stops everything.
if (!curlAvailable) console.log('curl is not installed: the local run test is skipped');

describe('the local run', () => {
  it.skipIf(!curlAvailable)(
    'serves every entry point, plays the demo, answers the commands it prints, and stops on SIGTERM to npm',
    async () => {
      const child = spawn('npm', ['start'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          COSTGUARD_SANDBOX_PORT: '0',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      onTestFinished(() => {
        if (child.exitCode === null) child.kill('SIGTERM');
      });
      const stdout = await outputUntil(child, 'Serving; press Ctrl-C to stop.', 150_000);

      // The demo
      for (const target of [
        'recordSpotCosts',
        'enforceBudget',
        'enforceLabels',
        'enforceLabelsOnCreate',
        'enforceSpotCap',
        'triggerRun',
        'slackActions',
        'recordPreemption',
      ]) {
        expect(stdout).toMatch(new RegExp(`${target} +http://127\\.0\\.0\\.1:\\d+/`));
      }
      expect(stdout).toMatch(/recorded hours 18:00, 19:00, 20:00, 21:00, 22:00, 23:00: \d+ rows/);
      expect(stdout).toMatch(/nightly-categories: SUCCEEDED; marker _SUCCESS/);
      expect(stdout).toMatch(/POST \/runs again while the VM is busy -> 409/);
      // A run preempted 40 minutes in comes back by itself after its backoff (the resume tick,
      // no reader) and finishes on its second attempt; the views show the preemption and the
      // attempts, with the run's own cost.
      const preempted =
        /Compute preempts batch-runner; the system event reaches recordPreemption -> PREEMPTED_RETRYING, attempt 1, resumes at (\d\d:\d\d)\n {2}(\d\d:\d\d) the resume tick \(Cloud Scheduler costguard-resume-runs\) -> recordPreemption: RUNNING, attempt 2, the VM started again\n/.exec(
          stdout,
        );
      expect(preempted).not.toBeNull();
      expect(preempted![2]).toBe(preempted![1]);
      const finished =
        /GET \/runs\/(run-[0-9a-f]{20}) -> SUCCEEDED, attempt 2; cost ([\d.]+) USD/.exec(stdout);
      expect(finished).not.toBeNull();
      const lost =
        /preemption_events: batch-runner in us-east1-b at \d\d:\d\d, attempt 1, 40 m of run time lost, ([\d.]+) USD/.exec(
          stdout,
        );
      const attempts = new RegExp(
        `run_attempts: ${finished![1]} SUCCEEDED: 2 attempts, 1 preemption, 0\\.67 h lost, total ([\\d.]+) USD`,
      ).exec(stdout);
      expect(attempts?.[1]).toBe(finished![2]);
      // 40 of the run's 70 minutes of run time (the backoff is not run time), at the same rate.
      expect(Number(lost?.[1])).toBeCloseTo((Number(finished![2]) * 40) / 70, 3);
      expect(stdout).toMatch(/stop {3}ml-training-prod\/us-central1-b\/nlp-scratch-gpu/);
      expect(stdout).toMatch(/spend 102% \(5100 USD\): stopped \d+:/);
      // The Spot cap stops the sweep's low-priority VMs within a run of the crossing, not the medium one.
      expect(stdout).toMatch(
        /enforceSpotCap -> 200: spend [\d.]+ of 8 USD \([\d.]+ recorded \+ [\d.]+ estimated\), forecast [\d.]+: ACTED\n {8}stopped research-sandbox\/us-west1-a\/research-sweep-gpu-\d\n {8}stopped research-sandbox\/us-west1-a\/research-sweep-gpu-\d\n {8}stopped research-sandbox\/us-west1-a\/research-sweep-gpu-\d\n\n/,
      );
      // Critical, exempt and MIG-managed VMs are never stopped.
      expect(stdout).not.toMatch(
        /stop[^\n]*(platform-api-01|vision-trainer-critical|etl-nightly-exempt|workers-7x2k)/,
      );

      // The printed commands, run as written (RUN_ID replaced by the run the first one started)
      const commands = stdout
        .slice(stdout.indexOf('Call the entry points'), stdout.indexOf('Look around:'))
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line.startsWith('curl ') || line.startsWith('npm run '));
      expect(commands.length).toBeGreaterThanOrEqual(12);
      const sandboxUrl = /sandbox +(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)![1]!;
      const outputs: string[] = [];
      let runId = '';
      for (const command of commands) {
        const { stdout: answer } = await run(
          'sh',
          ['-c', `${command.replace('RUN_ID', runId)} -f`.replace(/^(npm run .*) -f$/, '$1')],
          { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } },
        );
        outputs.push(answer);
        runId ||= /"runId":"(run-[0-9a-f]{20})"/.exec(answer)?.[1] ?? '';
      }
      const all = outputs.join('\n');
      // The demo walked the budget to 115%: an alert at 105% is acknowledged and stops nothing more.
      expect(all).toMatch(
        /budget alert at 105% \(5250 of 5000 USD[^\n]*-> enforceBudget 204\nno VM stopped/,
      );
      expect(runId).toMatch(/^run-/);
      // The preemption command: the system event pushed through the sink, acknowledged.
      expect(all).toMatch(/"deliveries":\[\{"sink":"costguard-preemptions"[^\]]*"status":204\}\]/);
      expect(all).toMatch(/"openapi":"3\.1\.0"/);
      // The cap command crosses the Spot cap: the VM it adds is stopped by enforceSpotCap.
      expect(outputs.at(-3)).toMatch(
        /"cap":"research-sweeps-daily".*"outcome":"ACTED".*"stopped":\[[^\]]*"research-sandbox\/us-west1-a\/research-sweep-gpu-9"/,
      );
      const created = (await (
        await fetch(`${sandboxUrl}/_sandbox/fleet/ml-training-prod/us-central1-a/vision-new-1`)
      ).json()) as { name?: string; labels?: Record<string, string> };
      expect(created.name).toBe('vision-new-1');
      // The click commands: the forged one is refused, the signed one restarts what the cap's
      // tier stopped (the sweep's VM 9 among them) and updates the message.
      expect(outputs.at(-2)).toMatch(/"status":401/);
      expect(outputs.at(-1)).toMatch(/"status":200/);
      const sweep9 = (await (
        await fetch(`${sandboxUrl}/_sandbox/fleet/research-sandbox/us-west1-a/research-sweep-gpu-9`)
      ).json()) as { status?: string };
      expect(sweep9.status).not.toBe('TERMINATED');
      const messages = (await (await fetch(`${sandboxUrl}/_sandbox/slack/messages`)).json()) as {
        messages: Array<{ updates: Array<{ blocks: unknown[] }> }>;
      };
      expect(JSON.stringify(messages.messages.flatMap((m) => m.updates))).toMatch(
        /<@U0ONCALL> restarted \d+ VMs? stopped by Spot cap research-sweeps-daily/,
      );

      // SIGTERM to npm's own process stops every server it started.
      child.kill('SIGTERM');
      expect(await exited).not.toBeUndefined();
      await expect(fetch(`${sandboxUrl}/_sandbox`)).rejects.toThrow();
    },
    240_000,
  );
});
