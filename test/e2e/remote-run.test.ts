/**
 * `costguard run` end to end on the sandbox: a git checkout is packaged and uploaded, a run of
 * it starts through triggerRun with an ID token, its console streams into the terminal and
 * logs/remote_runs/RUN_ID-serial.log, its results land in a per-run folder with `latest`, and the
 * command exits with the run's outcome: a success (the real bin/costguard, as a Makefile calls
 * it), a failure with startup_error.txt shown, and a run cancelled from Ctrl-C.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOptions } from '../../cli/remote/options.js';
import { RunApiClient } from '../../cli/remote/run-api-client.js';
import { runRemote, type RemoteDeps } from '../../cli/remote/run-remote.js';
import { ObjectStore } from '../../functions/adapters/storage.js';
import { batchVmState, planBatchRun } from '../../functions/sandbox/batch-vm.js';
import { getObject } from '../../functions/sandbox/routes/storage.js';
import { ROOT } from '../support/fixtures.js';
import type { Sandbox } from '../support/sandbox.js';
import {
  forwardedToken,
  RUNS_AUDIENCE,
  serveTriggerRun,
  startRunsSandbox,
  type RunsApi,
} from '../support/runs.js';

const VM = { project: 'data-pipelines', zone: 'us-east1-b', name: 'batch-runner' };
const BUCKET = 'costguard-batch-results';
const TOKEN = forwardedToken({ email: 'alice@example.com' });

describe('costguard run against the sandbox', () => {
  let sandbox: Sandbox;
  let api: RunsApi;
  let repo: string;

  beforeAll(async () => {
    sandbox = await startRunsSandbox();
    api = await serveTriggerRun(sandbox);
    repo = mkdtempSync(join(tmpdir(), 'costguard-remote-'));
    execFileSync('git', ['init', '-q', repo]);
    writeFileSync(join(repo, 'Makefile'), 'all:\n\tpython3 -m pipeline\n');
    mkdirSync(join(repo, 'data'));
    writeFileSync(join(repo, 'data', 'big.parquet'), 'generated');
    execFileSync('git', ['-C', repo, 'add', '-A']);
  });
  afterAll(async () => {
    await api.close();
    await sandbox.close();
    rmSync(repo, { recursive: true, force: true });
  });

  const RUN_ARGS = [
    '--pipeline',
    'nightly-categories',
    '--target',
    'all',
    '--bucket',
    BUCKET,
    '--exclude',
    'data/',
  ];

  /** bin/costguard in the checkout, as a Makefile runs it, with the sandbox's endpoint and a test token. */
  function costguard(args: string[]) {
    const child = spawn(join(ROOT, 'bin', 'costguard'), args, {
      cwd: repo,
      env: {
        PATH: process.env.PATH,
        HOME: repo,
        STORAGE_EMULATOR_HOST: sandbox.hostPort,
        COSTGUARD_RUNS_URL: api.url,
        COSTGUARD_RUNS_AUDIENCE: RUNS_AUDIENCE,
        COSTGUARD_ID_TOKEN: TOKEN,
      },
    });
    const command = {
      child,
      stdout: '',
      stderr: '',
      exited: new Promise<number | null>((resolve) => child.on('exit', resolve)),
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (command.stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (command.stderr += chunk));
    return command;
  }

  /** The client in this process, its waits moving the sandbox's clock; Ctrl-C after `interruptAfter` waits. */
  function inProcess(interruptAfter = Infinity, command: string[] = ['run', ...RUN_ARGS]) {
    const console: string[] = [];
    const said: string[] = [];
    let waits = 0;
    const deps: RemoteDeps = {
      api: new RunApiClient({
        url: api.url,
        token: () => Promise.resolve(TOKEN),
        sleep: () => Promise.resolve(),
      }),
      store: new ObjectStore(() => api.runtime.clients.storage(), { logger: api.runtime.logger }),
      console: (text) => console.push(text),
      say: (line) => said.push(line),
      wait: (ms) => {
        sandbox.clock.advance(ms);
        return Promise.resolve(++waits === interruptAfter ? 'interrupted' : 'elapsed');
      },
      onInterrupt: () => Promise.resolve('cancel'),
      tmpDir: repo,
      newKey: () => `test-${waits}-${sandbox.clock.nowMs()}`,
    };
    const options = parseOptions(
      [
        ...command,
        '--url',
        api.url,
        '--repo',
        repo,
        '--poll-seconds',
        '60',
        '--results-dir',
        join(repo, 'results'),
        '--logs-dir',
        join(repo, 'logs'),
      ],
      {},
    );
    return { deps, options, console, said };
  }

  it('packages, uploads, starts, streams, collects and exits 0 for a run that succeeds (bin/costguard)', async () => {
    // Prepare
    planBatchRun(sandbox, VM, { outcome: 'succeed', afterSeconds: 900 });
    const command = costguard(['run', ...RUN_ARGS, '--poll-seconds', '1']);
    // Simulated time passes while the command polls once a second: a minute per 100 ms.
    const clock = setInterval(() => {
      if (batchVmState(sandbox).runs.length > 0) sandbox.clock.advance(60_000);
    }, 100);

    // Act
    const code = await command.exited;
    clearInterval(clock);
    const { stdout, stderr } = command;

    // Assess
    expect(stderr).toMatch(
      /packaged 1 tracked files \([\d.]+ KiB, 1 left out\) uploaded to gs:\/\/costguard-batch-results\/src\/costguard-remote-\w+-[0-9a-f]{16}\.tar\.gz/,
    );
    expect(code).toBe(0);
    const runId = /started (run-[0-9a-f]{20})/.exec(stderr)?.[1] as string;
    expect(stdout).toContain(`[costguard] run ${runId} target all`);
    expect(stdout).toMatch(/\[vmstat\] r=\d+/);
    expect(stdout).toContain('[timer] total 900s');
    expect(readFileSync(join(repo, 'logs', 'remote_runs', `${runId}-serial.log`), 'utf8')).toBe(
      stdout,
    );
    const results = join(repo, 'data', 'remote_results');
    expect(readlinkSync(join(results, 'latest'))).toBe(runId);
    expect(readFileSync(join(results, runId, 'output', 'summary.txt'), 'utf8')).toBe(
      'target all done\n',
    );
    expect(readFileSync(join(results, runId, 'startup_detail.log'), 'utf8')).toContain(
      '[timer] make',
    );
    expect(stderr).toContain('── end of build.log ──');
    expect(stderr).toContain('make: done');
    expect(stderr).toContain(
      'phases: fetch 9s, apt 45s, pip 1m30s, make 12m36s, upload 0s, total 15m00s',
    );
    expect(stderr).toMatch(/cost: \d+\.\d{4} USD \(estimate\)/);
    expect(stderr).toContain(`run ${runId} succeeded`);
    // The run executed exactly the uploaded tarball, pinned to its generation.
    const source = /gs:\/\/costguard-batch-results\/(src\/\S+\.tar\.gz)/.exec(
      stderr,
    )?.[1] as string;
    const runView = await api.call('GET', `/runs/${runId}`);
    expect(runView.body.source).toBe(
      `gs://${BUCKET}/${source}#${getObject(sandbox, BUCKET, source)?.generation}`,
    );
    execFileSync('tar', ['-tzf', '-'], { input: getObject(sandbox, BUCKET, source)?.data });
  }, 60_000);

  it('exits 1 for a run that fails, showing startup_error.txt and the end of build.log', async () => {
    planBatchRun(sandbox, VM, { outcome: 'fail', afterSeconds: 600 });
    const client = inProcess();

    const code = await runRemote(client.deps, client.options);

    const runId = /started (run-[0-9a-f]{20})/.exec(client.said.join('\n'))?.[1] as string;
    expect(code).toBe(1);
    expect(client.console.join('')).toContain(
      '[costguard] error: make -- all exited with status 2',
    );
    const said = client.said.join('\n');
    expect(said).toContain('── startup_error.txt ──\nmake -- all failed with exit code 2');
    expect(said).toContain('make: *** [Makefile:12: all] Error 2');
    expect(said).toContain(`run ${runId} failed: make -- all failed with exit code 2`);
    expect(readlinkSync(join(repo, 'results', 'latest'))).toBe(runId);
    expect(readFileSync(join(repo, 'results', runId, 'startup_error.txt'), 'utf8')).toContain(
      'exit code 2',
    );
    // The same checkout is the same object: uploaded once.
    expect(said).toMatch(/already at gs:\/\/costguard-batch-results\/src\//);
  });

  it('leaves the run running on Ctrl-C without a terminal (130); followed again, Ctrl-C cancels it (3)', async () => {
    // Prepare
    planBatchRun(sandbox, VM, { outcome: 'hang', afterSeconds: 60 });
    const command = costguard(['run', ...RUN_ARGS, '--poll-seconds', '1']);
    while (!/started run-/.test(command.stderr) && command.child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const runId = /started (run-[0-9a-f]{20})/.exec(command.stderr)?.[1] as string;

    // Act
    command.child.kill('SIGINT');
    const left = await command.exited;
    const running = await api.call('GET', `/runs/${runId}`);
    const client = inProcess(3, ['follow', runId]);
    const code = await runRemote(client.deps, client.options);

    // Assess
    expect(left).toBe(130);
    expect(command.stderr).toContain(`[costguard] ${runId} goes on running`);
    expect(command.stderr).toContain(`costguard cancel ${runId} --url ${api.url}`);
    expect(running.body.status).toBe('RUNNING');
    expect(code).toBe(3);
    expect(client.said).toContain(`[costguard] cancelling ${runId}`);
    expect(client.said.at(-1)).toBe(`run ${runId} was cancelled: cancelled by alice@example.com`);
    expect(sandbox.fleet.get(VM.project, VM.zone, VM.name)?.status).toBe('TERMINATED');
    expect(client.console.join('')).toMatch(/\[mpstat\] all/);
  });
});
