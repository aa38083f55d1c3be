// The sidecar's framing (quality/sidecar.py says the same from its side): a 4-byte little-endian
// length and that many bytes of UTF-8 JSON; a request's JSON is followed by float32 little-endian
// samples, ref then deg for each pair. Pure: bytes in, bytes out.

export interface PairHeader {
  rate: 8000 | 16000;
  ref: number;
  deg: number;
}

export interface ScoreResult {
  pesq: number;
  /** P.862 of the output as given (pesq is the median over slightly delayed copies where they differ). */
  pesq_plain: number;
  stoi: number;
}

export interface PairFailure {
  error: string;
  message: string;
}

export type PairResult = ScoreResult | PairFailure;

export interface ResponseFrame {
  id?: number;
  ready?: boolean;
  results?: PairResult[];
  [key: string]: unknown;
}

export interface Pair {
  ref: Float32Array;
  deg: Float32Array;
  sampleRate: 8000 | 16000;
}

function samplesLE(x: Float32Array): Buffer {
  // Node runs little-endian everywhere it is supported, so the array's own bytes are the wire bytes.
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
}

export function encodeRequest(id: number, pairs: readonly Pair[]): Buffer[] {
  const header: { id: number; pairs: PairHeader[] } = {
    id,
    pairs: pairs.map((p) => ({ rate: p.sampleRate, ref: p.ref.length, deg: p.deg.length })),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length, 0);
  const out: Buffer[] = [len, json];
  for (const p of pairs) out.push(samplesLE(p.ref), samplesLE(p.deg));
  return out;
}

/** Splits complete frames off the front of `buf`; the remainder is kept for the next chunk. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): ResponseFrame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: ResponseFrame[] = [];
    while (this.buf.length >= 4) {
      const n = this.buf.readUInt32LE(0);
      if (this.buf.length < 4 + n) break;
      frames.push(JSON.parse(this.buf.toString('utf8', 4, 4 + n)) as ResponseFrame);
      this.buf = this.buf.subarray(4 + n);
    }
    return frames;
  }
}

export function isFailure(r: PairResult): r is PairFailure {
  return 'error' in r;
}
