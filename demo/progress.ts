// The demo's terminal display: one live bar per station (iteration, score, reference quality) on a
// TTY, plain lines otherwise (CI logs), nothing with --quiet.
import cliProgress from 'cli-progress';
import { stationById } from '../catalog/index.ts';

export interface Progress {
  step(msg: string): void;
  start(stations: number[], total: number): void;
  update(
    station: number,
    p: { call: number; iteration: number; score: number; ref: number | null; converged: boolean },
  ): void;
  stop(): void;
}

const fmt = (x: number | null, d = 1) =>
  x === null || !Number.isFinite(x) ? '  -  ' : x.toFixed(d).padStart(5);

export function createProgress(quiet: boolean): Progress {
  if (quiet) return { step() {}, start() {}, update() {}, stop() {} };
  const tty = Boolean(process.stdout.isTTY);
  let multi: cliProgress.MultiBar | null = null;
  const bars = new Map<number, cliProgress.SingleBar>();
  const done = new Map<number, number>();
  return {
    step(msg) {
      console.log(`• ${msg}`);
    },
    start(stations, total) {
      if (!tty) return;
      multi = new cliProgress.MultiBar(
        {
          format:
            ' station {station} {bar} {value}/{total} | call {call} it {it} | score {score} | ref {ref} dB {state}',
          barsize: 20,
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      );
      for (const s of stations) {
        const name = `${String(s).padStart(2)} ${stationById(s)?.component.padEnd(13) ?? ''}`;
        bars.set(
          s,
          multi.create(total, 0, {
            station: name,
            call: '-',
            it: '-',
            score: '  -  ',
            ref: '  -  ',
            state: '',
          }),
        );
      }
    },
    update(station, p) {
      const n = (done.get(station) ?? 0) + 1;
      done.set(station, n);
      const bar = bars.get(station);
      if (bar) {
        bar.update(n, {
          call: p.call,
          it: p.iteration,
          score: fmt(p.score),
          ref: fmt(p.ref),
          state: p.converged ? 'converged' : '',
        });
      } else {
        console.log(
          `  call ${p.call} iteration ${p.iteration} station ${String(station).padStart(2)}: score ${fmt(p.score)}  ref ${fmt(p.ref)} dB${p.converged ? '  (converged)' : ''}`,
        );
      }
    },
    stop() {
      multi?.stop();
    },
  };
}
