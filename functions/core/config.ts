/**
 * Configuration: every setting comes from an environment variable (structured settings as JSON
 * in the variable, or in a file whose path is in `<VARIABLE>_FILE`). A spec is parsed once into
 * a frozen object; the first wrong or missing setting stops start-up with one line that names
 * the variable and what it expects.
 */

import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { ConfigError, errorMessage } from './errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface Setting<T> {
  readonly variable: string;
  readonly expects: string;
  /** Returns the value, or throws an Error whose message says what is wrong with it. */
  read(env: Env): T;
}

export type SettingsSpec = Record<string, Setting<unknown>>;
export type ConfigOf<S extends SettingsSpec> = {
  readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never;
};

class Invalid extends Error {}

function rawValue(env: Env, variable: string): string | undefined {
  const value = env[variable]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function make<T>(
  variable: string,
  expects: string,
  parse: (raw: string) => T,
  fallback: { value: T } | undefined,
): Setting<T> {
  return {
    variable,
    expects,
    read(env) {
      const raw = rawValue(env, variable);
      if (raw === undefined) {
        if (fallback) return fallback.value;
        throw new Invalid('it is not set');
      }
      return parse(raw);
    },
  };
}

interface Options<T> {
  default?: T;
}

function withDefault<T>(options: Options<T> | undefined): { value: T } | undefined {
  return options && 'default' in options ? { value: options.default as T } : undefined;
}

export const setting = {
  text(
    variable: string,
    expects: string,
    options?: Options<string> & { pattern?: RegExp },
  ): Setting<string> {
    return make(
      variable,
      expects,
      (raw) => {
        if (options?.pattern && !options.pattern.test(raw)) throw new Invalid(`got "${raw}"`);
        return raw;
      },
      withDefault(options),
    );
  },

  optionalText(variable: string, expects: string, pattern?: RegExp): Setting<string | undefined> {
    return make<string | undefined>(
      variable,
      expects,
      (raw) => {
        if (pattern && !pattern.test(raw)) throw new Invalid(`got "${raw}"`);
        return raw;
      },
      { value: undefined },
    );
  },

  list(
    variable: string,
    expects: string,
    options?: Options<readonly string[]> & { item?: RegExp },
  ): Setting<readonly string[]> {
    return make(
      variable,
      expects,
      (raw) => {
        const items = raw
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
        if (items.length === 0) throw new Invalid('the list is empty');
        const bad = options?.item ? items.filter((s) => !options.item?.test(s)) : [];
        if (bad.length > 0) throw new Invalid(`invalid item(s): ${bad.join(', ')}`);
        return [...new Set(items)];
      },
      withDefault(options),
    );
  },

  boolean(variable: string, defaultValue: boolean): Setting<boolean> {
    return make(
      variable,
      'true or false',
      (raw) => {
        const value = raw.toLowerCase();
        if (['true', '1', 'yes'].includes(value)) return true;
        if (['false', '0', 'no'].includes(value)) return false;
        throw new Invalid(`got "${raw}"`);
      },
      { value: defaultValue },
    );
  },

  number(
    variable: string,
    expects: string,
    options: Options<number> & { min?: number; max?: number; integer?: boolean },
  ): Setting<number> {
    return make(
      variable,
      expects,
      (raw) => {
        const value = Number(raw);
        const ok =
          raw !== '' &&
          Number.isFinite(value) &&
          (!options.integer || Number.isInteger(value)) &&
          (options.min === undefined || value >= options.min) &&
          (options.max === undefined || value <= options.max);
        if (!ok) throw new Invalid(`got "${raw}"`);
        return value;
      },
      withDefault(options),
    );
  },

  /**
   * JSON validated by a zod schema, in `variable` or in the file named by `<variable>_FILE`.
   * A default is given as the schema's input and goes through the schema like any value.
   */
  json<S extends z.ZodType>(
    variable: string,
    expects: string,
    schema: S,
    options?: { default?: z.input<S> },
  ): Setting<z.output<S>> {
    const fileVariable = `${variable}_FILE`;
    return {
      variable,
      expects,
      read(env) {
        let text = rawValue(env, variable);
        if (text === undefined) {
          const path = rawValue(env, fileVariable);
          if (path !== undefined) {
            try {
              text = readFileSync(path, 'utf8');
            } catch (error) {
              throw new Invalid(
                `${fileVariable}=${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
              );
            }
          }
        }
        if (text === undefined) {
          if (options && 'default' in options) return schema.parse(options.default);
          throw new Invalid(`neither ${variable} nor ${fileVariable} is set`);
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          throw new Invalid('it is not valid JSON');
        }
        const result = schema.safeParse(parsed);
        if (!result.success) {
          const issue = result.error.issues[0];
          const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
          throw new Invalid(`${where}${issue?.message ?? 'invalid'}`);
        }
        return result.data;
      },
    };
  },
};

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

export function readConfig<S extends SettingsSpec>(spec: S, env: Env): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(spec)) {
    try {
      out[key] = s.read(env);
    } catch (error) {
      throw configError(s.variable, s.expects, errorMessage(error));
    }
  }
  return deepFreeze(out) as ConfigOf<S>;
}

/** The one-line error a wrong or missing setting stops start-up with. */
export function configError(variable: string, expects: string, detail: string): ConfigError {
  return new ConfigError(`Invalid configuration: ${variable}: expected ${expects}; ${detail}`);
}

/**
 * The projects a policy acts on: those it names, which must all be governed ones, or every
 * governed project when it names none.
 */
export function policyProjects(
  variable: string,
  expects: string,
  named: readonly string[] | undefined,
  governed: readonly string[],
): readonly string[] {
  const outside = (named ?? []).filter((p) => !governed.includes(p));
  if (outside.length > 0) throw configError(variable, expects, `got ${outside.join(', ')}`);
  return named ?? governed;
}

export const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
export const DATASET_ID = /^[A-Za-z_][A-Za-z0-9_]{0,1023}$/;

/** Settings every entry point shares. */
export const commonSettings = {
  projects: setting.list(
    'COSTGUARD_PROJECTS',
    'a comma-separated list of the Google Cloud project ids costguard governs',
    { item: PROJECT_ID },
  ),
  ledgerProject: setting.optionalText(
    'COSTGUARD_LEDGER_PROJECT',
    'the project id that holds the BigQuery dataset (default: the first governed project)',
    PROJECT_ID,
  ),
  dataset: setting.text('COSTGUARD_DATASET', 'a BigQuery dataset id', {
    default: 'costguard',
    pattern: DATASET_ID,
  }),
  location: setting.text('COSTGUARD_BQ_LOCATION', 'a BigQuery location such as US or EU', {
    default: 'US',
  }),
  slackChannel: setting.optionalText(
    'COSTGUARD_SLACK_CHANNEL',
    'a Slack channel id or name (unset: no Slack messages)',
  ),
  slackToken: setting.optionalText(
    'SLACK_BOT_TOKEN',
    'a Slack bot token (from Secret Manager; unset: no Slack messages)',
  ),
  dashboardUrl: setting.optionalText(
    'COSTGUARD_DASHBOARD_URL',
    'the Looker Studio report URL linked from Slack messages',
    /^https?:\/\//,
  ),
  // Compute's documented default is 1,500 requests a minute per project; writes stay below it.
  computeWritesPerMinute: setting.number(
    'COSTGUARD_COMPUTE_WRITES_PER_MINUTE',
    'Compute mutations (stop, start, setLabels, setMetadata) a minute per project, 1 to 100000',
    { default: 1200, min: 1, max: 100_000, integer: true },
  ),
  computeConcurrency: setting.number(
    'COSTGUARD_COMPUTE_CONCURRENCY',
    'Compute calls in flight at once, operation waits and reads included, 1 to 500',
    { default: 50, min: 1, max: 500, integer: true },
  ),
};

export type CommonConfig = ConfigOf<typeof commonSettings>;

export function ledgerProjectOf(config: CommonConfig): string {
  return config.ledgerProject ?? (config.projects[0] as string);
}
