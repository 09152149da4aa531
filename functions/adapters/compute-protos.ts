/**
 * Compute's protobuf definitions as costguard's Compute clients load them. Every client module of
 * `@google-cloud/compute` requires, at its top, one `protos.json` holding every Compute API of two
 * versions (11.7 MB): parsing it costs each cold start about 0.1 s of CPU and tens of MiB, where
 * the services costguard calls reach about 180 KB of it. `npm run build` writes that part beside
 * this module, and the client modules are loaded with it standing in for the whole. Run from
 * source (no written part), or after an upgrade of Compute (a part written from another version),
 * the clients load the whole and `clients.ts` reduces it when their first root is built.
 */
import Module, { createRequire } from 'node:module';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { protoSubset, type ProtoNode } from './proto-subset.js';

/** The Compute services costguard calls: the only part of Compute's definitions it loads. */
export const COMPUTE_SERVICES = [
  'Instances',
  'ZoneOperations',
  'GlobalOperations',
  'MachineTypes',
] as const;

const COMPUTE_PACKAGE = 'google.cloud.compute.v1';

/** Where `npm run build` writes the part (beside the built module). */
export const WRITTEN_COMPUTE_PROTOS = new URL('./compute-v1-protos.json', import.meta.url);

const require = createRequire(import.meta.url);

interface WrittenProtos {
  readonly computeVersion: string;
  readonly services: readonly string[];
  readonly protos: ProtoNode;
}

function installedComputeVersion(): string {
  return (require('@google-cloud/compute/package.json') as { version: string }).version;
}

/** The definitions the Compute services costguard calls reach, out of all of Compute's. */
export function computeProtosSubset(all: ProtoNode): ProtoNode {
  return protoSubset(all, COMPUTE_PACKAGE, COMPUTE_SERVICES);
}

/** Writes the part for the installed Compute version to `path` (run by `npm run build`). */
export function writeComputeProtos(path: URL | string = WRITTEN_COMPUTE_PROTOS): void {
  const all = require('@google-cloud/compute/build/protos/protos.json') as ProtoNode;
  const written: WrittenProtos = {
    computeVersion: installedComputeVersion(),
    services: COMPUTE_SERVICES,
    protos: computeProtosSubset(all),
  };
  writeFileSync(path, JSON.stringify(written));
}

const writtenByPath = new Map<string, ProtoNode | undefined>();

/** The written part, if there is one and it was written for these services of this version. */
function readWrittenProtos(path: URL | string): ProtoNode | undefined {
  const key = String(path);
  if (!writtenByPath.has(key)) writtenByPath.set(key, readWrittenFile(path));
  return writtenByPath.get(key);
}

function readWrittenFile(path: URL | string): ProtoNode | undefined {
  if (!existsSync(path)) return undefined;
  let written: Partial<WrittenProtos>;
  try {
    written = JSON.parse(readFileSync(path, 'utf8')) as Partial<WrittenProtos>;
  } catch {
    // Unreadable (a build cut short): the whole serves, only slower.
    return undefined;
  }
  const current =
    written.computeVersion === installedComputeVersion() &&
    written.services?.join() === COMPUTE_SERVICES.join() &&
    written.protos !== undefined;
  return current ? written.protos : undefined;
}

/**
 * Runs `load` (which imports Compute client modules) with the written part standing in for
 * Compute's `protos.json` while they load; afterwards a `require` of that file reads the whole
 * again, so nothing else in the process sees the part. Without a current written part, or when
 * the whole is loaded already, `load` runs as it is.
 */
export async function importComputeModules<T>(
  load: () => Promise<T>,
  written: URL | string = WRITTEN_COMPUTE_PROTOS,
): Promise<T> {
  const protosPath = require.resolve('@google-cloud/compute/build/protos/protos.json');
  const cache = require.cache;
  const protos = cache[protosPath] ? undefined : readWrittenProtos(written);
  if (!protos) return load();
  const standIn = new Module(protosPath);
  standIn.filename = protosPath;
  standIn.loaded = true;
  standIn.exports = protos;
  cache[protosPath] = standIn;
  try {
    return await load();
  } finally {
    if (cache[protosPath] === standIn) delete cache[protosPath];
  }
}
