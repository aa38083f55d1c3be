// 16-bit mono PCM WAV files for the tests that hand audio to ffmpeg.
import { toInt16 } from '../../media/rtp/codecs.ts';

export function encodeWav(samples: Float32Array, sampleRate: number): Buffer {
  const pcm = toInt16(samples);
  const out = Buffer.alloc(44 + 2 * pcm.length);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + 2 * pcm.length, 4);
  out.write('WAVEfmt ', 8, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(2 * sampleRate, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(2 * pcm.length, 40);
  for (let i = 0; i < pcm.length; i++) out.writeInt16LE(pcm[i]!, 44 + 2 * i);
  return out;
}

/** RMS level, dBFS (full scale 1). */
export function rmsDbfs(x: ArrayLike<number>): number {
  let p = 0;
  for (let i = 0; i < x.length; i++) p += x[i]! * x[i]!;
  return 10 * Math.log10(p / Math.max(1, x.length) + 1e-20);
}
