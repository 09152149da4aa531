/**
 * A file or folder of the repository (sql/, fixtures/), found from source (functions/core) or
 * from the build and the staged function source (build/functions/core), which sit one level
 * deeper.
 */

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PermanentError } from './errors.js';

export function repositoryPath(relative: string): string {
  for (const up of ['../../', '../../../']) {
    const path = fileURLToPath(new URL(`${up}${relative}`, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new PermanentError(`${relative} was not found beside the functions`);
}
