# The scorecard's fit against PESQ (issue 10, point 3), run once on 2026-12-02 by hand; kept so the
# procedure can be repeated. Input: JSON lines from `tsx bench/scorecard-data.ts` (one per profile,
# station and parameter set: the score's components per segment, the speech-band change, PESQ).
# It re-computes the station score as optimizer/core/scorecard.ts does (weighted mean x guard factor x
# settings/speech-cut multipliers; checked equal to the stored scores), with weight multipliers and
# curve limits as knobs, and searches them (random, then coordinate polish) to maximise the mean over
# station families of Spearman's rho of score vs PESQ (pooled over profiles + median within a
# profile) on the TRAIN file only; the TEST file (another seed) is only reported.
#   ~/.cache/voiceloop/python/<env>/bin/python bench/scorecard_fit.py TRAIN.jsonl TEST.jsonl [ITERATIONS]
# numpy and scipy come with the PESQ/STOI sidecar's environment (quality/requirements.txt).
import json, sys, math, random
import numpy as np
from scipy.stats import spearmanr
from collections import defaultdict

W = dict(level=0.2, noise=0.15, noise_floor=0.05, clipping=0.15, hum=0.08, dc_offset=0.02, dynamics=0.05,
         speech_presence=0.05, network=0.25, latency=0.1, tts_latency=0.05, stt_confidence=0.2, stt_wer=0.2,
         emotion_confidence=0.1)
SW = dict(voice_band=0.25, gate_margin=0.25, suppression_need=0.15)
GUARDS = {'dynamics', 'speech_presence'}

def load(p):
    rows = [json.loads(l) for l in open(p) if l.strip()]
    return [r for r in rows if r['pesq'] is not None]

def ramp(x, a, b):
    if a == b: return 1.0 if x >= b else 0.0
    t = min(1, max(0, (x - a) / (b - a))); return t * t * (3 - 2 * t)

def seg_score(seg, cfg):
    m = cfg.get('mult', {})
    s = ws = 0; guard = 1; sett = 1
    for name, c in seg['components'].items():
        if name == 'noise' and cfg.get('snr_full'):
            v = c['v']; mn = 20
            full = cfg['snr_full']
            sc = 0.8 + 0.2 * ramp(v, mn, mn + full) if v >= mn else 0.8 * ramp(v, mn - 20, mn)
            c = {'v': v, 's': sc}
        if name == 'dynamics' and cfg.get('crest_full'):
            c = {'v': c['v'], 's': ramp(c['v'], 5, cfg['crest_full'])}
        if name in SW:
            w = SW[name] * m.get(name, 1)
            sett *= 1 - w * (1 - c['s']); continue
        w = W[name] * m.get(name, 1)
        s += w * c['s']; ws += w
        if name in GUARDS: guard = min(guard, c['s'])
    # speech integrity from the band cut
    b = seg.get('band')
    if b is not None and cfg.get('si_w', 0) > 0 and b['cells'] > 0:
        cut = b[cfg.get('si_feat', 'cutDb')]
        sc = 1 - ramp(cut, cfg['si_free'], cfg['si_zero'])
        if cfg.get('si_mode', 'mult') == 'mult':
            sett *= 1 - cfg['si_w'] * (1 - sc)
        else:
            s += cfg['si_w'] * sc; ws += cfg['si_w']
    base = s / ws if ws else 0
    gf = 0.3 + 0.7 * min(1, max(0, guard / 0.5))
    return 100 * base * gf * sett

def row_score(r, cfg):
    return float(np.mean([seg_score(g, cfg) for g in r['segs']]))

def rho(xs, ys):
    if len(xs) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2: return None
    return spearmanr(xs, ys).correlation

def agreement(rows, cfgs, key=lambda r: r['station']):
    fam = defaultdict(list)
    for r in rows: fam[key(r)].append(r)
    out = {}
    for f, rs in sorted(fam.items()):
        cfg = cfgs(f) if callable(cfgs) else cfgs
        sc = [row_score(r, cfg) for r in rs]
        pq = [r['pesq'] for r in rs]
        pooled = rho(sc, pq)
        byp = defaultdict(lambda: ([], []))
        for r, s in zip(rs, sc):
            byp[r['profile']][0].append(s); byp[r['profile']][1].append(r['pesq'])
        within = [x for x in (rho(a, b) for a, b in byp.values()) if x is not None and not math.isnan(x)]
        out[f] = (pooled, float(np.median(within)) if within else None, len(rs))
    return out

def feats(r):
    f = {}
    segs = r['segs']
    for k in segs[0]['audio']:
        f['out.' + k] = np.mean([g['audio'][k] for g in segs])
    if segs[0]['input']:
        for k in segs[0]['input']:
            f['in.' + k] = np.mean([g['input'][k] for g in segs])
        for k in ('cutDb', 'spectralCutDb', 'gainDb'):
            f['band.' + k] = np.mean([g['band'][k] for g in segs])
        f['d.snr'] = f['out.snr_db'] - f['in.snr_db']
        f['d.crest'] = f['out.crest_factor_db'] - f['in.crest_factor_db']
        f['d.act'] = f['out.speech_activity'] - f['in.speech_activity']
        f['d.centroid'] = f['out.spectral_centroid_hz'] - f['in.spectral_centroid_hz']
    if segs[0]['network']:
        for k in segs[0]['network']:
            f['net.' + k] = np.mean([g['network'][k] for g in segs])
    for name in segs[0]['components']:
        f['comp.' + name] = np.mean([g['components'].get(name, {'s': np.nan})['s'] for g in segs])
    f['score'] = np.mean([g['score'] for g in segs])
    return f


# ---- the search

train = load(sys.argv[1]); test = load(sys.argv[2]) if len(sys.argv) > 2 else []

def objective(ag):
    vals = []
    for f, (p, w, n) in ag.items():
        vals.append(np.nan_to_num(p if p is not None else 0) + np.nan_to_num(w if w is not None else 0))
    return float(np.mean(vals))

def show(tag, ag):
    print(tag, ' '.join('%s:%s/%s' % (f, 'nan' if p is None else '%.2f' % p, 'nan' if w is None else '%.2f' % w) for f, (p, w, n) in ag.items()), 'obj %.3f' % objective(ag))

base = {}
show('train base', agreement(train, base))
if test: show('test  base', agreement(test, base))

rnd = random.Random(1)
space = {
  'level': [1, 0.5],
  'noise': [1, 1.5, 2, 3],
  'voice_band': [1, 0.5],
  'dynamics': [1, 2, 4],
  'network': [1, 1.5, 2],
  'latency': [1, 0.5, 0.0],
  'emotion_confidence': [1, 0.5, 0.0],
  'stt_confidence': [1, 0.5],
  'suppression_need': [1, 0.5],
  'gate_margin': [1, 0.5],
  'clipping': [1, 2],
  'speech_presence': [1, 2],
  'hum': [1, 2],
  'noise_floor': [1, 2, 0.5],
}
si = {'snr_full': [6, 12, 20], 'crest_full': [12, 15, 18], 'si_w': [0, 0.2, 0.35, 0.5], 'si_free': [0.5, 1, 2], 'si_zero': [4, 6, 10], 'si_feat': ['cutDb', 'spectralCutDb']}
best = (objective(agreement(train, base)), base)
for it in range(int(sys.argv[3]) if len(sys.argv) > 3 else 150):
    cfg = {'mult': {k: rnd.choice(v) for k, v in space.items()}}
    for k, v in si.items(): cfg[k] = rnd.choice(v)
    o = objective(agreement(train, cfg))
    if o > best[0]:
        best = (o, cfg); print('it', it, 'obj %.3f' % o, json.dumps(cfg))
# coordinate polish
cfg = best[1]
for rnd_ in range(2):
    for k, vals in list(space.items()) + list(si.items()):
        for v in vals:
            c = json.loads(json.dumps(cfg))
            if k in space: c.setdefault('mult', {})[k] = v
            else: c[k] = v
            o = objective(agreement(train, c))
            if o > best[0] + 1e-9: best = (o, c); cfg = c; print('polish', k, v, 'obj %.3f' % o)
print('BEST', json.dumps(best[1]))
show('train best', agreement(train, best[1]))
if test: show('test  best', agreement(test, best[1]))
