// The batch replay's decode (issue 11 point 4): per record, what the history reads and no more.
//
// A StationSnapshot's last field, `labels` (a map of strings: two strings an entry, about half of the
// Avro decode of a realistic snapshot), is read per record only for a few keys (LABELS_READ: the
// learning context and the replay source). A record written with the codec's own schema is decoded
// by avsc up to that field; of the labels, only those keys are picked out of the bytes and the other
// entries skipped. When the history keeps a snapshot (its samples), `whole()` decodes all its labels.
// Records of another writer schema, and any record the picking does not take exactly as avsc would
// (anything unusual: it then stops and says nothing), go through the codec's full decode: the same
// values and the same DECODE errors as Codec.decodeAll.
import avro from 'avsc';
import type { StationSnapshot } from '../../contracts/generated.ts';
import type { VoiceloopError } from '../../lib/errors.ts';
import type { Codec, OwnSchemaReader } from '../../streams/registry.ts';
import { LABELS_READ } from './history.ts';

export interface ReplayRecord {
  /** For per-record use: its `labels` may hold only the LABELS_READ keys. */
  readonly snapshot: StationSnapshot;
  /** The snapshot with all its labels (decoded on the first call; `snapshot` then has them too). */
  whole(): StationSnapshot;
}

class Whole implements ReplayRecord {
  constructor(readonly snapshot: StationSnapshot) {}
  whole(): StationSnapshot {
    return this.snapshot;
  }
}

class Lean implements ReplayRecord {
  constructor(
    readonly snapshot: StationSnapshot,
    private buf: Buffer | null,
    private readonly labelsAt: number,
    private readonly labelsType: avro.Type,
  ) {}
  whole(): StationSnapshot {
    if (this.buf !== null) {
      this.snapshot.labels = this.labelsType.decode(this.buf, this.labelsAt).value;
      this.buf = null;
    }
    return this.snapshot;
  }
}

const KEYS = LABELS_READ.map((name) => ({ name, bytes: Buffer.from(name, 'utf8') }));

// The read position of the picking below (synchronous, so one is enough).
let at = 0;

/** The Avro int (zigzag varint) at `at`; NaN past the buffer's end or beyond 4 bytes (|n| >= 2^27). */
function readInt(buf: Buffer): number {
  let v = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (at >= buf.length) return Number.NaN;
    const b = buf[at++]!;
    v |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return (v >>> 1) ^ -(v & 1);
  }
  return Number.NaN;
}

/** Which LABELS_READ key the `len` bytes at `from` are, if any (byte for byte: the keys are ASCII). */
function keyAt(buf: Buffer, from: number, len: number): string | undefined {
  for (const k of KEYS) {
    if (k.bytes.length !== len) continue;
    let j = 0;
    while (j < len && buf[from + j] === k.bytes[j]) j++;
    if (j === len) return k.name;
  }
  return undefined;
}

/**
 * The LABELS_READ entries of the Avro map of strings at `from`, which must end exactly at the
 * buffer's end (avsc's fromBuffer refuses trailing bytes); undefined for anything else.
 */
export function pickLabels(buf: Buffer, from: number): Record<string, string> | undefined {
  at = from;
  const out: Record<string, string> = {};
  for (;;) {
    let n = readInt(buf);
    if (Number.isNaN(n)) return undefined;
    if (n === 0) break;
    if (n < 0) {
      // A block with its size in bytes (the Avro spec allows it; avsc skips the size too).
      n = -n;
      if (Number.isNaN(readInt(buf))) return undefined;
    }
    for (; n > 0; n--) {
      const keyLen = readInt(buf);
      if (!(keyLen >= 0) || at + keyLen > buf.length) return undefined;
      const keyFrom = at;
      at += keyLen;
      const valueLen = readInt(buf);
      if (!(valueLen >= 0) || at + valueLen > buf.length) return undefined;
      const key = keyAt(buf, keyFrom, keyLen);
      // A later entry of the same key wins, as in avsc.
      if (key !== undefined) out[key] = buf.toString('utf8', at, at + valueLen);
      at += valueLen;
    }
  }
  return at === buf.length ? out : undefined;
}

/** Decodes fetched batches of snapshot records for the replay (see the top of this file). */
export class ReplayDecoder {
  private readonly own: OwnSchemaReader<ReplayRecord> | undefined;

  constructor(private readonly codec: Codec<StationSnapshot>) {
    this.own = leanReader(codec.type);
  }

  /** Per record, the ReplayRecord or the DECODE error Codec.decodeAll gives; rejects as it does. */
  async decodeAll(bufs: readonly (Buffer | null)[]): Promise<(ReplayRecord | VoiceloopError)[]> {
    const out = await this.codec.decodeAll<ReplayRecord>(bufs, this.own);
    for (let i = 0; i < out.length; i++) {
      const v = out[i]!;
      if (!(v instanceof Lean) && !(v instanceof Error)) out[i] = new Whole(v as StationSnapshot);
    }
    return out as (ReplayRecord | VoiceloopError)[];
  }
}

/** The lean reader of a StationSnapshot type whose last field is `labels`, a map of strings (else none). */
function leanReader(type: avro.Type): OwnSchemaReader<ReplayRecord> | undefined {
  if (!(type instanceof avro.types.RecordType)) return undefined;
  const last = type.fields[type.fields.length - 1];
  if (
    last?.name !== 'labels' ||
    !(last.type instanceof avro.types.MapType) ||
    last.type.valuesType.typeName !== 'string'
  )
    return undefined;
  const labelsType = last.type;
  const schema = type.schema() as avro.schema.RecordType;
  // Without the record methods: a head value is never re-encoded (its class would lack `labels`).
  const head = avro.Type.forSchema(
    { ...schema, fields: schema.fields.slice(0, -1) },
    { omitRecordMethods: true },
  );
  return (buf, bodyAt) => {
    try {
      const r = head.decode(buf, bodyAt);
      if (r.offset < 0) return undefined;
      const labels = pickLabels(buf, r.offset);
      if (labels === undefined) return undefined;
      const snapshot = r.value as StationSnapshot;
      snapshot.labels = labels;
      return new Lean(snapshot, buf, r.offset, labelsType);
    } catch {
      return undefined;
    }
  };
}
