/**
 * Cloud Identity Groups v1 for the sandbox: `groups:lookup` by the group's email and
 * `memberships:checkTransitiveMembership` with a `member_key_id == '…'` query, over groups set
 * with `setGroupMembers` or `PUT /_sandbox/groups/{email}` (a member may itself be a group, so
 * membership is transitive). Like the real API it answers 403 for a group it does not know,
 * without saying whether it exists.
 */
import { createHash } from 'node:crypto';
import { asRecord, fail, route } from '../http.js';
import type { Sandbox, SandboxModule } from '../sandbox.js';

interface Group {
  readonly id: string;
  readonly members: ReadonlySet<string>;
}

function groups(sandbox: Sandbox): Map<string, Group> {
  return sandbox.extension('cloud-identity', () => new Map<string, Group>());
}

/** Makes `group` (an email) have exactly these members: user, service account or group emails. */
export function setGroupMembers(sandbox: Sandbox, group: string, members: readonly string[]): void {
  const email = group.toLowerCase();
  const id = createHash('sha256').update(email).digest('hex').slice(0, 15);
  groups(sandbox).set(email, { id, members: new Set(members.map((m) => m.toLowerCase())) });
}

function byId(sandbox: Sandbox, id: string): [string, Group] | undefined {
  return [...groups(sandbox).entries()].find(([, g]) => g.id === id);
}

function denied(): never {
  fail(403, 'Error(2028): Permission denied for resource (or it may not exist).');
}

function isTransitiveMember(sandbox: Sandbox, group: string, member: string): boolean {
  const seen = new Set<string>();
  const visit = (email: string): boolean => {
    if (seen.has(email)) return false;
    seen.add(email);
    const members = groups(sandbox).get(email)?.members ?? new Set<string>();
    return members.has(member) || [...members].some((m) => groups(sandbox).has(m) && visit(m));
  };
  return visit(group);
}

const routes = [
  route<Sandbox>('cloudidentity.groups.lookup', 'GET', '/v1/groups:lookup', (request, sandbox) => {
    const email = request.query.get('groupKey.id');
    if (!email) fail(400, 'groupKey.id is required');
    const group = groups(sandbox).get(email.toLowerCase());
    if (!group) denied();
    return { body: { name: `groups/${group.id}` } };
  }),
  route<Sandbox>(
    'cloudidentity.groups.memberships.checkTransitiveMembership',
    'GET',
    '/v1/groups/{group}/memberships:checkTransitiveMembership',
    (request, sandbox) => {
      const found = byId(sandbox, request.params.group as string);
      if (!found) denied();
      const query = /^\s*member_key_id\s*==\s*'([^']+)'\s*$/.exec(request.query.get('query') ?? '');
      if (!query) fail(400, "query must be member_key_id == '<email>'");
      return {
        body: {
          hasMembership: isTransitiveMember(sandbox, found[0], (query[1] as string).toLowerCase()),
        },
      };
    },
  ),
  route<Sandbox>('sandbox.groups.set', 'PUT', '/_sandbox/groups/{group}', (request, sandbox) => {
    const members = asRecord(request.body).members;
    if (!Array.isArray(members) || !members.every((m) => typeof m === 'string')) {
      fail(400, 'Send {"members": ["user@example.com", "nested-group@example.com"]}');
    }
    setGroupMembers(sandbox, request.params.group as string, members);
    return { body: { group: request.params.group, members } };
  }),
];

export const cloudIdentityModule: SandboxModule = { name: 'cloud-identity', routes };
