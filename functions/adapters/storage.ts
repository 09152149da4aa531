/**
 * Cloud Storage objects, as the run trigger and the remote client need them: list the objects
 * under a prefix (one page for a run's markers, every page for its results), look one up, read
 * the head of a small object, write one, upload a local file once (never over another
 * generation) and download one to a file. Paging, `[response]` tuples and 404s are hidden here.
 */

import type { Storage } from '@google-cloud/storage';
import { isNotFound, isPreconditionFailed, ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { loggedRetries, withRetry, type RetryOptions } from '../core/retry.js';

export interface StoredObject {
  readonly name: string;
  readonly size: number;
  readonly updated: string | undefined;
}

/** One stored version of an object: the generation pins exactly these bytes. */
export interface ObjectVersion {
  readonly name: string;
  readonly generation: string;
  readonly size: number;
}

export interface GsUri {
  readonly bucket: string;
  /** Object name or prefix, without the leading slash. */
  readonly path: string;
}

export function parseGsUri(uri: string): GsUri {
  const match = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])\/(.*)$/.exec(uri);
  if (!match) throw new ValidationError(`Not a gs:// URI: ${uri}`);
  return { bucket: match[1] as string, path: match[2] as string };
}

export class ObjectStore {
  constructor(
    private readonly storage: () => Promise<Pick<Storage, 'bucket'>>,
    private readonly options: { logger: Logger; retry?: RetryOptions },
  ) {}

  private retry<T>(what: string, operation: () => Promise<T>): Promise<T> {
    return withRetry(operation, loggedRetries(this.options.logger, what, this.options.retry));
  }

  /** Objects whose names start with `prefix`, at most `limit` of them, in name order. */
  async list(bucket: string, prefix: string, limit = 1000): Promise<StoredObject[]> {
    const storage = await this.storage();
    const [files] = await this.retry(`list gs://${bucket}/${prefix}`, () =>
      storage.bucket(bucket).getFiles({ prefix, maxResults: limit, autoPaginate: false }),
    );
    return files.map((f) => ({
      name: f.name,
      size: Number(f.metadata.size ?? 0),
      updated: typeof f.metadata.updated === 'string' ? f.metadata.updated : undefined,
    }));
  }

  /** Every object whose name starts with `prefix`, over all pages, in name order. */
  async listAll(bucket: string, prefix: string): Promise<StoredObject[]> {
    const storage = await this.storage();
    const [files] = await this.retry(`list gs://${bucket}/${prefix}`, () =>
      storage.bucket(bucket).getFiles({ prefix, autoPaginate: true }),
    );
    return files.map((f) => ({
      name: f.name,
      size: Number(f.metadata.size ?? 0),
      updated: typeof f.metadata.updated === 'string' ? f.metadata.updated : undefined,
    }));
  }

  /** The object's current generation and size, or undefined when it does not exist. */
  async stat(bucket: string, name: string): Promise<ObjectVersion | undefined> {
    const storage = await this.storage();
    try {
      const [metadata] = await this.retry(`read gs://${bucket}/${name}`, () =>
        storage.bucket(bucket).file(name).getMetadata(),
      );
      return { name, generation: String(metadata.generation), size: Number(metadata.size ?? 0) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Uploads a local file unless an object by that name exists already (the precondition
   * `ifGenerationMatch: 0` makes a retried upload that did land a no-op); returns the version.
   */
  async uploadOnce(
    bucket: string,
    name: string,
    file: string,
    contentType = 'application/gzip',
  ): Promise<ObjectVersion & { uploaded: boolean }> {
    const existing = await this.stat(bucket, name);
    if (existing) return { ...existing, uploaded: false };
    const storage = await this.storage();
    try {
      await this.retry(`upload gs://${bucket}/${name}`, () =>
        storage.bucket(bucket).upload(file, {
          destination: name,
          resumable: false,
          contentType,
          preconditionOpts: { ifGenerationMatch: 0 },
        }),
      );
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
    }
    const stored = await this.stat(bucket, name);
    if (!stored) throw new Error(`gs://${bucket}/${name} is missing right after its upload`);
    return { ...stored, uploaded: true };
  }

  /** Downloads an object into a local file. */
  async download(bucket: string, name: string, destination: string): Promise<void> {
    const storage = await this.storage();
    await this.retry(`download gs://${bucket}/${name}`, () =>
      storage.bucket(bucket).file(name).download({ destination }),
    );
  }

  /** The first `maxBytes` of an object as UTF-8 text, or undefined when it does not exist. */
  async readHead(bucket: string, name: string, maxBytes: number): Promise<string | undefined> {
    const storage = await this.storage();
    try {
      const [data] = await this.retry(`download gs://${bucket}/${name}`, () =>
        storage
          .bucket(bucket)
          .file(name)
          .download({ start: 0, end: Math.max(0, maxBytes - 1), validation: false }),
      );
      return data.toString('utf8');
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async write(
    bucket: string,
    name: string,
    content: string | Buffer,
    contentType = 'text/plain',
  ): Promise<void> {
    const storage = await this.storage();
    await this.retry(`upload gs://${bucket}/${name}`, () =>
      storage.bucket(bucket).file(name).save(content, { resumable: false, contentType }),
    );
  }
}
