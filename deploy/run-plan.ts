/**
 * Carries a plan out, or with `dryRun` only prints it. Commands are spawned from argv arrays,
 * never through a shell; a probe's output is captured and never printed (it may hold a secret
 * being compared); the first failing command stops the run with the step it belongs to.
 */

import { spawn } from 'node:child_process';
import {
  formatCommand,
  type Command,
  type Plan,
  type ProbeEnv,
  type ProbeOutcome,
} from './plan.js';

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
}

export interface ExecRequest {
  /** Written to the command's stdin; otherwise stdin is closed, so nothing can prompt. */
  readonly stdin?: string;
  /** Probes: keep stdout and stderr. Actions: let the user watch gcloud's own progress. */
  readonly capture: boolean;
}

export type Exec = (argv: readonly string[], request: ExecRequest) => Promise<ExecResult>;

export interface RunOptions {
  readonly exec: Exec;
  readonly env: ProbeEnv;
  /** Commands (dry-run) and progress (real run). */
  readonly out: (line: string) => void;
  /** Step titles in a dry run, so that `out` holds nothing but commands. */
  readonly err: (line: string) => void;
  readonly dryRun: boolean;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Attempts for commands that wait on IAM propagation (default 5, 10 s apart). */
  readonly propagationAttempts?: number;
  readonly propagationDelayMs?: number;
}

export class PlanError extends Error {
  override name = 'PlanError';
}

export interface RunReport {
  readonly ran: number;
  readonly skipped: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function runCommand(command: Command, title: string, options: RunOptions): Promise<void> {
  let stdin: string | undefined;
  if (command.stdinFrom) {
    stdin = options.env[command.stdinFrom];
    if (stdin === undefined || stdin === '') {
      throw new PlanError(`${title}: ${command.stdinFrom} is not set in the environment`);
    }
  }
  const attempts = command.retryUntilPropagated ? (options.propagationAttempts ?? 5) : 1;
  const sleep = options.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    const { code } = await options.exec(command.argv, { stdin, capture: false });
    if (code === 0) return;
    if (attempt >= attempts) {
      throw new PlanError(
        `${title}: \`${formatCommand(command)}\` exited with ${code}${
          attempts > 1 ? ` after ${attempts} attempts` : ''
        }`,
      );
    }
    options.out(`  (not yet propagated? trying again, attempt ${attempt + 1} of ${attempts})`);
    await sleep(options.propagationDelayMs ?? 10_000);
  }
}

export async function runPlan(plan: Plan, options: RunOptions): Promise<RunReport> {
  const total = plan.steps.length;
  if (options.dryRun) {
    for (const step of plan.steps) {
      options.err(`# ${step.title}${step.note ? ` (${step.note})` : ''}`);
      for (const command of step.commands) options.out(formatCommand(command));
    }
    options.err('# Dry run: nothing was changed.');
    return { ran: 0, skipped: total };
  }
  let ran = 0;
  let skipped = 0;
  for (const [index, step] of plan.steps.entries()) {
    options.out(`[${index + 1}/${total}] ${step.title}`);
    let commands = step.commands;
    if (step.probe) {
      const read = async (argv: readonly string[]): Promise<ProbeOutcome> => {
        const found = await options.exec(argv, { capture: true });
        return { ok: found.code === 0, stdout: found.stdout };
      };
      const first = await read(step.probe.argv);
      const more: ProbeOutcome[] = [];
      for (const argv of step.probe.more ?? []) more.push(await read(argv));
      commands = step.probe.choose(first, options.env, more);
    }
    if (commands.length === 0) {
      options.out('  nothing to do');
      skipped++;
      continue;
    }
    for (const command of commands) {
      options.out(`  $ ${formatCommand(command)}`);
      await runCommand(command, step.title, options);
    }
    ran++;
  }
  for (const line of plan.summary) options.out(line);
  return { ran, skipped };
}

/** Runs a command from its argv with no shell in between. */
export const spawnExec: Exec = (argv, request) =>
  new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    if (!file) {
      reject(new PlanError('empty command'));
      return;
    }
    const child = spawn(file, args, {
      stdio: [
        request.stdin === undefined ? 'ignore' : 'pipe',
        request.capture ? 'pipe' : 'inherit',
        request.capture ? 'pipe' : 'inherit',
      ],
    });
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.resume();
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new PlanError(
          error.code === 'ENOENT' ? `${file} is not installed or not on PATH` : error.message,
        ),
      ),
    );
    child.on('close', (code) => resolve({ code: code ?? 1, stdout }));
    if (request.stdin !== undefined) child.stdin?.end(request.stdin);
  });
