/**
 * JSON-lines logger for Cloud Logging: one object per line with `severity`, `message` and
 * context keys (budgetId, messageId, runId, ...). Keys that look like secrets are redacted, and
 * so are token-shaped values under any key.
 */

import { MASK, maskSecrets } from './redact.js';

export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR' | 'CRITICAL';

export type LogContext = Record<string, unknown>;

export interface Logger {
  debug(message: string, context?: LogContext): void;
  info(message: string, context?: LogContext): void;
  notice(message: string, context?: LogContext): void;
  warn(message: string, context?: LogContext): void;
  error(message: string, context?: LogContext): void;
  critical(message: string, context?: LogContext): void;
  child(context: LogContext): Logger;
}

export type LogSink = (line: string) => void;

const RANK: Record<Severity, number> = {
  DEBUG: 0,
  INFO: 1,
  NOTICE: 2,
  WARNING: 3,
  ERROR: 4,
  CRITICAL: 5,
};

const SECRET_KEY = /token|secret|password|authorization|credential|api[_-]?key/i;

function serialise(value: unknown, depth = 0): unknown {
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown };
    return {
      name: e.name,
      message: maskSecrets(e.message),
      ...(e.code !== undefined ? { code: e.code } : {}),
      ...(e.cause !== undefined && depth < 3 ? { cause: serialise(e.cause, depth + 1) } : {}),
    };
  }
  if (typeof value === 'string') return maskSecrets(value);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return depth > 5 ? '[…]' : value.map((v) => serialise(v, depth + 1));
  if (typeof value === 'object' && value !== null) {
    if (depth > 5) return '{…}';
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      out[key] = SECRET_KEY.test(key) ? MASK : serialise(v, depth + 1);
    }
    return out;
  }
  return value;
}

const stdoutSink: LogSink = (line) => {
  process.stdout.write(`${line}\n`);
};

export function createLogger(
  options: { context?: LogContext; sink?: LogSink; minSeverity?: Severity } = {},
): Logger {
  const sink = options.sink ?? stdoutSink;
  const min = RANK[options.minSeverity ?? 'DEBUG'];
  const base = options.context ?? {};
  const write = (severity: Severity, message: string, context?: LogContext): void => {
    if (RANK[severity] < min) return;
    const fields = serialise({ ...base, ...context }) as Record<string, unknown>;
    const entry: Record<string, unknown> = { severity, message, ...fields };
    const error = context?.error;
    // Error Reporting picks up entries whose stack_trace holds a stack.
    if (RANK[severity] >= RANK.ERROR && error instanceof Error && error.stack) {
      entry.stack_trace = maskSecrets(error.stack);
    }
    sink(JSON.stringify(entry));
  };
  return {
    debug: (m, c) => write('DEBUG', m, c),
    info: (m, c) => write('INFO', m, c),
    notice: (m, c) => write('NOTICE', m, c),
    warn: (m, c) => write('WARNING', m, c),
    error: (m, c) => write('ERROR', m, c),
    critical: (m, c) => write('CRITICAL', m, c),
    child: (context) => createLogger({ ...options, context: { ...base, ...context } }),
  };
}

/** A logger that keeps its entries, for tests. */
export function createMemoryLogger(): Logger & { entries: Array<Record<string, unknown>> } {
  const entries: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    sink: (line) => entries.push(JSON.parse(line) as Record<string, unknown>),
  });
  return Object.assign(logger, { entries });
}
