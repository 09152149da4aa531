/**
 * The part of a client library's protobuf definitions (its `protos.json`, protobuf.js JSON) that
 * a few services reach: their request and response messages and every type those name, directly
 * or through fields. Compute's definitions hold every Compute API of two versions (11.7 MB);
 * building a protobuf root from all of them costs a second or more of CPU and about 100 MiB,
 * where the four services costguard calls reach a small share of them.
 * Everything outside the services' own package (google.api options, google.protobuf) is kept.
 */
export interface ProtoNode {
  nested?: Record<string, ProtoNode>;
  fields?: Record<string, { type: string; keyType?: string }>;
  methods?: Record<string, { requestType: string; responseType: string }>;
  values?: Record<string, number>;
  options?: Record<string, unknown>;
  [key: string]: unknown;
}

const SCALARS = new Set([
  'double',
  'float',
  'int32',
  'int64',
  'uint32',
  'uint64',
  'sint32',
  'sint64',
  'fixed32',
  'fixed64',
  'sfixed32',
  'sfixed64',
  'bool',
  'string',
  'bytes',
]);

/** Every definition by its full name (`google.cloud.compute.v1.Instance`). */
function indexOf(root: ProtoNode): Map<string, ProtoNode> {
  const index = new Map<string, ProtoNode>();
  const walk = (node: ProtoNode, prefix: string): void => {
    for (const [name, child] of Object.entries(node.nested ?? {})) {
      const full = prefix ? `${prefix}.${name}` : name;
      index.set(full, child);
      walk(child, full);
    }
  };
  walk(root, '');
  return index;
}

/** Resolves a type name as protobuf does: from the innermost enclosing scope outwards. */
function resolve(index: Map<string, ProtoNode>, scope: string, name: string): string | undefined {
  if (name.startsWith('.')) return index.has(name.slice(1)) ? name.slice(1) : undefined;
  const parts = scope ? scope.split('.') : [];
  for (let i = parts.length; i >= 0; i--) {
    const full = [...parts.slice(0, i), name].join('.');
    if (index.has(full)) return full;
  }
  return undefined;
}

/**
 * A copy of `root` in which the package `pkg` (`google.cloud.compute.v1`) keeps only `services`
 * and the definitions they reach, and every other package of the library's namespace (such as
 * `google.cloud.compute.v1beta`) is dropped. Definitions are shared with `root`, not copied.
 */
export function protoSubset(root: ProtoNode, pkg: string, services: readonly string[]): ProtoNode {
  const index = indexOf(root);
  const kept = new Set<string>();
  const visit = (full: string): void => {
    if (kept.has(full)) return;
    kept.add(full);
    const node = index.get(full) as ProtoNode;
    const named = [
      ...Object.values(node.fields ?? {}).map((f) => f.type),
      ...Object.values(node.methods ?? {}).flatMap((m) => [m.requestType, m.responseType]),
    ];
    for (const type of named) {
      if (SCALARS.has(type)) continue;
      // Nested types live under the message; a parent message holds its children.
      const target = resolve(index, full, type);
      if (target) visit(target);
    }
    for (const child of Object.keys(node.nested ?? {})) visit(`${full}.${child}`);
  };
  for (const service of services) {
    const full = `${pkg}.${service}`;
    if (!index.has(full)) throw new Error(`No service ${full} in the protobuf definitions`);
    visit(full);
  }
  // The library's namespace (google.cloud.compute): of its packages, only `pkg` stays.
  const libraryNamespace = pkg.split('.').slice(0, -1).join('.');
  const copy = (node: ProtoNode, prefix: string): ProtoNode => {
    if (!node.nested) return node;
    const nested: Record<string, ProtoNode> = {};
    for (const [name, child] of Object.entries(node.nested)) {
      const full = prefix ? `${prefix}.${name}` : name;
      if (full === pkg) {
        nested[name] = {
          ...child,
          nested: Object.fromEntries(
            Object.entries(child.nested ?? {}).filter(([n]) => kept.has(`${pkg}.${n}`)),
          ),
        };
      } else if (prefix === libraryNamespace) {
        continue;
      } else if (pkg.startsWith(`${full}.`)) {
        nested[name] = copy(child, full);
      } else {
        nested[name] = child;
      }
    }
    return { ...node, nested };
  };
  return copy(root, '');
}
