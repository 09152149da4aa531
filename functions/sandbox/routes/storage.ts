/**
 * Cloud Storage JSON API, the object calls run status needs: list objects under a prefix
 * (`GET /storage/v1/b/B/o`), read an object's metadata or its media (`?alt=media`, with Range),
 * upload one (`POST /upload/storage/v1/b/B/o`, `uploadType=media` or `multipart`, as
 * `file.save({resumable: false})` sends it, with `ifGenerationMatch`) and delete one. Only the
 * live generation of an object is kept; `generation=N` finds it only while it is live. Buckets exist on first write.
 * Objects carry md5Hash and crc32c, which the client checks after an upload.
 */

import { createHash } from 'node:crypto';
import {
  fail,
  multipartUpload,
  notFound,
  page,
  route,
  type SandboxReply,
  type SandboxRequest,
} from '../http.js';
import type { Sandbox, SandboxModule } from '../sandbox.js';

export interface SimObject {
  readonly data: Buffer;
  readonly contentType: string;
  readonly generation: string;
  readonly updated: string;
}

interface StorageState {
  buckets: Map<string, Map<string, SimObject>>;
  generation: number;
}

export function storageState(sandbox: Sandbox): StorageState {
  return sandbox.extension<StorageState>('storage', () => ({ buckets: new Map(), generation: 0 }));
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32C (Castagnoli) as Cloud Storage reports it: base64 of the big-endian 32-bit value. */
export function crc32c(data: Buffer): string {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC32C_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}

/** Writes an object as a VM or a test would, outside the HTTP API. */
export function putObject(
  sandbox: Sandbox,
  bucket: string,
  name: string,
  data: string | Buffer,
  contentType = 'text/plain',
): SimObject {
  const state = storageState(sandbox);
  let objects = state.buckets.get(bucket);
  if (!objects) {
    objects = new Map();
    state.buckets.set(bucket, objects);
  }
  const object: SimObject = {
    data: Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8'),
    contentType,
    generation: String(sandbox.clock.nowMs() * 1000 + ++state.generation),
    updated: sandbox.clock.now().toISOString(),
  };
  objects.set(name, object);
  return object;
}

export function getObject(sandbox: Sandbox, bucket: string, name: string): SimObject | undefined {
  return storageState(sandbox).buckets.get(bucket)?.get(name);
}

function render(bucket: string, name: string, object: SimObject): Record<string, unknown> {
  const encoded = encodeURIComponent(name);
  return {
    kind: 'storage#object',
    id: `${bucket}/${name}/${object.generation}`,
    selfLink: `https://www.googleapis.com/storage/v1/b/${bucket}/o/${encoded}`,
    mediaLink: `https://storage.googleapis.com/download/storage/v1/b/${bucket}/o/${encoded}?generation=${object.generation}&alt=media`,
    name,
    bucket,
    generation: object.generation,
    metageneration: '1',
    contentType: object.contentType,
    storageClass: 'STANDARD',
    size: String(object.data.length),
    md5Hash: createHash('md5').update(object.data).digest('base64'),
    crc32c: crc32c(object.data),
    etag: createHash('sha1').update(object.generation).digest('base64').slice(0, 12),
    timeCreated: object.updated,
    updated: object.updated,
  };
}

function objectOf(
  sandbox: Sandbox,
  request: SandboxRequest,
): { bucket: string; name: string; object: SimObject } {
  const bucket = request.params.bucket as string;
  const name = request.params.object as string;
  const object = getObject(sandbox, bucket, name);
  // Only the live generation is kept: asking for an older one finds nothing, as after a delete.
  const generation = request.query.get('generation');
  if (!object || (generation !== null && generation !== object.generation)) {
    notFound(`No such object: ${bucket}/${name}`);
  }
  return { bucket, name, object };
}

const routes = [
  route<Sandbox>('storage.objects.list', 'GET', '/storage/v1/b/{bucket}/o', (request, sandbox) => {
    const bucket = request.params.bucket as string;
    const prefix = request.query.get('prefix') ?? '';
    const objects = [...(storageState(sandbox).buckets.get(bucket) ?? new Map<string, SimObject>())]
      .filter(([name]) => name.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, object]) => render(bucket, name, object));
    const { items, nextPageToken } = page(objects, request.query, { maxSize: 1000 });
    return {
      body: {
        kind: 'storage#objects',
        ...(items.length > 0 ? { items } : {}),
        ...(nextPageToken ? { nextPageToken } : {}),
      },
    };
  }),
  route<Sandbox>(
    'storage.objects.get',
    'GET',
    '/storage/v1/b/{bucket}/o/{object*}',
    (request, sandbox): SandboxReply => {
      const { bucket, name, object } = objectOf(sandbox, request);
      if (request.query.get('alt') !== 'media') return { body: render(bucket, name, object) };
      const range = /^bytes=(\d+)-(\d*)$/.exec(String(request.headers.range ?? ''));
      if (!range) {
        return {
          raw: object.data,
          headers: {
            'content-type': object.contentType,
            'x-goog-hash': `crc32c=${crc32c(object.data)},md5=${createHash('md5').update(object.data).digest('base64')}`,
            'x-goog-generation': object.generation,
          },
        };
      }
      const start = Number(range[1]);
      const end = Math.min(
        object.data.length - 1,
        range[2] ? Number(range[2]) : object.data.length - 1,
      );
      if (start >= object.data.length && object.data.length > 0) {
        return {
          status: 416,
          raw: '',
          headers: { 'content-range': `bytes */${object.data.length}` },
        };
      }
      return {
        status: object.data.length === 0 ? 200 : 206,
        raw: object.data.subarray(start, end + 1),
        headers: {
          'content-type': object.contentType,
          ...(object.data.length > 0
            ? { 'content-range': `bytes ${start}-${end}/${object.data.length}` }
            : {}),
          'x-goog-generation': object.generation,
        },
      };
    },
  ),
  route<Sandbox>(
    'storage.objects.insert',
    'POST',
    '/upload/storage/v1/b/{bucket}/o',
    (request, sandbox) => {
      const bucket = request.params.bucket as string;
      const uploadType = request.query.get('uploadType');
      let name = request.query.get('name') ?? undefined;
      let data: Buffer;
      let contentType: string;
      if (uploadType === 'media') {
        data = request.rawBody;
        contentType = request.headers['content-type'] ?? 'application/octet-stream';
      } else if (uploadType === 'multipart') {
        const upload = multipartUpload(request);
        data = upload.data;
        contentType =
          typeof upload.metadata.contentType === 'string'
            ? upload.metadata.contentType
            : upload.contentType;
        if (typeof upload.metadata.name === 'string') name = upload.metadata.name;
      } else {
        fail(400, `The sandbox accepts uploadType=media or multipart, not ${uploadType ?? 'none'}`);
      }
      if (!name) fail(400, 'Required parameter: name');
      const ifGenerationMatch = request.query.get('ifGenerationMatch');
      if (ifGenerationMatch !== null) {
        const current = getObject(sandbox, bucket, name)?.generation ?? '0';
        if (current !== ifGenerationMatch) {
          fail(
            412,
            'At least one of the pre-conditions you specified did not hold.',
            'conditionNotMet',
          );
        }
      }
      return { body: render(bucket, name, putObject(sandbox, bucket, name, data, contentType)) };
    },
  ),
  route<Sandbox>(
    'storage.objects.delete',
    'DELETE',
    '/storage/v1/b/{bucket}/o/{object*}',
    (request, sandbox) => {
      const { bucket, name } = objectOf(sandbox, request);
      storageState(sandbox).buckets.get(bucket)?.delete(name);
      return { status: 204 };
    },
  ),
];

export const storageModule: SandboxModule = { name: 'storage', routes };
