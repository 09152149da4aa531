/**
 * Decodes a JSON reply against the message definitions a client library ships
 * (`build/protos/protos.json` of each `@google-cloud/*` package) and lists what the real API
 * could not have sent: fields the message does not have, values of the wrong JSON type, enum
 * names it does not know. `google.protobuf.Any` values are checked against their `@type`.
 */

import { createRequire } from 'node:module';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const roots = new Map<string, protobuf.Root>();

export function protoRoot(pkg: string): protobuf.Root {
  let root = roots.get(pkg);
  if (!root) {
    root = protobuf.Root.fromJSON(
      require(`${pkg}/build/protos/protos.json`) as protobuf.INamespace,
    );
    roots.set(pkg, root);
  }
  return root;
}

const JSON_STRING_TYPES = new Set([
  'google.protobuf.Timestamp',
  'google.protobuf.Duration',
  'google.protobuf.FieldMask',
]);
const ANY_JSON_TYPES = new Set([
  'google.protobuf.Struct',
  'google.protobuf.Value',
  'google.protobuf.ListValue',
]);
const WRAPPERS: Record<string, string> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

function scalarIssue(type: string, value: unknown): string | undefined {
  switch (type) {
    case 'string':
    case 'bytes':
      return typeof value === 'string'
        ? undefined
        : `expected a string, got ${JSON.stringify(value)}`;
    case 'bool':
      return typeof value === 'boolean'
        ? undefined
        : `expected a boolean, got ${JSON.stringify(value)}`;
    case 'double':
    case 'float':
      return typeof value === 'number' || ['NaN', 'Infinity', '-Infinity'].includes(String(value))
        ? undefined
        : `expected a number, got ${JSON.stringify(value)}`;
    case 'int32':
    case 'uint32':
    case 'sint32':
    case 'fixed32':
    case 'sfixed32':
      return Number.isInteger(value)
        ? undefined
        : `expected an integer, got ${JSON.stringify(value)}`;
    default:
      // 64-bit integers: a decimal string (or a number, which the JSON mapping also accepts).
      return (typeof value === 'string' && /^-?\d+$/.test(value)) || Number.isInteger(value)
        ? undefined
        : `expected a 64-bit integer, got ${JSON.stringify(value)}`;
  }
}

function checkValue(
  root: protobuf.Root,
  field: protobuf.Field,
  value: unknown,
  path: string,
  issues: string[],
): void {
  if (value === null) return;
  field.resolve();
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    const known =
      (typeof value === 'string' && value in resolved.values) ||
      (typeof value === 'number' && Object.values(resolved.values).includes(value));
    if (!known)
      issues.push(`${path}: ${JSON.stringify(value)} is not a value of ${resolved.fullName}`);
    return;
  }
  if (resolved instanceof protobuf.Type) {
    checkMessage(root, resolved, value, path, issues);
    return;
  }
  const issue = scalarIssue(field.type, value);
  if (issue) issues.push(`${path}: ${issue}`);
}

function checkMessage(
  root: protobuf.Root,
  type: protobuf.Type,
  value: unknown,
  path: string,
  issues: string[],
): void {
  const name = type.fullName.replace(/^\./, '');
  if (ANY_JSON_TYPES.has(name)) return;
  if (JSON_STRING_TYPES.has(name)) {
    if (typeof value !== 'string') issues.push(`${path}: ${name} must be a string`);
    return;
  }
  const wrapped = WRAPPERS[name];
  if (wrapped) {
    const issue = scalarIssue(wrapped, value);
    if (issue) issues.push(`${path}: ${issue}`);
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push(`${path}: expected a ${name} object, got ${JSON.stringify(value)}`);
    return;
  }
  let target = type;
  const entries = Object.entries(value as Record<string, unknown>);
  if (name === 'google.protobuf.Any') {
    const url = (value as { '@type'?: unknown })['@type'];
    const inner = typeof url === 'string' ? root.lookup(url.replace(/^.*\//, '')) : null;
    if (!(inner instanceof protobuf.Type)) return;
    target = inner;
  }
  const byJsonName = new Map<string, protobuf.Field>();
  for (const f of target.fieldsArray) {
    byJsonName.set(f.name, f);
    const jsonName = f.options?.json_name as string | undefined;
    if (jsonName) byJsonName.set(jsonName, f);
  }
  for (const [key, fieldValue] of entries) {
    if (key === '@type' && name === 'google.protobuf.Any') continue;
    const field = byJsonName.get(key);
    const at = `${path}.${key}`;
    if (!field) {
      issues.push(`${at}: ${target.fullName.replace(/^\./, '')} has no field ${key}`);
      continue;
    }
    if (field.map) {
      if (typeof fieldValue !== 'object' || fieldValue === null)
        issues.push(`${at}: expected a map`);
      else {
        for (const [k, v] of Object.entries(fieldValue))
          checkValue(root, field, v, `${at}[${k}]`, issues);
      }
    } else if (field.repeated) {
      if (!Array.isArray(fieldValue)) issues.push(`${at}: expected a list`);
      else fieldValue.forEach((v, i) => checkValue(root, field, v, `${at}[${i}]`, issues));
    } else checkValue(root, field, fieldValue, at, issues);
  }
}

/** What in `json` a `typeName` message of the library's definitions could not hold. */
export function conformanceIssues(pkg: string, typeName: string, json: unknown): string[] {
  const root = protoRoot(pkg);
  const type = root.lookupType(typeName);
  const issues: string[] = [];
  checkMessage(root, type, json, typeName.split('.').pop() ?? typeName, issues);
  return issues;
}
