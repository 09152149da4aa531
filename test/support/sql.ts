import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSqlRoot } from '../../functions/adapters/bigquery.js';

/** The repository's sql/ folder. */
export const SQL_ROOT = defaultSqlRoot();

/**
 * A sql root holding only the files whose names match `prefix` (a capability's tables and
 * views, e.g. /^2\d_/), so a test migrates its own tables and not every capability's.
 */
export function capabilitySqlRoot(prefix: RegExp): string {
  const root = mkdtempSync(join(tmpdir(), 'costguard-sql-'));
  for (const folder of ['tables', 'views']) {
    mkdirSync(join(root, folder));
    for (const file of readdirSync(join(SQL_ROOT, folder))) {
      if (prefix.test(file) && file.endsWith('.sql')) {
        copyFileSync(join(SQL_ROOT, folder, file), join(root, folder, file));
      }
    }
  }
  return root;
}
