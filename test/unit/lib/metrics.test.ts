// The metrics' own rules: actor kinds are a closed, bounded set; every query of the provisioned Grafana
// dashboard names a metric the program exports (a renamed metric would leave a panel silently empty).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { actorKind, createAgentMetrics, createMetrics } from '../../../lib/metrics.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

test('actor kinds: every actor the change path writes maps to a bounded kind', () => {
  assert.equal(actorKind('user:alice'), 'operator');
  assert.equal(actorKind('optimizer:online'), 'online');
  assert.equal(actorKind('optimizer:online:auto-rollback'), 'auto_rollback');
  assert.equal(actorKind('ab:7f1c'), 'experiment');
  assert.equal(actorKind('something else'), 'other');
});

async function exportedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const reg of [createMetrics().registry, createAgentMetrics().registry]) {
    for (const m of await reg.getMetricsAsJSON()) {
      names.add(m.name);
      if (String(m.type) === 'histogram')
        for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
    }
  }
  return names;
}

test('every query of the Grafana dashboard names an exported metric', async () => {
  const dash = JSON.parse(
    readFileSync(join(ROOT, 'stack/docker/grafana/dashboards/voiceloop.json'), 'utf8'),
  ) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  const names = await exportedNames();
  assert.ok(names.has('voiceloop_changes_total') && names.has('voiceloop_agent_apply_seconds_bucket'));
  let queries = 0;
  for (const p of dash.panels) {
    assert.ok(p.targets.length > 0, `panel "${p.title}" has no query`);
    for (const { expr } of p.targets) {
      queries++;
      const used = expr.match(/\bvoiceloop_[a-z0-9_]+/g) ?? [];
      assert.ok(used.length > 0, `panel "${p.title}": "${expr}" names no voiceloop metric`);
      for (const n of used) assert.ok(names.has(n), `panel "${p.title}" queries ${n}, which nothing exports`);
    }
  }
  assert.ok(queries >= 10);
});

test('the dashboard provider points where docker-compose mounts the dashboards', () => {
  const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
  const provider = readFileSync(join(ROOT, 'stack/docker/grafana/dashboards.yaml'), 'utf8');
  assert.match(compose, /stack\/docker\/grafana\/dashboards:\/var\/lib\/grafana\/dashboards/);
  assert.match(provider, /path: \/var\/lib\/grafana\/dashboards/);
});
