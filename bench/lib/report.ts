// Figures -> summary rows (median, min, max, baseline median, ratio, goal met?) -> a plain-text table
// and a Markdown table (for bench/README.md).
import { maxOf, median, minOf } from './stats.ts';
import type { Figure, Goal } from './types.ts';

export interface Row {
  bench: string;
  name: string;
  metric: string;
  runs: number;
  median: number;
  min: number;
  max: number;
  baseline: string | null;
  baselineMedian: number | null;
  /** pipeline median / baseline median. */
  ratio: number | null;
  goal: string | null;
  met: boolean | null;
  higherIsBetter: boolean;
  note: string | null;
}

function meets(goal: Goal, value: number, ratio: number | null): boolean | null {
  const x = goal.on === 'ratio' ? ratio : value;
  if (x === null || !Number.isFinite(x)) return false;
  return goal.kind === 'min' ? x >= goal.value : x <= goal.value;
}

export function summarize(f: Figure): Row {
  const m = median(f.samples);
  const bm = f.baseline ? median(f.baseline.samples) : null;
  const ratio = bm !== null && Number.isFinite(bm) && bm !== 0 ? m / bm : null;
  return {
    bench: f.bench,
    name: f.name,
    metric: f.metric,
    runs: f.samples.length,
    median: m,
    min: minOf(f.samples),
    max: maxOf(f.samples),
    baseline: f.baseline?.name ?? null,
    baselineMedian: bm,
    ratio,
    goal: f.goal?.text ?? null,
    met: f.goal ? meets(f.goal, m, ratio) : null,
    higherIsBetter: f.higherIsBetter,
    note: f.note ?? null,
  };
}

/** 3 significant digits, thousands grouped; '-' for none. */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '-';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  if (a === 0) return '0';
  return x.toPrecision(2);
}

const ratioText = (r: Row) => (r.ratio === null ? '-' : `${fmt(r.ratio)}x`);
const metText = (r: Row) => (r.met === null ? '' : r.met ? 'yes' : 'NO');

const HEADER = [
  'benchmark',
  'metric',
  'median',
  'min',
  'max',
  'baseline',
  'base median',
  'ratio',
  'goal',
  'met',
];

function cells(r: Row): string[] {
  return [
    r.name,
    r.metric,
    fmt(r.median),
    fmt(r.min),
    fmt(r.max),
    r.baseline ?? '-',
    fmt(r.baselineMedian),
    ratioText(r),
    r.goal ?? '',
    metText(r),
  ];
}

export function renderTable(rows: readonly Row[]): string {
  const body = rows.map(cells);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((c) => c[i]!.length)));
  const numeric = new Set([2, 3, 4, 6, 7]);
  const line = (c: string[]) =>
    c
      .map((x, i) => (numeric.has(i) ? x.padStart(widths[i]!) : x.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function renderMarkdown(rows: readonly Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${HEADER.join(' | ')} |`,
    `| ${HEADER.map((_, i) => ([2, 3, 4, 6, 7].includes(i) ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${cells(r).map(esc).join(' | ')} |`),
  ].join('\n');
}
