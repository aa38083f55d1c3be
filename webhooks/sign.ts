// Webhook signatures: HMAC-SHA256 over `<timestamp>.<body>` with the subscription's secret, sent as
// `x-voiceloop-signature: v1=<hex>` beside `x-voiceloop-timestamp` (unix seconds). Signing the
// timestamp with the body lets a receiver refuse a replayed delivery by its age.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-voiceloop-signature';
export const TIMESTAMP_HEADER = 'x-voiceloop-timestamp';
export const EVENT_ID_HEADER = 'x-voiceloop-event-id';
export const EVENT_TYPE_HEADER = 'x-voiceloop-event-type';

export function sign(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver does: recompute and compare in constant time; refuse a timestamp older than `toleranceS`. */
export function verify(
  secret: string,
  timestamp: string | undefined,
  body: string,
  signature: string | undefined,
  now = Date.now(),
  toleranceS = 300,
): boolean {
  const ts = Number(timestamp);
  if (!signature || !Number.isInteger(ts) || Math.abs(now / 1000 - ts) > toleranceS) return false;
  const want = Buffer.from(sign(secret, ts, body));
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got);
}
