/**
 * The compatibility layer that runs BigQuery Standard SQL on DuckDB, for the sandbox and for
 * the view tests. It is deliberately small and explicit: each rewrite below names the BigQuery
 * construct it maps. Rewrites apply outside string literals only. Anything it does not know is
 * passed through, so an unsupported construct fails loudly in DuckDB instead of silently.
 *
 *   `project.dataset.table`      -> "dataset"."table"       (datasets are DuckDB schemas)
 *   "text" (a string in BigQuery) -> 'text'
 *   INT64 FLOAT64 NUMERIC BIGNUMERIC BOOL STRING BYTES DATETIME JSON
 *                                 -> BIGINT DOUBLE DECIMAL(38,9) DECIMAL(38,9) BOOLEAN VARCHAR BLOB TIMESTAMP JSON
 *   ARRAY<T>, STRUCT<a T>         -> T[], STRUCT(a T)
 *   PARTITION BY / CLUSTER BY / OPTIONS(...) in DDL -> removed (storage hints)
 *   SAFE_DIVIDE, COUNTIF, LOGICAL_OR/AND, SAFE_CAST, TIMESTAMP_TRUNC, DATE_TRUNC, TIMESTAMP_ADD/SUB,
 *   DATE_ADD/SUB, TIMESTAMP_DIFF, DATE_DIFF, DATE(x), FORMAT_DATE/TIMESTAMP, JSON_VALUE,
 *   TO_JSON_STRING, PARSE_JSON, GENERATE_UUID, GENERATE_ARRAY, REGEXP_CONTAINS, ARRAY_LENGTH,
 *   [OFFSET(n)],
 *   SELECT * EXCEPT(...), MERGE t  -> DuckDB equivalents (EXCLUDE, MERGE INTO)
 *   UNNEST(array) AS x            -> UNNEST(array) AS x(x)   (so x.field reads a struct element)
 *   CURRENT_TIMESTAMP(), CURRENT_DATE() -> the caller's clock (the sandbox's simulated time), read
 *                                 when the statement runs: every translation starts by setting it,
 *                                 so a view that uses them sees the time it is queried at
 *   @name query parameters        -> typed literals
 */
export interface QueryParameter {
  type: string;
  /** Scalar value as BigQuery sends it (a string), or an array of them for ARRAY<T>. */
  value: string | null | Array<string | null>;
  arrayType?: string;
}

export interface DialectOptions {
  now: Date;
  params?: Readonly<Record<string, QueryParameter>>;
}

type Segment = { code: boolean; text: string };

function quote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** Splits SQL into code and literal segments, turning backticks and "strings" into DuckDB form. */
function segments(sql: string): Segment[] {
  const out: Segment[] = [];
  let code = '';
  let i = 0;
  const flush = (): void => {
    if (code) out.push({ code: true, text: code });
    code = '';
  };
  while (i < sql.length) {
    const c = sql[i] as string;
    if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      let text = '';
      while (j < sql.length && sql[j] !== c) {
        if (sql[j] === '\\' && c !== '`') {
          const next = sql[j + 1] ?? '';
          text += next === 'n' ? '\n' : next === 't' ? '\t' : next;
          j += 2;
        } else {
          text += sql[j];
          j++;
        }
      }
      if (j >= sql.length) throw new Error('Unterminated quoted text in SQL');
      flush();
      if (c === '`') {
        const parts = text.split('.');
        const name = parts.length >= 3 ? parts.slice(-2) : parts;
        out.push({ code: true, text: name.map((p) => `"${p.replace(/"/g, '""')}"`).join('.') });
      } else {
        out.push({ code: false, text: quote(text) });
      }
      i = j + 1;
    } else {
      code += c;
      i++;
    }
  }
  flush();
  return out;
}

/** Index of the parenthesis that closes the one opened just before `from`. */
function closingParen(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return i;
  }
  throw new Error('Unbalanced parentheses in SQL');
}

function splitArgs(text: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of text) {
    if (c === '(' || c === '[') depth++;
    if (c === ')' || c === ']') depth--;
    if (c === ',' && depth === 0) {
      args.push(current.trim());
      current = '';
    } else {
      current += c;
    }
  }
  if (current.trim() !== '') args.push(current.trim());
  return args;
}

/**
 * Rewrites every call `NAME(args)` with `rewrite(args)`, innermost calls included. The scan goes
 * on after each replacement, never over it: a rewrite may emit a DuckDB function of the same
 * name (DATE_TRUNC -> date_trunc), which must not be rewritten again.
 */
function rewriteCalls(text: string, name: string, rewrite: (args: string[]) => string): string {
  const pattern = new RegExp(`\\b${name}\\s*\\(`, 'gi');
  let out = '';
  let from = 0;
  for (;;) {
    pattern.lastIndex = from;
    const match = pattern.exec(text);
    if (!match) return out + text.slice(from);
    const open = match.index + match[0].length;
    const close = closingParen(text, open);
    const inner = rewriteCalls(text.slice(open, close), name, rewrite);
    out += text.slice(from, match.index) + rewrite(splitArgs(inner));
    from = close + 1;
  }
}

/**
 * `UNNEST(array) AS x` -> `UNNEST(array) AS x(x)`: DuckDB takes the alias for the table, so
 * `x.field` of a struct element would not resolve; naming the column too makes it resolve.
 */
function aliasUnnestElements(text: string): string {
  const pattern = /\bUNNEST\s*\(/gi;
  let out = '';
  let from = 0;
  for (;;) {
    pattern.lastIndex = from;
    const match = pattern.exec(text);
    if (!match) return out + text.slice(from);
    const close = closingParen(text, match.index + match[0].length);
    const alias = /^\s+AS\s+([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()/i.exec(text.slice(close + 1));
    const end = close + 1 + (alias ? alias[0].length : 0);
    out += text.slice(from, end) + (alias ? `(${alias[1]})` : '');
    from = end;
  }
}

function part(unit: string): string {
  return `'${unit.trim().toLowerCase()}'`;
}

function rewriteTypes(text: string): string {
  let out = text;
  // ARRAY<T> and STRUCT<a T, ...>, innermost first.
  for (let guard = 0; guard < 1000; guard++) {
    const match = /\b(ARRAY|STRUCT)\s*<([^<>]*)>/i.exec(out);
    if (!match) break;
    const inner = match[2] as string;
    const replacement =
      (match[1] as string).toUpperCase() === 'ARRAY' ? `${inner.trim()}[]` : `STRUCT(${inner})`;
    out = out.slice(0, match.index) + replacement + out.slice(match.index + match[0].length);
  }
  return out
    .replace(/\bBIGNUMERIC\b/gi, 'DECIMAL(38, 9)')
    .replace(/\bNUMERIC\b(?!\s*\()/gi, 'DECIMAL(38, 9)')
    .replace(/\bINT64\b/gi, 'BIGINT')
    .replace(/\bFLOAT64\b/gi, 'DOUBLE')
    .replace(/\bBOOL\b/gi, 'BOOLEAN')
    .replace(/\bSTRING\b/gi, 'VARCHAR')
    .replace(/\bBYTES\b/gi, 'BLOB')
    .replace(/\bDATETIME\b/gi, 'TIMESTAMP');
}

/** Index of `pattern` in `text` at parenthesis depth 0, from `from`, or -1. */
function topLevelIndex(text: string, pattern: RegExp, from = 0): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && pattern.test(text.slice(i, i + 40)) && /\W/.test(text[i - 1] ?? ' '))
      return i;
  }
  return -1;
}

/**
 * Removes DDL storage hints: PARTITION BY, CLUSTER BY and OPTIONS(...) clauses of CREATE TABLE
 * and CREATE VIEW statements (only at the statement's top level, so window clauses stay).
 */
function stripStorageHints(text: string): string {
  let out = text;
  for (let guard = 0; guard < 100; guard++) {
    const match = /\bOPTIONS\s*\(/i.exec(out);
    if (!match) break;
    const close = closingParen(out, match.index + match[0].length);
    out = out.slice(0, match.index) + out.slice(close + 1);
  }
  const statements = out.split(';');
  return statements
    .map((statement) => {
      if (!/^\s*CREATE\s+(OR\s+REPLACE\s+)?(TABLE|VIEW|MATERIALIZED\s+VIEW)\b/i.test(statement))
        return statement;
      let s = statement;
      for (const clause of [/^PARTITION\s+BY\b/i, /^CLUSTER\s+BY\b/i]) {
        const at = topLevelIndex(s, clause);
        if (at < 0) continue;
        const rest = s.slice(at);
        // The clause runs to the next top-level keyword that can follow it, or to the end.
        const next = [/^CLUSTER\s+BY\b/i, /^AS\s+(SELECT|WITH|\()/i]
          .map((p) => topLevelIndex(rest, p, 1))
          .filter((i) => i > 0);
        const stop = next.length > 0 ? Math.min(...next) : rest.length;
        s = s.slice(0, at) + rest.slice(stop);
      }
      return s;
    })
    .join(';');
}

function literal(param: QueryParameter, name: string): string {
  const scalar = (type: string, value: string | null): string => {
    if (value === null) return 'NULL';
    switch (type.toUpperCase()) {
      case 'STRING':
        return quote(value);
      case 'INT64':
      case 'INTEGER':
        if (!/^-?\d+$/.test(value)) throw new Error(`Parameter @${name} is not an integer`);
        return `CAST(${value} AS BIGINT)`;
      case 'FLOAT64':
      case 'FLOAT':
      case 'NUMERIC':
      case 'BIGNUMERIC':
        if (!Number.isFinite(Number(value))) throw new Error(`Parameter @${name} is not a number`);
        return type.toUpperCase().includes('NUMERIC')
          ? `CAST('${value}' AS DECIMAL(38, 9))`
          : `CAST(${value} AS DOUBLE)`;
      case 'BOOL':
      case 'BOOLEAN':
        return value === 'true' ? 'TRUE' : 'FALSE';
      case 'TIMESTAMP':
      case 'DATETIME':
        return `CAST(${quote(value)} AS TIMESTAMP)`;
      case 'DATE':
        return `CAST(${quote(value)} AS DATE)`;
      case 'JSON':
        return `CAST(${quote(value)} AS JSON)`;
      default:
        throw new Error(`Parameter @${name} has unsupported type ${type}`);
    }
  };
  if (param.type.toUpperCase() === 'ARRAY') {
    const values = Array.isArray(param.value) ? param.value : [];
    return `[${values.map((v) => scalar(param.arrayType ?? 'STRING', v)).join(', ')}]`;
  }
  if (Array.isArray(param.value))
    throw new Error(`Parameter @${name} is an array but typed ${param.type}`);
  return scalar(param.type, param.value);
}

// The simulated time, a DuckDB variable set by each translated statement (see toDuckDbSql).
const NOW_VARIABLE = 'costguard_now';

function rewriteCode(code: string, options: DialectOptions): string {
  let out = rewriteTypes(stripStorageHints(code));
  out = out
    .replace(
      /\bCURRENT_TIMESTAMP\b(\s*\(\s*\))?/gi,
      `CAST(getvariable('${NOW_VARIABLE}') AS TIMESTAMP)`,
    )
    .replace(/\bCURRENT_DATE\b(\s*\(\s*\))?/gi, `CAST(getvariable('${NOW_VARIABLE}') AS DATE)`)
    .replace(/\*\s*EXCEPT\s*\(/gi, '* EXCLUDE (')
    .replace(/(^|;)(\s*)MERGE\s+(?!INTO\b)/gi, '$1$2MERGE INTO ')
    .replace(
      /\[\s*(?:SAFE_)?OFFSET\s*\(\s*(\d+)\s*\)\s*\]/gi,
      (_m, n: string) => `[${Number(n) + 1}]`,
    )
    .replace(/\[\s*(?:SAFE_)?ORDINAL\s*\(\s*(\d+)\s*\)\s*\]/gi, '[$1]')
    .replace(/\bCOUNTIF\s*\(/gi, 'count_if(')
    .replace(/\bLOGICAL_OR\s*\(/gi, 'bool_or(')
    .replace(/\bLOGICAL_AND\s*\(/gi, 'bool_and(')
    .replace(/\bSAFE_CAST\s*\(/gi, 'TRY_CAST(')
    .replace(/\bARRAY_LENGTH\s*\(/gi, 'len(')
    .replace(/\bREGEXP_CONTAINS\s*\(/gi, 'regexp_matches(')
    .replace(/\bJSON_VALUE\s*\(/gi, 'json_extract_string(')
    .replace(/\bGENERATE_UUID\s*\(\s*\)/gi, 'CAST(uuid() AS VARCHAR)')
    .replace(/\bGENERATE_ARRAY\s*\(/gi, 'generate_series(');
  out = aliasUnnestElements(out);
  out = rewriteCalls(
    out,
    'SAFE_DIVIDE',
    ([a, b]) => `(CASE WHEN (${b}) = 0 THEN NULL ELSE (${a}) / (${b}) END)`,
  );
  // DATE_* before TIMESTAMP_*: the TIMESTAMP_* rewrites emit date_trunc and date_diff, which
  // the DATE_* patterns would otherwise take for BigQuery calls.
  out = rewriteCalls(
    out,
    'DATE_TRUNC',
    ([x, unit]) => `CAST(date_trunc(${part(unit ?? '')}, ${x}) AS DATE)`,
  );
  out = rewriteCalls(
    out,
    'TIMESTAMP_TRUNC',
    ([x, unit]) => `date_trunc(${part(unit ?? '')}, ${x})`,
  );
  out = rewriteCalls(out, 'TIMESTAMP_ADD', ([x, interval]) => `(${x} + ${interval})`);
  out = rewriteCalls(out, 'TIMESTAMP_SUB', ([x, interval]) => `(${x} - ${interval})`);
  out = rewriteCalls(out, 'DATE_ADD', ([x, interval]) => `CAST(${x} + ${interval} AS DATE)`);
  out = rewriteCalls(out, 'DATE_SUB', ([x, interval]) => `CAST(${x} - ${interval} AS DATE)`);
  out = rewriteCalls(
    out,
    'DATE_DIFF',
    ([a, b, unit]) => `date_diff(${part(unit ?? '')}, ${b}, ${a})`,
  );
  out = rewriteCalls(
    out,
    'TIMESTAMP_DIFF',
    ([a, b, unit]) => `date_diff(${part(unit ?? '')}, ${b}, ${a})`,
  );
  out = rewriteCalls(out, 'FORMAT_DATE', ([format, x]) => `strftime(${x}, ${format})`);
  out = rewriteCalls(out, 'FORMAT_TIMESTAMP', ([format, x]) => `strftime(${x}, ${format})`);
  out = rewriteCalls(out, 'TO_JSON_STRING', ([x]) => `CAST(to_json(${x}) AS VARCHAR)`);
  out = rewriteCalls(out, 'PARSE_JSON', ([x]) => `CAST(${x} AS JSON)`);
  // DATE(ts) with one argument is a cast; DATE 'literal' is left alone.
  out = rewriteCalls(out, 'DATE', (args) =>
    args.length === 1 ? `CAST(${args[0]} AS DATE)` : `make_date(${args.join(', ')})`,
  );
  out = rewriteCalls(out, 'TIMESTAMP', ([x]) => `CAST(${x} AS TIMESTAMP)`);
  if (options.params) {
    out = out.replace(/@([A-Za-z_][A-Za-z0-9_]*)/g, (_m, name: string) => {
      const param = options.params?.[name];
      if (!param) throw new Error(`Query parameter @${name} was not given`);
      return literal(param, name);
    });
  }
  return out;
}

export function toDuckDbSql(sql: string, options: DialectOptions): string {
  const parts = segments(sql);
  // Rewrites that span a call need the whole text: literals are swapped for placeholders first.
  const literals: string[] = [];
  const joined = parts
    .map((s) => {
      if (s.code) return s.text;
      literals.push(s.text);
      return `\u0001${literals.length - 1}\u0001`;
    })
    .join('');
  const rewritten = rewriteCode(joined, options);
  const now = options.now.toISOString().replace('T', ' ').replace('Z', '');
  return `SET VARIABLE ${NOW_VARIABLE} = TIMESTAMP '${now}';\n${rewritten.replace(
    /\u0001(\d+)\u0001/g,
    (_m, i: string) => literals[Number(i)] as string,
  )}`;
}
