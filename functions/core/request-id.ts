import { createHash } from 'node:crypto';

// A fixed namespace for costguard's name-based (version 5) UUIDs.
const NAMESPACE = Buffer.from('5f1c2b7e9a4d4c3e8b6a0d2e4f6a8c1b', 'hex');

/**
 * A name-based UUID (RFC 9562 version 5): the same name always gives the same UUID. Compute
 * takes one as `requestId`, so a retried mutation derived from the same name is done once.
 */
export function nameBasedUuid(name: string): string {
  const bytes = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
