/**
 * What the command-line tools (deploy, teardown, looker-studio) share: they return an exit code
 * instead of exiting, so tests drive them in-process with their own output and a fake `exec`.
 */

import { UsageError } from './options.js';
import { PlanError, type Exec } from './run-plan.js';

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly exec?: Exec;
  readonly root?: string;
  readonly sleep?: (ms: number) => Promise<void>;
}

export type Cli = (argv: readonly string[], io: CliIo) => Promise<number>;

/**
 * Runs a command's body: `--help` (or `-h`) prints the usage on stdout and runs nothing (exit
 * 0), a usage error prints it on stderr (exit 2), a failed step exits 1.
 */
export async function guarded(
  io: CliIo,
  usage: string,
  argv: readonly string[],
  body: () => void | Promise<void>,
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(usage);
    return 0;
  }
  try {
    await body();
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`costguard: ${error.message}`);
      io.err(usage);
      return 2;
    }
    if (error instanceof PlanError) {
      io.err(`costguard: ${error.message}`);
      io.err('Fix the cause and run the same command again: finished steps are not repeated.');
      return 1;
    }
    throw error;
  }
}

/** The process side: real stdout/stderr, real commands, and the exit code. */
export async function main(cli: Cli, argv: readonly string[]): Promise<void> {
  const code = await cli(argv, {
    env: process.env,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
  process.exitCode = code;
}
