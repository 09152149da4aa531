/**
 * Who asked for a run. The function is deployed behind IAM (`--no-allow-unauthenticated`): the
 * platform verifies the caller's ID token and forwards it with its signature replaced
 * (`SIGNATURE_REMOVED_BY_GOOGLE`), so the token cannot and must not be verified again here;
 * its payload is read for the identity and the audience. `X-Serverless-Authorization` wins over
 * `Authorization` when a caller used it to keep its own Authorization header.
 */
import { z } from 'zod';

export const ANONYMOUS = 'anonymous';
export const UNKNOWN_CALLER = 'unknown';

const claims = z.object({
  email: z
    .string()
    .max(320)
    .regex(/^[^\s@]{1,64}@[^\s@]{1,255}$/)
    .optional(),
  sub: z
    .string()
    .regex(/^[\w.@-]{1,255}$/)
    .optional(),
  aud: z.union([z.string().max(2048), z.array(z.string().max(2048)).max(20)]).optional(),
});

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** The claims of the forwarded identity token that costguard reads. */
export interface ForwardedIdentity {
  readonly email: string | undefined;
  readonly sub: string | undefined;
  readonly audiences: readonly string[];
}

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The forwarded token's claims; ANONYMOUS without a token, UNKNOWN_CALLER when unreadable. */
export function forwardedIdentity(
  headers: Headers,
): ForwardedIdentity | typeof ANONYMOUS | typeof UNKNOWN_CALLER {
  const value = header(headers, 'x-serverless-authorization') ?? header(headers, 'authorization');
  if (value === undefined || value.trim() === '') return ANONYMOUS;
  const token = /^Bearer\s+([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/i.exec(
    value.trim(),
  );
  if (!token) return UNKNOWN_CALLER;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(token[2] as string, 'base64url').toString('utf8'));
  } catch {
    return UNKNOWN_CALLER;
  }
  const parsed = claims.safeParse(payload);
  if (!parsed.success) return UNKNOWN_CALLER;
  const { email, sub, aud } = parsed.data;
  return { email, sub, audiences: aud === undefined ? [] : typeof aud === 'string' ? [aud] : aud };
}

/** The caller's email (or subject) from the forwarded identity token, never the token itself. */
export function callerOf(headers: Headers): string {
  const identity = forwardedIdentity(headers);
  if (typeof identity === 'string') return identity;
  return identity.email ?? identity.sub ?? UNKNOWN_CALLER;
}
