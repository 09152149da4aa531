/**
 * A deploy or teardown is a plan: an ordered list of steps, each a human title and the gcloud or
 * bq commands it runs, as argv arrays (never a shell string). A step may first ask the project
 * what exists (a probe, e.g. `describe`), and choose from the answer whether to create, update or
 * skip, so that running the same plan again converges instead of failing.
 */
export interface Command {
  readonly argv: readonly string[];
  /**
   * The deploying user's environment variable whose value is written to the command's stdin;
   * secrets travel this way so that they never appear in an argv, a plan or a log.
   */
  readonly stdinFrom?: string;
  /**
   * IAM changes that name a just-created service account can fail until it has propagated
   * (typically seconds); such commands are tried a few times before the deploy gives up.
   */
  readonly retryUntilPropagated?: boolean;
}

export interface ProbeOutcome {
  readonly ok: boolean;
  readonly stdout: string;
}

/** The deploying user's environment, for choices that depend on it (never printed). */
export type ProbeEnv = Readonly<Record<string, string | undefined>>;

export interface Probe {
  /** A read-only command; its output is captured, never printed. */
  readonly argv: readonly string[];
  /** More read-only commands, run after `argv`, when a choice needs several answers. */
  readonly more?: ReadonlyArray<readonly string[]>;
  /**
   * The commands to run given what the probe found (and what `more` found, in order); none when
   * there is nothing to do.
   */
  readonly choose: (
    outcome: ProbeOutcome,
    env: ProbeEnv,
    more?: readonly ProbeOutcome[],
  ) => readonly Command[];
}

export interface Step {
  readonly title: string;
  /** What runs on a project where none of costguard exists yet; what `--dry-run` prints. */
  readonly commands: readonly Command[];
  readonly probe?: Probe;
  /** Said under the title (dry-run and real run), e.g. when the step only sometimes acts. */
  readonly note?: string;
}

export interface Plan {
  readonly steps: readonly Step[];
  /** Lines printed once every step has run (URLs, next commands). */
  readonly summary: readonly string[];
}

export function gcloud(...argv: string[]): Command {
  return { argv: ['gcloud', ...argv] };
}

export function bq(...argv: string[]): Command {
  return { argv: ['bq', ...argv] };
}

/** A Standard SQL statement run as a BigQuery job in `location`, billed to `project`. */
export function bqQuery(project: string, location: string, sql: string): Command {
  return bq(
    `--project_id=${project}`,
    `--location=${location}`,
    'query',
    '--use_legacy_sql=false',
    sql,
  );
}

/** A command for printing: POSIX shell words, one line, so the output reads (and runs) as a script. */
export function formatCommand(command: Command): string {
  return command.argv.map(shellWord).join(' ');
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function shellWord(word: string): string {
  if (word !== '' && SAFE_WORD.test(word)) return word;
  if (!/[\n\r\t\\\x00-\x1f]/.test(word)) return `'${word.replaceAll("'", `'\\''`)}'`;
  // Multi-line text (SQL) stays on one line as ANSI-C quoting, which bash reads back exactly.
  const escaped = word.replace(/[\\'\n\r\t\x00-\x1f]/g, (c) => {
    switch (c) {
      case '\\':
        return '\\\\';
      case "'":
        return "\\'";
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default:
        return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
    }
  });
  return `$'${escaped}'`;
}
