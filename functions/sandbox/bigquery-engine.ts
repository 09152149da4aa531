/**
 * BigQuery storage and query execution on embedded DuckDB: a dataset is a DuckDB schema, a
 * table a DuckDB table. Statements are serialised through one connection.
 */

import { textOf } from './http.js';
import {
  DuckDBInstance,
  DuckDBTypeId,
  type DuckDBConnection,
  type DuckDBType,
} from '@duckdb/node-api';
import { toDuckDbSql, type QueryParameter } from './bigquery-dialect.js';

export interface BigQueryField {
  name: string;
  type: string;
  mode: 'NULLABLE' | 'REQUIRED' | 'REPEATED';
  fields?: BigQueryField[];
}

export interface QueryResult {
  fields: BigQueryField[];
  /** JSON-friendly values (strings for 64-bit integers, decimals and times). */
  rows: unknown[][];
  statementType: string;
  affectedRows: number;
}

function bigQueryType(type: DuckDBType): {
  type: string;
  fields?: BigQueryField[];
  repeated?: boolean;
} {
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
      return { type: type.alias === 'JSON' ? 'JSON' : 'STRING' };
    case DuckDBTypeId.BOOLEAN:
      return { type: 'BOOLEAN' };
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.UBIGINT:
      return { type: 'INTEGER' };
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return { type: 'FLOAT' };
    case DuckDBTypeId.DECIMAL:
      return { type: 'NUMERIC' };
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_NS:
      return { type: 'TIMESTAMP' };
    case DuckDBTypeId.DATE:
      return { type: 'DATE' };
    case DuckDBTypeId.BLOB:
      return { type: 'BYTES' };
    case DuckDBTypeId.LIST:
      return { ...bigQueryType(type.valueType), repeated: true };
    case DuckDBTypeId.STRUCT: {
      const struct = type;
      return {
        type: 'RECORD',
        fields: struct.entryNames.map((n, i) =>
          toField(n, struct.entryTypes[i] as DuckDBType, true),
        ),
      };
    }
    case DuckDBTypeId.SQLNULL:
      return { type: 'STRING' };
    default:
      return { type: 'STRING' };
  }
}

function toField(name: string, type: DuckDBType, nullable: boolean): BigQueryField {
  const t = bigQueryType(type);
  return {
    name,
    type: t.type,
    mode: t.repeated ? 'REPEATED' : nullable ? 'NULLABLE' : 'REQUIRED',
    ...(t.fields ? { fields: t.fields } : {}),
  };
}

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function quote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

export class RowError extends Error {}

/** A JSON value from insertAll as a DuckDB literal of the column's type. */
function literal(value: unknown, type: DuckDBType, column: string): string {
  if (value === null || value === undefined) return 'NULL';
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
      if (type.alias === 'JSON')
        return `CAST(${quote(typeof value === 'string' ? value : JSON.stringify(value))} AS JSON)`;
      if (typeof value === 'object') throw new RowError(`This field: ${column} is not a record.`);
      return quote(textOf(value));
    case DuckDBTypeId.BOOLEAN:
      if (value === true || value === 'true') return 'TRUE';
      if (value === false || value === 'false') return 'FALSE';
      throw new RowError(`Cannot convert value to boolean: ${column}`);
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.HUGEINT: {
      const text = textOf(value);
      if (!/^-?\d+$/.test(text))
        throw new RowError(`Cannot convert value to integer: ${column}=${text}`);
      return text;
    }
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.FLOAT: {
      const n = Number(value);
      if (typeof value === 'boolean' || !Number.isFinite(n))
        throw new RowError(`Cannot convert value to floating point: ${column}`);
      return `CAST(${n} AS DOUBLE)`;
    }
    case DuckDBTypeId.DECIMAL:
      return `CAST('${numericText(textOf(value), column)}' AS DECIMAL(38, 9))`;
    case DuckDBTypeId.TIMESTAMP: {
      let ms: number;
      if (typeof value === 'number') ms = value * 1000;
      else if (typeof value === 'string')
        ms = Date.parse(
          /[zZ]|[+-]\d\d:?\d\d$/.test(value)
            ? value.replace(' ', 'T')
            : `${value.replace(' ', 'T')}Z`,
        );
      else ms = Number.NaN;
      if (Number.isNaN(ms))
        throw new RowError(`Could not parse '${textOf(value)}' as a timestamp (${column})`);
      return `TIMESTAMP '${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}'`;
    }
    case DuckDBTypeId.DATE:
      if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value))
        throw new RowError(`Invalid date: ${column}`);
      return `DATE '${value}'`;
    case DuckDBTypeId.LIST: {
      if (!Array.isArray(value))
        throw new RowError(`Field ${column} is repeated; expected an array`);
      const inner = type.valueType;
      return `[${value.map((v) => literal(v, inner, column)).join(', ')}]`;
    }
    case DuckDBTypeId.STRUCT: {
      if (typeof value !== 'object' || Array.isArray(value))
        throw new RowError(`This field: ${column} is a record.`);
      const struct = type;
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        if (!struct.entryNames.includes(key))
          throw new RowError(`no such field: ${column}.${key}.`);
      }
      return `{${struct.entryNames.map((n, i) => `${quote(n)}: ${literal(record[n], struct.entryTypes[i] as DuckDBType, `${column}.${n}`)}`).join(', ')}}`;
    }
    default:
      return quote(textOf(value));
  }
}

/** A validated scalar JSON value as the text DuckDB's appender casts to the column type. */
function appenderText(value: unknown, type: DuckDBType): string | null {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
      return typeof value === 'string' ? value : JSON.stringify(value);
    case DuckDBTypeId.TIMESTAMP: {
      const ms =
        typeof value === 'number'
          ? value * 1000
          : Date.parse(
              /[zZ]|[+-]\d\d:?\d\d$/.test(textOf(value))
                ? textOf(value).replace(' ', 'T')
                : `${textOf(value).replace(' ', 'T')}Z`,
            );
      return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
    }
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.FLOAT:
      return String(Number(value));
    default:
      return textOf(value);
  }
}

export interface TableColumns {
  names: string[];
  types: DuckDBType[];
  required: boolean[];
}

export class BigQueryEngine {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  static async create(path = ':memory:'): Promise<BigQueryEngine> {
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    await connection.run("SET TimeZone = 'UTC'");
    return new BigQueryEngine(instance, connection);
  }

  /** Runs `work` after every earlier statement has finished. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async schemaExists(dataset: string): Promise<boolean> {
    const rows = await this.rows(
      `SELECT 1 FROM information_schema.schemata WHERE schema_name = ${quote(dataset)}`,
    );
    return rows.length > 0;
  }

  createSchema(dataset: string): Promise<void> {
    return this.serial(async () => {
      await this.connection.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(dataset)}`);
    });
  }

  dropSchema(dataset: string): Promise<void> {
    return this.serial(async () => {
      await this.connection.run(`DROP SCHEMA IF EXISTS ${quoteIdentifier(dataset)} CASCADE`);
    });
  }

  async tables(dataset: string): Promise<Array<{ name: string; view: boolean }>> {
    const rows = await this.rows(
      `SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = ${quote(dataset)} ORDER BY table_name`,
    );
    return rows.map((r) => ({ name: textOf(r[0]), view: r[1] === 'VIEW' }));
  }

  async columns(dataset: string, table: string): Promise<TableColumns | undefined> {
    return this.serial(async () => {
      const exists = await this.connection.runAndReadAll(
        `SELECT 1 FROM information_schema.tables WHERE table_schema = ${quote(dataset)} AND table_name = ${quote(table)}`,
      );
      if (exists.currentRowCount === 0) return undefined;
      const reader = await this.connection.runAndReadAll(
        `SELECT * FROM ${quoteIdentifier(dataset)}.${quoteIdentifier(table)} LIMIT 0`,
      );
      const nullable = await this.connection.runAndReadAll(
        `SELECT column_name, is_nullable FROM information_schema.columns WHERE table_schema = ${quote(dataset)} AND table_name = ${quote(table)}`,
      );
      const required = new Map(nullable.getRowsJson().map((r) => [textOf(r[0]), r[1] === 'NO']));
      const names = reader.columnNames();
      return {
        names,
        types: reader.columnTypes(),
        required: names.map((n) => required.get(n) ?? false),
      };
    });
  }

  async schema(dataset: string, table: string): Promise<BigQueryField[] | undefined> {
    const columns = await this.columns(dataset, table);
    return columns?.names.map((n, i) =>
      toField(n, columns.types[i] as DuckDBType, !columns.required[i]),
    );
  }

  async count(dataset: string, table: string): Promise<number> {
    const rows = await this.rows(
      `SELECT count(*) FROM ${quoteIdentifier(dataset)}.${quoteIdentifier(table)}`,
    );
    return Number(rows[0]?.[0] ?? 0);
  }

  private rows(sql: string): Promise<unknown[][]> {
    return this.serial(
      async () => (await this.connection.runAndReadAll(sql)).getRowsJson() as unknown[][],
    );
  }

  /** Inserts JSON rows; every row is converted first, so a bad row inserts nothing. */
  /**
   * Inserts JSON rows (already validated with `rowProblem`). Scalar columns go through DuckDB's
   * appender, which casts text to each column's type (about five times faster than a VALUES
   * statement); tables with LIST or STRUCT columns take the VALUES path.
   */
  async insert(
    dataset: string,
    table: string,
    columns: TableColumns,
    rows: Array<Record<string, unknown>>,
  ): Promise<void> {
    if (rows.length === 0) return;
    const nested = columns.types.some(
      (t) => t.typeId === DuckDBTypeId.LIST || t.typeId === DuckDBTypeId.STRUCT,
    );
    if (!nested) {
      await this.serial(async () => {
        const appender = await this.connection.createAppender(table, dataset);
        try {
          for (const row of rows) {
            columns.names.forEach((n, i) => {
              const text = appenderText(row[n], columns.types[i] as DuckDBType);
              if (text === null) appender.appendNull();
              else appender.appendVarchar(text);
            });
            appender.endRow();
          }
          appender.flushSync();
        } finally {
          appender.closeSync();
        }
      });
      return;
    }
    const values = rows.map(
      (row) =>
        `(${columns.names
          .map((n, i) => {
            const v = row[n];
            if ((v === undefined || v === null) && columns.required[i])
              throw new RowError(`Missing required field: ${n}.`);
            return literal(v, columns.types[i] as DuckDBType, n);
          })
          .join(', ')})`,
    );
    const sql = `INSERT INTO ${quoteIdentifier(dataset)}.${quoteIdentifier(table)} (${columns.names.map(quoteIdentifier).join(', ')}) VALUES ${values.join(',\n')}`;
    await this.serial(() => this.connection.run(sql));
  }

  /** Validates one row against the columns, returning the problem or undefined. */
  static rowProblem(
    columns: TableColumns,
    row: Record<string, unknown>,
    ignoreUnknown: boolean,
  ): string | undefined {
    if (!ignoreUnknown) {
      const unknown = Object.keys(row).filter((k) => !columns.names.includes(k));
      if (unknown.length > 0) return `no such field: ${unknown.join(', ')}.`;
    }
    try {
      columns.names.forEach((n, i) => {
        const v = row[n];
        if ((v === undefined || v === null) && columns.required[i])
          throw new RowError(`Missing required field: ${n}.`);
        literal(v, columns.types[i] as DuckDBType, n);
      });
    } catch (error) {
      if (error instanceof RowError) return error.message;
      throw error;
    }
    return undefined;
  }

  /** Runs BigQuery SQL (one statement or a script); the last statement's result is returned. */
  query(
    sql: string,
    options: { now: Date; params?: Record<string, QueryParameter> },
  ): Promise<QueryResult> {
    const translated = toDuckDbSql(sql, options);
    return this.serial(async () => {
      const statements = await this.connection.extractStatements(translated);
      let result: QueryResult = { fields: [], rows: [], statementType: 'SCRIPT', affectedRows: 0 };
      const texts = splitStatements(translated);
      for (let i = 0; i < statements.count; i++) {
        const prepared = await statements.prepare(i);
        const reader = await prepared.runAndReadAll();
        const kind = statementType(texts[i] ?? '');
        const names = reader.columnNames();
        const types = reader.columnTypes();
        const isDml = ['INSERT', 'UPDATE', 'DELETE', 'MERGE'].includes(kind);
        const rows =
          isDml || kind.startsWith('CREATE') || kind.startsWith('DROP')
            ? []
            : (reader.getRowsJson() as unknown[][]);
        const affected = isDml ? Number(reader.getRowsJson()[0]?.[0] ?? 0) : 0;
        result = {
          fields: isDml ? [] : names.map((n, j) => toField(n, types[j] as DuckDBType, true)),
          rows,
          statementType: kind,
          affectedRows: affected,
        };
      }
      return result;
    });
  }

  async close(): Promise<void> {
    await this.queue;
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoteChar: string | undefined;
  for (const c of sql) {
    if (quoteChar) {
      if (c === quoteChar) quoteChar = undefined;
    } else if (c === "'" || c === '"') {
      quoteChar = c;
    } else if (c === ';') {
      if (current.trim()) out.push(current.trim());
      current = '';
      continue;
    }
    current += c;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

function statementType(sql: string): string {
  const words = sql
    .replace(/^\s*(\(|WITH\b[\s\S]*?\)\s*(?=SELECT|INSERT|MERGE|UPDATE|DELETE))?/i, '')
    .trim()
    .split(/\s+/);
  const first = (words[0] ?? '').toUpperCase();
  if (first === 'CREATE' || first === 'DROP') {
    const isView = /\bVIEW\b/i.test(sql.slice(0, 80));
    return `${first}_${isView ? 'VIEW' : /\bSCHEMA\b/i.test(sql.slice(0, 40)) ? 'SCHEMA' : 'TABLE'}`;
  }
  return first === 'WITH' || first === '(' ? 'SELECT' : first;
}

/**
 * A NUMERIC value in the notations BigQuery takes (`12`, `-1.50`, `+.5`, `5.`, `1.5e3`, `2E-4`),
 * as a plain decimal; refused, as BigQuery refuses it, when it has more than 29 integer digits
 * (NUMERIC is precision 38, scale 9) or more than 9 decimal digits.
 */
export function numericText(text: string, column: string): string {
  const match = /^\s*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/.exec(text);
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) {
    throw new RowError(`Invalid NUMERIC value: ${column}=${text}`);
  }
  const sign = match[1] === '-' ? '-' : '';
  let digits = `${match[2]}${match[3] ?? ''}`;
  let point = (match[2] ?? '').length + Number(match[4] ?? 0);
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits += '0'.repeat(point - digits.length);
  const whole = digits.slice(0, point).replace(/^0+(?=\d)/, '') || '0';
  const fraction = digits.slice(point).replace(/0+$/, '');
  if (whole.replace(/^0$/, '').length > 29) {
    throw new RowError(`Invalid NUMERIC value: ${text} is out of range (${column})`);
  }
  if (fraction.length > 9) {
    throw new RowError(`Invalid NUMERIC value: ${text} has more than 9 decimal digits (${column})`);
  }
  const plain = fraction === '' ? whole : `${whole}.${fraction}`;
  return sign && plain !== '0' ? `-${plain}` : plain;
}
