// 3. Avro encode/decode of a StationSnapshot through the registry codec (streams/registry.ts Codec:
// schema validation, Confluent wire header, schema-id lookup on decode), the schema registered in the
// real registry, vs JSON.stringify / JSON.parse of the same object.

import { realisticSnapshot } from '../lib/snapshots.ts';
import { median, timeBatch, timeBatchAsync } from '../lib/stats.ts';
import type { Bench } from '../lib/types.ts';

export const avroBench: Bench = {
  name: 'avro',
  title: 'Avro encode/decode through the registry codec vs JSON',
  stack: true,
  async run(ctx) {
    const rt = await ctx.runtime();
    const codec = rt.registry.codec('StationSnapshot');
    const tenant = ctx.tenant('avro');
    const snaps = Array.from({ length: 64 }, (_, i) => realisticSnapshot(ctx.runId, tenant, i));
    const bins = snaps.map((s) => codec.encode(s));
    const jsons = snaps.map((s) => JSON.stringify(s));
    const runs = ctx.quick ? 5 : 9;
    const minMs = ctx.quick ? 150 : 400;
    const per = snaps.length;
    let k = 0;
    const enc = () => {
      for (const s of snaps) k += codec.encode(s).length;
    };
    const dec = async () => {
      for (const b of bins) k += (await codec.decode(b)).station_id;
    };
    const stringify = () => {
      for (const s of snaps) k += JSON.stringify(s).length;
    };
    const parse = () => {
      for (const j of jsons) k += (JSON.parse(j) as { station_id: number }).station_id;
    };
    // Encode without the validity check (what avsc alone costs), to show the check's share.
    const rawEnc = () => {
      for (const s of snaps) k += codec.type.toBuffer(s).length;
    };
    for (let i = 0; i < 50; i++) {
      enc();
      await dec();
      stringify();
      parse();
      rawEnc();
    }
    const ops = (ms: number) => (per * 1000) / ms;
    const r = {
      enc: [] as number[],
      dec: [] as number[],
      str: [] as number[],
      par: [] as number[],
      raw: [] as number[],
    };
    for (let i = 0; i < runs; i++) {
      r.str.push(ops(timeBatch(stringify, minMs).msPerCall));
      r.enc.push(ops(timeBatch(enc, minMs).msPerCall));
      r.par.push(ops(timeBatch(parse, minMs).msPerCall));
      r.dec.push(ops((await timeBatchAsync(dec, minMs)).msPerCall));
      r.raw.push(ops(timeBatch(rawEnc, minMs).msPerCall));
    }
    const avroBytes = median(bins.map((b) => b.length));
    const jsonBytes = median(jsons.map((j) => Buffer.byteLength(j)));
    if (k === 42) ctx.log('');
    return {
      figures: [
        {
          bench: 'avro',
          name: 'avro encode (Codec.encode)',
          metric: 'ops/s',
          higherIsBetter: true,
          samples: r.enc,
          baseline: { name: 'JSON.stringify', samples: r.str },
          note: `${avroBytes} B Avro vs ${jsonBytes} B JSON; avsc toBuffer alone ${Math.round(median(r.raw)).toLocaleString('en-US')} ops/s`,
        },
        {
          bench: 'avro',
          name: 'avro decode (Codec.decode)',
          metric: 'ops/s',
          higherIsBetter: true,
          samples: r.dec,
          baseline: { name: 'JSON.parse', samples: r.par },
        },
      ],
      details: {
        avro_bytes: avroBytes,
        json_bytes: jsonBytes,
        avsc_to_buffer_ops_per_s: r.raw,
      },
    };
  },
};
