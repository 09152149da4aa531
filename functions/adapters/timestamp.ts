/**
 * A protobuf Timestamp as the gax REST clients decode it (`{seconds, nanos}`, seconds possibly
 * a Long or a string) or as REST JSON and fixtures carry it (RFC 3339), in milliseconds; 0 when
 * absent. Callers decide what an absent or zero time means.
 */
export type ProtoTimestamp =
  | { seconds?: number | string | null | { toString(): string }; nanos?: number | null }
  | string
  | null
  | undefined;

export function timestampMillis(time: ProtoTimestamp): number {
  if (typeof time === 'string') return Date.parse(time) || 0;
  const seconds = time?.seconds;
  const whole = seconds === null || seconds === undefined ? 0 : Number(seconds.toString());
  return whole * 1000 + Math.round((time?.nanos ?? 0) / 1e6);
}
