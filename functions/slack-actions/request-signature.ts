/**
 * Slack's request signature (api.slack.com/authentication/verifying-requests-from-slack): the
 * `X-Slack-Signature` header is `v0=` + hex HMAC-SHA256, keyed by the app's signing secret, of
 * `v0:{X-Slack-Request-Timestamp}:{raw body}`. The signature is the only authentication an
 * interactivity request has (Slack cannot send a Google identity token), so a request whose
 * signature does not match, or whose timestamp is more than five minutes off, changes nothing.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack's own advice: refuse requests whose timestamp is more than five minutes away. */
export const MAX_REQUEST_AGE_SECONDS = 5 * 60;

export interface SignedRequest {
  /** `X-Slack-Request-Timestamp`, Unix seconds as text. */
  readonly timestamp: string | undefined;
  /** `X-Slack-Signature`. */
  readonly signature: string | undefined;
  /** The body exactly as received, before any parsing. */
  readonly rawBody: Buffer | undefined;
}

export type SignatureVerdict =
  { readonly accepted: true } | { readonly accepted: false; readonly reason: string };

/** `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret. */
export function slackSignature(secret: string, timestamp: string, body: Buffer | string): string {
  const hmac = createHmac('sha256', secret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(body);
  return `v0=${hmac.digest('hex')}`;
}

/** Whether two strings are equal, in time that does not depend on where they first differ. */
function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  // timingSafeEqual throws on different lengths; the length of a signature is no secret.
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Whether a request was signed by Slack with `secret` within the last five minutes of `now`
 * (in either direction, so a clock running ahead cannot mint long-lived requests).
 */
export function checkSlackSignature(
  request: SignedRequest,
  secret: string,
  now: Date,
): SignatureVerdict {
  const { timestamp, signature, rawBody } = request;
  if (rawBody === undefined) return { accepted: false, reason: 'the request has no body' };
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) {
    return { accepted: false, reason: 'X-Slack-Request-Timestamp is missing or not a number' };
  }
  const age = Math.abs(now.getTime() / 1000 - Number(timestamp));
  if (age > MAX_REQUEST_AGE_SECONDS) {
    return { accepted: false, reason: 'the request is more than five minutes old' };
  }
  if (signature === undefined || !/^v0=[0-9a-f]{64}$/.test(signature)) {
    return { accepted: false, reason: 'X-Slack-Signature is missing or malformed' };
  }
  if (!sameText(signature, slackSignature(secret, timestamp, rawBody))) {
    return { accepted: false, reason: 'the signature does not match' };
  }
  return { accepted: true };
}
