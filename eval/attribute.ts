// Which parameter moves make the offline best by score worse by PESQ than the catalog defaults (issue
// 10, "a scorecard that agrees with the listener"): `npx tsx eval/attribute.ts EVAL.json OUT.json
// [--all]` reads an `npm run eval --json` report, re-creates each station's yardstick audio (the first
// call's, where the offline search ran) and, for every station whose best loses PESQ against the
// defaults (every station with --all), judges each parameter the best moved alone on top of the
// defaults ("alone") and the best with that one parameter put back at its default ("put back"): PESQ
// and score differences, printed and written to OUT. An analysis tool beside the benchmark; it
// asserts nothing.
import { readFileSync, writeFileSync } from 'node:fs';
import { defaultsForStation } from '../catalog/index.ts';
import { callAudio, evaluateCall } from '../demo/offline.ts';
import { EVAL_SEGMENTS, judgeSets } from '../demo/yardstick.ts';
import { openQualityJudge } from '../quality/index.ts';
import { generateProfile } from '../stations/sim/generate.ts';
import { simulateCall } from '../stations/sim/index.ts';
import type { EvalReport } from './run.ts';

const [inFile, outFile, allFlag] = process.argv.slice(2);
if (!inFile || !outFile) throw new Error('usage: tsx eval/attribute.ts IN.json OUT.json [--all]');
const report = JSON.parse(readFileSync(inFile, 'utf8')) as EvalReport;
const { seed, segments } = report.args;
// Reports from before --judged-segments carry no stretch: those judged the demo's EVAL_SEGMENTS.
const judged = report.args.judgedSegments ?? EVAL_SEGMENTS;
const judge = await openQualityJudge({ log: (s) => console.error(s) });
const rows: unknown[] = [];
try {
  for (let i = 0; i < report.args.profiles; i++) {
    const set = generateProfile(seed, i);
    const call = simulateCall({ impairments: set, callIndex: 0, seed, segments });
    for (const r of report.records.filter((x) => x.profile === set.name)) {
      const worse = r.pesq_best !== null && r.pesq_default !== null && r.pesq_best < r.pesq_default;
      if (!worse && allFlag !== '--all') continue;
      const s = r.station_id;
      const audio = [
        callAudio(
          call.segments.map((seg) => seg.inputs.get(s)!),
          judged,
        ),
      ];
      const d = defaultsForStation(s);
      const best = r.best_params;
      const moved = Object.keys(best).filter((k) => Math.abs((best[k] ?? 0) - (d[k] ?? 0)) > 1e-9);
      const sets: Record<string, Record<string, number>[]> = { defaults: [d], best: [best] };
      for (const k of moved) {
        sets[`only:${k}`] = [{ ...d, [k]: best[k]! }];
        sets[`but:${k}`] = [{ ...best, [k]: d[k]! }];
      }
      const q = await judgeSets(judge, s, audio, sets);
      const score = (name: string) => evaluateCall(s, sets[name]![0]!, audio[0]!).score;
      const base = { pesq: q['defaults']!.pesq, score: score('defaults') };
      const top = { pesq: q['best']!.pesq, score: score('best') };
      const per = moved.map((k) => ({
        param: k,
        from: d[k],
        to: best[k],
        only: {
          dpesq: (q[`only:${k}`]!.pesq ?? 0) - (base.pesq ?? 0),
          dscore: score(`only:${k}`) - base.score,
        },
        but: { dpesq: (q[`but:${k}`]!.pesq ?? 0) - (top.pesq ?? 0), dscore: score(`but:${k}`) - top.score },
      }));
      const row = { profile: set.name, station: s, sr: r.sample_rate, base, top, per };
      rows.push(row);
      console.log(
        `${set.name} st${s} ${r.sample_rate}: PESQ ${base.pesq?.toFixed(2)} -> ${top.pesq?.toFixed(2)}, score ${base.score.toFixed(1)} -> ${top.score.toFixed(1)}`,
      );
      for (const p of per) {
        console.log(
          `   ${p.param.padEnd(28)} ${String(p.from).padStart(6)} -> ${String(p.to).padStart(8)}  alone dPESQ ${p.only.dpesq.toFixed(2)} dScore ${p.only.dscore.toFixed(1)} | put back dPESQ ${p.but.dpesq.toFixed(2)} dScore ${p.but.dscore.toFixed(1)}`,
        );
      }
    }
  }
} finally {
  await judge.close();
}
writeFileSync(outFile, `${JSON.stringify(rows, null, 2)}\n`);
