// Arm assignment of an A/B experiment (DESIGN §8): a call's arm is a pure function of the experiment's
// salt and the call_id, so every process that sees the call (any runner instance, a redelivered
// snapshot, an auditor recomputing it later) puts it in the same arm without asking anyone.
import { createHash } from 'node:crypto';

export type Arm = 'control' | 'treatment';

// 48 bits of the digest: exactly representable in a double, and 2^-48 granularity is far finer than
// any share an operator would choose.
const BUCKET_BITS = 48;

/**
 * The call's bucket, uniform in [0, 1): the first 48 bits of SHA-256(salt NUL call_id). SHA-256 makes
 * neighbouring call ids (call-7, call-8) independent, and the salt makes two experiments on the same
 * calls independent of each other.
 */
export function bucketOf(salt: string, callId: string): number {
  const digest = createHash('sha256').update(salt).update('\u0000').update(callId).digest();
  return digest.readUIntBE(0, BUCKET_BITS / 8) / 2 ** BUCKET_BITS;
}

/**
 * Treatment when the bucket falls below the share. Monotone in the share: raising it only moves
 * control calls into treatment, never the other way, so a ramp-up keeps every treated call treated.
 */
export function assignArm(salt: string, callId: string, treatmentShare: number): Arm {
  return bucketOf(salt, callId) < treatmentShare ? 'treatment' : 'control';
}
