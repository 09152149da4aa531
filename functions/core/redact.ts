/**
 * Masks values that look like credentials wherever they appear in text, whatever key (if any)
 * they sit under: a build that prints a token, an error message that quotes a header. Key names
 * alone miss these, so logs, run details and Slack messages pass through this as well.
 */
export const MASK = '[redacted]';

const TOKEN_SHAPES: readonly RegExp[] = [
  // PEM private keys, whole blocks.
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  // Slack bot, user, app-level and refresh tokens.
  /\bxox[abceoprsu]-[A-Za-z0-9-]{8,}/g,
  /\bxapp-[A-Za-z0-9-]{8,}/g,
  // Google OAuth access and refresh tokens, API keys.
  /\bya29\.[A-Za-z0-9_-]{10,}/g,
  /\b1\/\/[A-Za-z0-9_-]{20,}/g,
  /\bAIza[A-Za-z0-9_-]{35}\b/g,
  // JSON Web Tokens (ID tokens among them).
  /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g,
  // GitHub and GitLab personal and app tokens, AWS access key ids.
  /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_-]{20,})/g,
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g,
  // Credentials after an Authorization scheme, and in URLs (https://user:secret@host).
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g,
  /(?<=\/\/[^/\s:@]{1,64}:)[^/\s@]{1,256}(?=@)/g,
];

// Something every shape above needs: text without any of these is returned as it is, at the
// cost of one scan instead of one per shape (every string of every log line passes here).
const MAYBE_SECRET =
  /BEGIN|xox|xapp|ya29|1\/\/|AIza|eyJ|gh[pousr]_|github_pat|glpat|AKIA|ASIA|Bearer|Basic|@/;

export function maskSecrets(text: string): string {
  if (!MAYBE_SECRET.test(text)) return text;
  let out = text;
  for (const shape of TOKEN_SHAPES) {
    out = out.replace(shape, (match: string, scheme?: unknown) =>
      typeof scheme === 'string' && /^(Bearer|Basic)$/.test(scheme) ? `${scheme} ${MASK}` : MASK,
    );
  }
  return out;
}
