// Runs generated commands through the real gcloud and bq installed here, with no credentials,
// to tell an argument-parsing failure (our bug) from the authentication failure every valid
// command ends in. Used by gcloud-parse.test.ts.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '../../deploy/plan.js';
import { settleAll } from '../../functions/core/concurrency.js';

export interface ParseOutcome {
  readonly command: Command;
  readonly code: number;
  readonly stderr: string;
}

function which(tool: string): string | undefined {
  try {
    return (
      execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

export const gcloudPath = which('gcloud');

/** gcloud's Python and its `lib` folder (gcloud.py), to load its command tree in-process. */
export function gcloudSdk(): { python: string; lib: string } | undefined {
  if (!gcloudPath) return undefined;
  const sdk = dirname(dirname(realpathSync(gcloudPath)));
  const lib = join(sdk, 'lib');
  if (!existsSync(join(lib, 'gcloud.py'))) return undefined;
  const bundled = join(sdk, 'platform/bundledpythonunix/bin/python3');
  const python = process.env.CLOUDSDK_PYTHON ?? (existsSync(bundled) ? bundled : which('python3'));
  return python ? { python, lib } : undefined;
}

/**
 * The bq wrapper asks gcloud for credentials before it parses anything; bq.py itself parses
 * first. Its Python is the SDK's bundled one where there is one.
 */
export function bqScript(): { python: string; script: string } | undefined {
  const bq = which('bq');
  if (!bq) return undefined;
  const sdk = dirname(dirname(realpathSync(bq)));
  const script = join(sdk, 'platform/bq/bq.py');
  if (!existsSync(script)) return undefined;
  const bundled = join(sdk, 'platform/bundledpythonunix/bin/python3');
  const python = process.env.CLOUDSDK_PYTHON ?? (existsSync(bundled) ? bundled : which('python3'));
  return python ? { python, script } : undefined;
}

/**
 * An empty gcloud configuration: no account, no project, no prompts, and no network. gcloud
 * asks the GCE metadata server whether it runs on Google Cloud unless its `gce` cache says
 * no; the cache is written first and the metadata host pointed at a closed loopback port.
 */
export function isolatedEnv(): NodeJS.ProcessEnv {
  const config = mkdtempSync(join(tmpdir(), 'costguard-gcloud-'));
  writeFileSync(join(config, 'gce'), 'False');
  return {
    GCE_METADATA_HOST: '127.0.0.1:9',
    GCE_METADATA_IP: '127.0.0.1:9',
    NO_GCE_CHECK: 'True',
    PATH: process.env.PATH,
    HOME: config,
    CLOUDSDK_CONFIG: config,
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: '1',
    CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: '1',
  };
}

/**
 * bq asks gcloud for its configuration and an access token after it has parsed a command, and
 * each gcloud start costs about a second of CPU. For bq the isolated environment puts first on
 * PATH a `gcloud` that answers as the real one does with no account: an empty configuration,
 * and "no active account" for anything else, so bq stops at authentication as it would here.
 */
export function bqEnv(): NodeJS.ProcessEnv {
  const env = isolatedEnv();
  const bin = join(env.CLOUDSDK_CONFIG!, 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'gcloud'),
    [
      '#!/bin/sh',
      `if [ "$1 $2" = "config list" ]; then echo '{}'; exit 0; fi`,
      'echo "ERROR: (gcloud.$1.$2) You do not currently have an active account selected." >&2',
      'exit 1',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return { ...env, PATH: `${bin}:${process.env.PATH ?? ''}` };
}

function run(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(file, [...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      // bq reports its errors on stdout.
      resolve({ code, stderr: `${String(stderr)}${String(stdout)}` });
    });
    child.stdin?.end();
  });
}

export async function parseCheck(command: Command, env: NodeJS.ProcessEnv): Promise<ParseOutcome> {
  const [tool, ...args] = command.argv;
  if (tool === 'gcloud' && gcloudPath) {
    return { command, ...(await run(gcloudPath, args, env)) };
  }
  const bq = bqScript();
  if (tool === 'bq' && bq) return { command, ...(await run(bq.python, [bq.script, ...args], env)) };
  throw new Error(`${tool} is not available`);
}

/** gcloud exits 2 on a parse error; bq.py says "Flags parsing error" or names an unknown command. */
export function isParseError(outcome: ParseOutcome): boolean {
  return (
    outcome.code === 2 ||
    /unrecognized arguments|argument --?[\w-]+:|Invalid choice|Flags parsing error|Unknown command|Invalid value for/i.test(
      outcome.stderr,
    )
  );
}

/** bq wraps its messages, so words may be split by a line break. */
export function isAuthError(outcome: ParseOutcome): boolean {
  return /do\s+not\s+currently\s+have\s+an\s+active\s+account|auth\s+credentials|gcloud\s+auth\s+login/i.test(
    outcome.stderr,
  );
}

const BATCH_DRIVER = join(dirname(fileURLToPath(import.meta.url)), 'gcloud-batch.py');

/**
 * Runs every gcloud command in one Python process that loads gcloud's command tree once
 * (gcloud-batch.py); the outcomes are those `gcloud` itself gives, at a fraction of the cost.
 */
export function parseCheckGcloudBatch(
  commands: readonly Command[],
  env: NodeJS.ProcessEnv,
): Promise<ParseOutcome[]> {
  const sdk = gcloudSdk();
  if (!sdk) throw new Error('gcloud (with its gcloud.py) is not available');
  return new Promise((resolve, reject) => {
    const child = spawn(sdk.python, [BATCH_DRIVER, sdk.lib], { env, timeout: 300_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`gcloud-batch.py exited ${String(code)}: ${stderr}`));
        return;
      }
      const results = JSON.parse(stdout) as { code: number; stderr: string }[];
      resolve(results.map((result, i) => ({ command: commands[i]!, ...result })));
    });
    child.stdin.end(JSON.stringify(commands.map((c) => c.argv.slice(1))));
  });
}

/** Checks every command: gcloud's in one process, bq's two at a time (each starts Python). */
export async function parseCheckAll(
  commands: readonly Command[],
  env: NodeJS.ProcessEnv,
): Promise<ParseOutcome[]> {
  if (commands.every((c) => c.argv[0] === 'gcloud')) return parseCheckGcloudBatch(commands, env);
  const settled = await settleAll(commands, 2, (command) => parseCheck(command, env));
  return settled.map((outcome) => {
    if (outcome.status === 'rejected') throw outcome.reason;
    return outcome.value;
  });
}
