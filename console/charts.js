// Charts of the console, drawn with uPlot (loaded from vendor/uPlot.js as the global uPlot).
/* global uPlot */

export const STATION_COLOURS = {
  1: '#2563eb',
  2: '#0891b2',
  3: '#7c3aed',
  4: '#db2777',
  9: '#ea580c',
  10: '#ca8a04',
  11: '#16a34a',
};

/** A small trend line of a station's score (null where no snapshot fell in a slice). */
export function sparkline(el, points, colour) {
  el.replaceChildren();
  const xs = points.map((p) => Date.parse(p.at) / 1000);
  const ys = points.map((p) => p.score);
  const opts = {
    width: 150,
    height: 38,
    pxAlign: false,
    cursor: { show: false },
    legend: { show: false },
    select: { show: false },
    scales: { x: { time: true }, y: { range: [0, 100] } },
    axes: [{ show: false }, { show: false }],
    series: [{}, { stroke: colour, width: 2, spanGaps: true, points: { show: true, size: 3 } }],
  };
  return new uPlot(opts, [xs, ys], el);
}

/**
 * A call's timeline: the score per segment at each station, with a dashed line where a change took
 * effect, coloured by its judgement.
 */
export function timeline(el, call, marks, width) {
  el.replaceChildren();
  const xsSet = new Set();
  for (const s of call.stations) for (const g of s.segments) xsSet.add(g.segment_index);
  const xs = [...xsSet].sort((a, b) => a - b);
  const data = [xs];
  const series = [{ label: 'segment' }];
  for (const s of call.stations) {
    const byIndex = new Map(s.segments.map((g) => [g.segment_index, g.score]));
    data.push(xs.map((x) => byIndex.get(x) ?? null));
    series.push({
      label: `${s.station_id} ${s.component}`,
      stroke: STATION_COLOURS[s.station_id] ?? '#555',
      width: 2,
      spanGaps: true,
      points: { show: true, size: 5 },
    });
  }
  const drawMarks = (u) => {
    const ctx = u.ctx;
    ctx.save();
    ctx.setLineDash([6, 4]);
    ctx.lineWidth = 2 * devicePixelRatio;
    for (const m of marks) {
      const x = u.valToPos(m.x, 'x', true);
      ctx.strokeStyle = m.colour;
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
    }
    ctx.restore();
  };
  const opts = {
    width,
    height: 280,
    scales: { x: { time: false }, y: { range: [0, 100] } },
    axes: [
      {
        label: 'segment (≈ 1 s of audio each)',
        values: (_u, v) => v.map((x) => (Number.isInteger(x) ? x : '')),
      },
      { label: 'score' },
    ],
    series,
    hooks: { draw: [drawMarks] },
  };
  return new uPlot(opts, data, el);
}
