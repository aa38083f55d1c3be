// The operator console: reads the API with the token the operator pastes (kept in this browser's
// localStorage), refreshes the station scores and calls every few seconds, and follows the change feed
// (GET /v1/events, server-sent events read with fetch so the token travels in a header).
import { STATION_COLOURS, sparkline, timeline } from './charts.js';

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'voiceloop.token';
const REFRESH_MS = 5000;
const MAX_CHANGES = 60;

/** A DOM element with attributes, properties and children (no HTML strings: the page's CSP allows none). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const state = {
  token: null,
  principal: null,
  stations: [],
  changes: new Map(),
  feed: null,
  timer: null,
  selectedCall: null,
  selectedStation: null,
};

function principalOf(token) {
  try {
    const payload = token.split('.')[1];
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(json);
  } catch {
    return null;
  }
}

const canRollBack = () => state.principal && ['operator', 'admin'].includes(state.principal.role);

async function api(path, init = {}) {
  const res = await fetch(path, {
    ...init,
    headers: {
      authorization: `Bearer ${state.token}`,
      ...(init.body ? { 'content-type': 'application/json' } : {}),
    },
  });
  const body = res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    const msg = typeof body === 'object' && body ? body.message : String(body);
    const err = new Error(msg || `HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return body;
}

function scoreClass(score) {
  if (score === null || score === undefined) return 'none';
  if (score >= 90) return 'good';
  if (score >= 75) return 'fair';
  return 'poor';
}

const fmtScore = (s) => (s === null || s === undefined ? '–' : s.toFixed(1));
const fmtTime = (iso) => new Date(iso).toLocaleTimeString();
const fmtDateTime = (iso) => new Date(iso).toLocaleString();
const stationName = (id) => {
  const s = state.stations.find((x) => x.station_id === id);
  return s ? `${id} ${s.component}` : `station ${id}`;
};

function setStatus(text, cls) {
  const el = $('live');
  el.textContent = text;
  el.className = `pill ${cls}`;
}

// --------------------------------------------------------------------------------------------------
// Pipeline

// The path of a call: the caller's audio (A leg) 1 -> 2 -> 3 -> 4, station 11 tapping it beside 3,
// and the answer back to the caller (B leg) 9 -> 10.
const LAYOUT = [
  { label: 'A leg — caller to speech server', row: [1, 2, 3, 4] },
  { label: 'beside the A leg — emotion analysis', row: [null, null, 11, null] },
  { label: 'B leg — speech back to the caller', row: [9, 10, null, null] },
];

function stationCard(s, largestDrop) {
  const cls = `station ${scoreClass(s.score)}${s.station_id === largestDrop ? ' lossiest' : ''}${
    state.selectedStation === s.station_id ? ' selected' : ''
  }`;
  const spark = h('div', { class: 'spark' });
  const drop =
    s.drop_from_input === null
      ? h('span', { class: 'drop' }, s.input_station_id === null ? 'first on its leg' : 'no input data')
      : h(
          'span',
          { class: `drop ${s.drop_from_input > 0 ? 'down' : 'up'}` },
          s.drop_from_input > 0
            ? `▼ ${s.drop_from_input.toFixed(1)} from ${s.input_station_id}`
            : `▲ ${(-s.drop_from_input).toFixed(1)} from ${s.input_station_id}`,
        );
  const card = h(
    'button',
    {
      class: cls,
      type: 'button',
      dataset: { station: s.station_id },
      title: s.position,
      onclick: () => selectStation(s.station_id),
    },
    h('span', { class: 'sid' }, `${s.station_id}`),
    h('span', { class: 'sname' }, s.component),
    h('span', { class: 'spos' }, s.position),
    h('span', { class: 'score', dataset: { score: s.score ?? '' } }, fmtScore(s.score)),
    h(
      'span',
      { class: 'meta' },
      s.snapshots ? `${s.snapshots} snapshots · latest ${fmtScore(s.latest_score)}` : 'no snapshots yet',
    ),
    spark,
    drop,
    s.station_id === largestDrop ? h('span', { class: 'badge-loss' }, 'quality lost here') : null,
  );
  return { card, spark };
}

function renderPipeline(data) {
  state.stations = data.stations;
  $('window-note').textContent =
    `mean score over the last ${data.window.minutes} min · updated ${fmtTime(data.window.to)}`;
  const root = $('pipeline');
  root.replaceChildren();
  const sparks = [];
  for (const line of LAYOUT) {
    const row = h('div', { class: 'leg' }, h('div', { class: 'leg-label' }, line.label));
    const cells = h('div', { class: 'leg-cells' });
    line.row.forEach((id, i) => {
      if (id === null) {
        cells.append(h('div', { class: 'cell empty' }));
      } else {
        const s = data.stations.find((x) => x.station_id === id);
        if (!s) return;
        const { card, spark } = stationCard(s, data.largest_drop_station_id);
        cells.append(h('div', { class: 'cell' }, card));
        sparks.push([spark, s]);
      }
      const next = line.row[i + 1];
      if (id !== null && next !== undefined && next !== null) cells.append(h('div', { class: 'arrow' }, '→'));
      else if (i < line.row.length - 1) cells.append(h('div', { class: 'arrow empty' }));
    });
    row.append(cells);
    root.append(row);
  }
  for (const [el, s] of sparks) sparkline(el, s.trend, STATION_COLOURS[s.station_id]);
  const worst = data.stations.find((s) => s.station_id === data.largest_drop_station_id);
  $('loss-note').textContent = worst
    ? `Quality is lost most at station ${worst.station_id} (${worst.component}): its score is ${worst.drop_from_input.toFixed(1)} points below its input, station ${worst.input_station_id}.`
    : data.stations.some((s) => s.score !== null)
      ? 'No station scores below the station that feeds it.'
      : 'No snapshots in this window yet: start a call (npm run demo) and the scores appear here.';
  const bar = $('loss-bar');
  bar.replaceChildren();
  const shares = data.stations.filter((s) => s.loss_share);
  if (shares.length) bar.append(h('span', { class: 'loss-label' }, "share of the pipeline's quality loss:"));
  for (const s of shares) {
    const seg = h(
      'span',
      { class: 'loss-seg', title: `station ${s.station_id}: ${(s.loss_share * 100).toFixed(0)}%` },
      `${s.station_id}`,
    );
    seg.style.flexGrow = String(s.loss_share);
    seg.style.background = STATION_COLOURS[s.station_id];
    bar.append(seg);
  }
}

async function selectStation(id) {
  state.selectedStation = id;
  const s = await api(`/v1/stations/${id}/summary`);
  $('station-section').hidden = false;
  $('station-title').textContent = `Station ${s.station_id} — ${s.component} (${s.position})`;
  const hist = $('histogram');
  hist.replaceChildren();
  const max = Math.max(1, ...s.distribution.histogram.map((b) => b.count));
  for (const b of s.distribution.histogram) {
    const bar = h(
      'div',
      { class: 'bar', title: `${b.from}–${b.to}: ${b.count}` },
      h('span', {}, b.count ? String(b.count) : ''),
    );
    bar.style.height = `${Math.round((100 * b.count) / max)}%`;
    bar.style.background = STATION_COLOURS[id];
    hist.append(h('div', { class: 'bin' }, bar, h('div', { class: 'bin-label' }, `${b.from}`)));
  }
  const d = s.distribution;
  $('dist-note').textContent = d.count
    ? `${d.count} snapshots · mean ${fmtScore(d.mean)} · median ${fmtScore(d.p50)} · 10% below ${fmtScore(d.p10)} · ${
        s.loss_share === null ? '' : `${(s.loss_share * 100).toFixed(0)}% of the pipeline's quality loss`
      }`
    : 'no snapshots in the window';
  $('component-losses').replaceChildren(
    ...s.component_losses
      .slice(0, 6)
      .map((c) =>
        h('li', {}, h('span', { class: 'cname' }, c.name), ` loses ${(c.mean_loss * 100).toFixed(0)}%`),
      ),
  );
  $('worst-calls').replaceChildren(
    ...s.worst_calls.map((c) =>
      h(
        'li',
        {},
        h(
          'a',
          {
            href: '#',
            onclick: (e) => {
              e.preventDefault();
              void showCall(c.call_id, c.tenant_id);
            },
          },
          c.call_id,
        ),
        ` ${fmtScore(c.score)}`,
      ),
    ),
  );
  for (const el of document.querySelectorAll('.station'))
    el.classList.toggle('selected', Number(el.dataset.station) === id);
}

// --------------------------------------------------------------------------------------------------
// Changes

function changeItem(c) {
  const actor = c.actor_kind === 'user' ? `operator ${c.actor.slice(5)}` : c.actor;
  const diff = c.changed.length
    ? c.changed.map((p) => `${p.name} ${p.before ?? '–'} → ${p.after ?? '–'}`).join(', ')
    : 'no value changed';
  const scope =
    c.scope.level === 'call'
      ? `call ${c.scope.call_id}`
      : c.scope.level === 'tenant'
        ? `tenant ${c.scope.tenant_id}`
        : 'global';
  const statusText =
    { applied: 'applied', rejected: 'rejected', rolled_back: 'rolled back' }[c.status] ?? c.status;
  const li = h(
    'li',
    { class: `change ${c.status}`, dataset: { change: c.change_id } },
    h(
      'div',
      { class: 'change-head' },
      h('span', { class: `status ${c.status}` }, statusText),
      c.rollback_of ? h('span', { class: 'status rollback' }, 'rollback') : null,
      h('span', { class: 'where' }, `${stationName(c.station_id)} · ${scope}`),
      h('time', { datetime: c.created_at }, fmtTime(c.created_at)),
    ),
    h('div', { class: 'diff' }, diff),
    h('div', { class: 'reason' }, `${actor}: ${c.reason}`),
    c.judgement
      ? h(
          'div',
          { class: `judgement ${c.judgement.kind}` },
          `judged ${c.judgement.kind}: ${c.judgement.detail}`,
        )
      : null,
  );
  if (c.status === 'applied' && canRollBack()) {
    li.append(
      h('button', { class: 'rollback-btn', type: 'button', onclick: () => askRollback(c) }, 'Roll back…'),
    );
  }
  return li;
}

function renderChanges() {
  const list = [...state.changes.values()]
    .sort((a, b) => b.created_at.localeCompare(a.created_at))
    .slice(0, MAX_CHANGES);
  $('changes').replaceChildren(
    ...(list.length ? list.map(changeItem) : [h('li', { class: 'empty' }, 'No changes yet.')]),
  );
}

function addChange(c, fresh) {
  state.changes.set(c.change_id, c);
  if (c.rollback_of && state.changes.has(c.rollback_of)) {
    state.changes.set(c.rollback_of, {
      ...state.changes.get(c.rollback_of),
      status: 'rolled_back',
      rolled_back_by: c.change_id,
    });
  }
  renderChanges();
  if (fresh) document.querySelector(`[data-change="${c.change_id}"]`)?.classList.add('fresh');
}

async function loadChanges() {
  const page = await api('/v1/changes?limit=40');
  for (const c of page.items.reverse()) state.changes.set(c.change_id, c);
  renderChanges();
}

/** The change feed: server-sent events over fetch; reconnects after a pause when it drops. */
async function follow() {
  const ctl = new AbortController();
  state.feed = ctl;
  while (!ctl.signal.aborted) {
    try {
      const res = await fetch('/v1/events', {
        headers: { authorization: `Bearer ${state.token}` },
        signal: ctl.signal,
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      setStatus('live', 'on');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end = buf.indexOf('\n\n');
        while (end >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event === 'change' && data) {
            addChange(JSON.parse(data), true);
            if (state.selectedCall) void refreshCall();
          }
          end = buf.indexOf('\n\n');
        }
      }
    } catch (err) {
      if (ctl.signal.aborted) return;
      setStatus('reconnecting…', 'off');
      console.warn('change feed dropped:', err.message);
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function askRollback(c) {
  const dlg = $('rollback-dialog');
  $('rollback-what').textContent =
    `${stationName(c.station_id)}: ${c.changed.map((p) => `${p.name} ${p.after} → back to ${p.before}`).join(', ')}`;
  $('rollback-reason').value = '';
  $('rollback-error').textContent = '';
  dlg.dataset.change = c.change_id;
  dlg.showModal();
}

async function confirmRollback(e) {
  e.preventDefault();
  const dlg = $('rollback-dialog');
  const reason = $('rollback-reason').value.trim();
  if (reason.length < 3) {
    $('rollback-error').textContent = 'Say why in a few words (at least 3 characters).';
    return;
  }
  try {
    const out = await api('/v1/config/rollback', {
      method: 'POST',
      body: JSON.stringify({ change_id: dlg.dataset.change, reason }),
    });
    if (out.status !== 'applied') {
      $('rollback-error').textContent = `Refused by the safety layer: ${out.reasons.join('; ')}`;
      return;
    }
    dlg.close();
  } catch (err) {
    $('rollback-error').textContent = err.message;
  }
}

// --------------------------------------------------------------------------------------------------
// Calls

async function loadCalls() {
  const page = await api('/v1/calls?limit=15');
  const body = $('calls').tBodies[0];
  body.replaceChildren(
    ...(page.items.length
      ? page.items.map((c) =>
          h(
            'tr',
            {
              class: state.selectedCall?.call_id === c.call_id ? 'selected' : '',
              onclick: () => showCall(c.call_id, c.tenant_id),
            },
            h('td', { class: 'mono' }, c.call_id),
            h('td', {}, fmtDateTime(c.first_seen_at)),
            h('td', {}, h('span', { class: `score-chip ${scoreClass(c.score)}` }, fmtScore(c.score))),
            h(
              'td',
              {},
              c.worst_station
                ? `${stationName(c.worst_station.station_id)} (${fmtScore(c.worst_station.score)})`
                : '–',
            ),
          ),
        )
      : [h('tr', {}, h('td', { colspan: 4, class: 'empty' }, 'No calls yet.'))]),
  );
}

async function showCall(callId, tenantId) {
  state.selectedCall = { call_id: callId, tenant_id: tenantId };
  await refreshCall();
  $('call-section').scrollIntoView({ behavior: 'smooth', block: 'start' });
}

function judgementColour(c) {
  if (c.status === 'rolled_back' || c.judgement?.kind === 'regressed') return '#dc2626';
  if (c.judgement?.kind === 'improved') return '#16a34a';
  return '#9ca3af';
}

async function refreshCall() {
  const sel = state.selectedCall;
  if (!sel) return;
  const admin = state.principal?.tenant === '*';
  const call = await api(
    `/v1/calls/${encodeURIComponent(sel.call_id)}${admin ? `?tenant_id=${encodeURIComponent(sel.tenant_id)}` : ''}`,
  );
  $('call-section').hidden = false;
  $('call-title').textContent =
    `${call.call_id} · tenant ${call.tenant_id} · ${fmtDateTime(call.first_seen_at)}`;
  // A change is marked at the first segment of its station that ran it (stamped with its version or a later one).
  const marks = [];
  for (const c of call.changes) {
    if (c.config_version === null) continue;
    const st = call.stations.find((s) => s.station_id === c.station_id);
    const seg = st?.segments.find((g) => g.applied_config_version >= c.config_version);
    if (seg) marks.push({ x: seg.segment_index - 0.5, colour: judgementColour(c) });
  }
  const el = $('timeline');
  timeline(el, call, marks, Math.max(320, el.clientWidth || 800));
  $('call-changes').replaceChildren(
    ...(call.changes.length
      ? [...call.changes].reverse().map(changeItem)
      : [h('li', { class: 'empty' }, 'No change was made at this call.')]),
  );
}

// --------------------------------------------------------------------------------------------------
// Experiments

const VERDICTS = {
  promote: 'promoted: the treatment scored better',
  worse: 'not promoted: the treatment scored worse',
  guardrail_stop: 'stopped by the guardrail',
  no_verdict: 'no verdict within the sample',
  stopped: 'stopped by hand',
};

/** An A/B verdict in words: what was decided, by how many points, at what p-value. */
function verdictText(v) {
  if (!v) return 'no verdict yet';
  const diff =
    typeof v.difference === 'number'
      ? ` · ${v.difference >= 0 ? '+' : ''}${v.difference.toFixed(1)} points`
      : '';
  const p = typeof v.p_value === 'number' ? ` · p = ${v.p_value.toPrecision(2)}` : '';
  return `${VERDICTS[v.kind] ?? v.kind}${diff}${p}`;
}

async function loadExperiments() {
  const { items } = await api('/v1/experiments');
  $('experiments-section').hidden = false;
  $('experiments').tBodies[0].replaceChildren(
    ...(items.length
      ? items.map((x) =>
          h(
            'tr',
            {},
            h('td', {}, stationName(x.station_id)),
            h('td', {}, x.scope.level === 'tenant' ? `tenant ${x.scope.tenant_id}` : 'global'),
            h(
              'td',
              { class: 'mono' },
              Object.entries(x.treatment)
                .map(([k, v]) => `${k}=${v}`)
                .join(', '),
            ),
            h('td', {}, h('span', { class: `status ${x.status}` }, x.status.replace('_', ' '))),
            h('td', {}, verdictText(x.verdict)),
            h('td', {}, fmtDateTime(x.started_at)),
          ),
        )
      : [h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'No experiments.'))]),
  );
}

// --------------------------------------------------------------------------------------------------
// Start

async function refresh() {
  try {
    renderPipeline(await api('/v1/stations'));
    await loadCalls();
    if (state.selectedStation !== null) await selectStation(state.selectedStation);
  } catch (err) {
    setStatus(err.status === 401 ? 'token refused' : 'API unreachable', 'off');
    console.warn('refresh failed:', err.message);
  }
}

async function connect(token) {
  state.token = token;
  state.principal = principalOf(token);
  state.feed?.abort();
  clearInterval(state.timer);
  try {
    renderPipeline(await api('/v1/stations'));
  } catch (err) {
    $('intro-hint').textContent = `That token was refused: ${err.message}`;
    $('intro-hint').className = 'error';
    return;
  }
  localStorage.setItem(TOKEN_KEY, token);
  const p = state.principal;
  $('who').textContent = p ? `${p.sub} · ${p.role} · tenant ${p.tenant === '*' ? 'all' : p.tenant}` : '';
  $('forget').hidden = false;
  $('intro').hidden = true;
  for (const id of ['pipeline-section', 'columns']) $(id).hidden = false;
  state.changes.clear();
  await Promise.all([loadCalls(), loadChanges(), loadExperiments()]);
  void follow();
  state.timer = setInterval(refresh, REFRESH_MS);
}

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const t = $('token')
    .value.trim()
    .replace(/^Bearer\s+/i, '');
  if (t) void connect(t);
});
$('forget').addEventListener('click', () => {
  localStorage.removeItem(TOKEN_KEY);
  location.reload();
});
$('rollback-form').addEventListener('submit', confirmRollback);
$('rollback-cancel').addEventListener('click', () => $('rollback-dialog').close());

const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
if (fromHash) history.replaceState(null, '', location.pathname);
const saved = fromHash ?? localStorage.getItem(TOKEN_KEY);
if (saved) void connect(saved);
