// RIFF/WAVE reading for the recorded prompts and the synthesizer's output: 16-bit PCM mono only,
// the one format both deliver; anything else is refused (null) rather than misread.

/** 16-bit PCM mono WAV to float samples (full scale 1); null when the file is anything else. */
export function decodeWav(bytes: Buffer): { samples: Float32Array; sampleRate: number } | null {
  if (
    bytes.length < 12 ||
    bytes.toString('ascii', 0, 4) !== 'RIFF' ||
    bytes.toString('ascii', 8, 12) !== 'WAVE'
  ) {
    return null;
  }
  let at = 12;
  let rate = 0;
  let format = 0;
  let channels = 0;
  let bits = 0;
  while (at + 8 <= bytes.length) {
    const id = bytes.toString('ascii', at, at + 4);
    const size = bytes.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === 'fmt ' && size >= 16) {
      format = bytes.readUInt16LE(body);
      channels = bytes.readUInt16LE(body + 2);
      rate = bytes.readUInt32LE(body + 4);
      bits = bytes.readUInt16LE(body + 14);
    } else if (id === 'data') {
      if (format !== 1 || channels !== 1 || bits !== 16 || rate <= 0) return null;
      const n = Math.floor(Math.min(size, bytes.length - body) / 2);
      const samples = new Float32Array(n);
      for (let i = 0; i < n; i++) samples[i] = bytes.readInt16LE(body + 2 * i) / 32768;
      return { samples, sampleRate: rate };
    }
    at = body + size + (size & 1);
  }
  return null;
}

/** Float samples (full scale 1) to a 16-bit PCM mono WAV file: what a vendor API takes as "a file". */
export function encodeWav(samples: Float32Array, sampleRate: number): Buffer {
  const data = samples.length * 2;
  const out = Buffer.alloc(44 + data);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + data, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(data, 40);
  for (let i = 0; i < samples.length; i++) {
    out.writeInt16LE(Math.round(Math.max(-1, Math.min(1, samples[i]!)) * 32767), 44 + 2 * i);
  }
  return out;
}
