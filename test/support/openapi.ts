// Checks what an HTTP caller of triggerRun received against the run API's OpenAPI document
// (docs/openapi.json): the status is documented for the operation, the media type is one it
// lists, the body matches its JSON Schema (2020-12, as OpenAPI 3.1 uses) and the documented
// headers are there. The run tests call it on every response, so the document cannot drift.
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { ROOT } from './fixtures.js';

export const RUN_API_DOCUMENT_FILE = `${ROOT}docs/openapi.json`;
const DOCUMENT_ID = 'openapi.json';

type Json = Record<string, unknown>;

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Json;
}

interface Response {
  description: string;
  headers?: Record<string, Json>;
  content?: Record<string, { schema?: Json }>;
}

export const runApiDocument = JSON.parse(readFileSync(RUN_API_DOCUMENT_FILE, 'utf8')) as {
  openapi: string;
  paths: Record<string, Record<string, Json>>;
  components: Json;
};

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(runApiDocument, DOCUMENT_ID);

const validators = new Map<string, ValidateFunction>();

/** The schema at a JSON pointer of the document, compiled once. */
export function schemaAt(pointer: string): ValidateFunction {
  let validate = validators.get(pointer);
  if (!validate) {
    validate = ajv.compile({ $ref: `${DOCUMENT_ID}#${pointer}` });
    validators.set(pointer, validate);
  }
  return validate;
}

const escape = (segment: string): string => segment.replace(/~/g, '~0').replace(/\//g, '~1');

/** Follows `$ref`s within the document; returns the object and its JSON pointer. */
function resolve<T>(value: Json, pointer: string): { value: T; pointer: string } {
  const ref = value.$ref;
  if (typeof ref !== 'string') return { value: value as T, pointer };
  const target = ref.replace(/^#/, '');
  const found = target
    .split('/')
    .slice(1)
    .reduce<unknown>(
      (node, part) => (node as Json)[part.replace(/~1/g, '/').replace(/~0/g, '~')],
      runApiDocument,
    );
  return resolve<T>(found as Json, target);
}

function parametersOf(pathItem: Json, operation: Json | undefined): Parameter[] {
  const listed = [
    ...((pathItem.parameters as Json[] | undefined) ?? []),
    ...((operation?.parameters as Json[] | undefined) ?? []),
  ];
  return listed.map((p) => resolve<Parameter>(p, '').value);
}

/** The documented path a request path is, with its path parameters valid; else undefined. */
function matchPath(path: string): string | undefined {
  for (const [template, pathItem] of Object.entries(runApiDocument.paths)) {
    const names: string[] = [];
    const pattern = template
      .split(/(\{[^}]+\})/)
      .map((part) => {
        const name = /^\{([^}]+)\}$/.exec(part)?.[1];
        if (!name) return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
        names.push(name);
        return '([^/]+?)';
      })
      .join('');
    const match = new RegExp(`^${pattern}$`).exec(path);
    if (!match) continue;
    const params = parametersOf(pathItem, undefined);
    const valid = names.every((name, i) => {
      const param = params.find((p) => p.in === 'path' && p.name === name);
      return param?.schema !== undefined && ajv.validate(param.schema, match[i + 1]);
    });
    if (valid) return template;
  }
  return undefined;
}

export interface ReceivedResponse {
  readonly method: string;
  /** The request path, with its query if any. */
  readonly path: string;
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** What does not match the document in a response; empty when it matches. */
export function runApiProblems(received: ReceivedResponse): string[] {
  const path = received.path.split('?')[0]!.replace(/\/+$/, '') || '/';
  const method = received.method.toLowerCase();
  const template = matchPath(path);
  const pathItem = template ? runApiDocument.paths[template] : undefined;
  const operation = pathItem?.[method];

  let expected: { value: Response; pointer: string } | undefined;
  let where: string;
  if (!template || !pathItem || !operation) {
    // Any other path is 404 and any other method 405, each once the caller is authenticated.
    const [status, name] = !operation && template ? [405, 'MethodNotAllowed'] : [404, 'NotFound'];
    where = `${received.method} ${template ?? path} (not documented)`;
    if (received.status !== status && received.status !== 401) {
      return [`${where}: answered ${received.status}, not ${status} or 401`];
    }
    const answer = received.status === 401 ? 'Unauthorized' : name;
    expected = resolve<Response>({ $ref: `#/components/responses/${answer}` }, '');
  } else {
    where = `${received.method} ${template} ${received.status}`;
    const responses = operation.responses as Record<string, Json>;
    const documented = responses[String(received.status)] ?? responses.default;
    if (!documented) {
      return [`${where}: status not documented (documented: ${Object.keys(responses).join(', ')})`];
    }
    const key = responses[String(received.status)] ? String(received.status) : 'default';
    expected = resolve<Response>(
      documented,
      `/paths/${escape(template)}/${method}/responses/${key}`,
    );
  }

  const problems: string[] = [];
  for (const [name, header] of Object.entries(expected.value.headers ?? {})) {
    const spec = resolve<{ required?: boolean; schema?: Json }>(header, '').value;
    const value = received.headers.get(name);
    if (value === null) {
      if (spec.required) problems.push(`${where}: header ${name} is missing`);
    } else if (spec.schema && !ajv.validate(spec.schema, value)) {
      problems.push(`${where}: header ${name}: ${ajv.errorsText()}`);
    }
  }

  const mediaType = (received.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const content = expected.value.content ?? {};
  if (!(mediaType in content)) {
    problems.push(
      `${where}: media type '${mediaType}' not documented (documented: ${Object.keys(content).join(', ') || 'none'})`,
    );
    return problems;
  }
  if (mediaType === 'application/json') {
    let body: unknown;
    try {
      body = JSON.parse(received.text);
    } catch {
      return [...problems, `${where}: the body is not JSON`];
    }
    const validate = schemaAt(`${expected.pointer}/content/${escape(mediaType)}/schema`);
    if (!validate(body)) {
      problems.push(`${where}: body ${ajv.errorsText(validate.errors, { dataVar: 'body' })}`);
    }
  }
  return problems;
}
