import type { Storage } from '@google-cloud/storage';
import { isNotFound, ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { loggedRetries, withRetry, type RetryOptions } from '../core/retry.js';

/**
 * Cloud Storage objects, as the run trigger needs them: list the objects under a prefix (one
 * page is plenty for a run's markers), read the head of a small object, and write one (the
 * sandbox's batch VM and tests do). Paging, `[response]` tuples and 404s are hidden here.
 */
export interface StoredObject {
  readonly name: string;
  readonly size: number;
  readonly updated: string | undefined;
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
