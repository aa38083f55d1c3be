// The PCM codec of the stored audio: signed 16-bit little-endian mono, full scale 32767 both ways
// (so a round trip of an in-range float is exact to one step).

/** Float [-1, 1] -> signed 16-bit little-endian PCM (clamped, rounded). */
export function toPcm16(x: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(x.length * 2);
  for (let i = 0; i < x.length; i++) {
    const v = Math.max(-1, Math.min(1, x[i]!));
    out.writeInt16LE(Math.round(v * 32767), i * 2);
  }
  return out;
}

/** Signed 16-bit little-endian PCM -> float [-1, 1]. */
export function fromPcm16(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength >> 1);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(2 * i, true) / 32767;
  return out;
}
