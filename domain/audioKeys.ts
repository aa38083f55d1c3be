// Content-addressed object keys of stored PCM (DESIGN §6): `audio/v1/<tenant>/<aa>/<sha256>.pcm`, so a
// re-upload of the same audio is a no-op and a snapshot only carries the key.
import { createHash } from 'node:crypto';

const KEY_RE = /^audio\/v1\/[A-Za-z0-9._-]{1,64}\/[0-9a-f]{2}\/[0-9a-f]{64}\.pcm$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function audioKey(tenantId: string, sha256: string): string {
  return `audio/v1/${tenantId}/${sha256.slice(0, 2)}/${sha256}.pcm`;
}

export function isAudioKey(key: string): boolean {
  return KEY_RE.test(key);
}
