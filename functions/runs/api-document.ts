/**
 * The run API's OpenAPI 3.1 document (`docs/openapi.json`, staged with the function source),
 * served at `GET /openapi.json`. Read once, on the first request for it; with a public URL
 * configured, that URL is the document's only server.
 */
import { readFileSync } from 'node:fs';
import { repositoryPath } from '../core/repository-path.js';

export const API_DOCUMENT_PATH = 'docs/openapi.json';

let document: Record<string, unknown> | undefined;

export function runApiDocument(publicUrl: string): Record<string, unknown> {
  document ??= JSON.parse(readFileSync(repositoryPath(API_DOCUMENT_PATH), 'utf8')) as Record<
    string,
    unknown
  >;
  return publicUrl ? { ...document, servers: [{ url: publicUrl }] } : document;
}
