// The layers and the one direction of imports (README "Architecture"), checked on the source itself:
// no import circle anywhere, and the pure core — DSP and metrics, the optimizers' maths, the safety
// rules, the effective-config view, the domain rules — can reach no I/O library and not the
// environment, directly or through any module it loads; the catalog is parsed by an explicit call, not
// on import.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { circles, moduleGraph, reach } from '../../helpers/imports.ts';

const graph = moduleGraph();

const CORE = (f: string) =>
  /^(audio|optimizer\/core|optimizer\/gp|domain|catalog)\//.test(f) ||
  f === 'config/safety.ts' ||
  f === 'config/view.ts' ||
  f === 'config/keys.ts';

/** Packages that do I/O (or are the environment's and the file system's doors). */
const IO_PACKAGES = new Set([
  'kafkajs',
  '@kafkajs/confluent-schema-registry',
  'pg',
  'node-pg-migrate',
  'pg-copy-streams',
  '@aws-sdk/client-s3',
  'fastify',
  '@fastify/swagger',
  'fs',
  'fs/promises',
  'net',
  'dgram',
  'http',
  'https',
  'child_process',
  'pino',
]);

/**
 * The exceptions, with their reason: the VAD's and RNNoise's WebAssembly binaries (libfvad; RNNoise's
 * SIMD build), shipped in node_modules, are code, read once like a module is loaded; Node has no way to
 * import a .wasm file without a flag.
 */
const ALLOWED: Record<string, string[]> = {
  'audio/metrics/vad.ts': ['fs'],
  'audio/dsp/rnnoiseWasm.ts': ['fs'],
};

test('the core modules exist where this test looks for them', () => {
  for (const f of [
    'audio/dsp/chain.ts',
    'optimizer/core/controller.ts',
    'optimizer/gp/gp.ts',
    'config/safety.ts',
    'config/view.ts',
    'domain/snapshot.ts',
  ])
    assert.ok(graph.edges.has(f), `${f} is missing: update the layer list`);
  assert.ok(graph.files.filter(CORE).length > 40);
});

test('no module of the pure core reaches an I/O library or the environment', () => {
  const problems: string[] = [];
  for (const start of graph.files.filter(CORE)) {
    for (const [file, path] of reach(graph, start)) {
      for (const pkg of graph.packages.get(file) ?? []) {
        if (IO_PACKAGES.has(pkg) && !ALLOWED[file]?.includes(pkg))
          problems.push(`${start} reaches ${pkg} via ${path.join(' > ')}`);
      }
      if (/process\.env/.test(graph.source.get(file) ?? ''))
        problems.push(`${start} reaches process.env via ${path.join(' > ')}`);
      if (!CORE(file)) problems.push(`${start} imports ${file}, outside the core, via ${path.join(' > ')}`);
    }
  }
  assert.deepEqual([...new Set(problems)], []);
});

test('no import circle', () => {
  assert.deepEqual(circles(graph), []);
});

test('the import reader sees what it must (so the checks above can fail)', () => {
  const g = moduleGraph();
  assert.ok(g.packages.get('storage/db.ts')!.includes('pg'), 'a value import of a package');
  assert.ok(g.edges.get('runtime/app.ts')!.includes('config/outbox.ts'), 'a multi-line import of a file');
  assert.ok(
    !g.edges.get('consumers/persister/persister.ts')!.includes('lib/settings.ts'),
    'type-only import skipped',
  );
});

test('importing the catalog parses nothing; loadCatalog() parses it once', async () => {
  // This file imports no module that loads the catalog, and each test file runs in its own process.
  // The settings module is imported by nearly everything (and by every test file's watchdog): it once
  // parsed the catalog on import through the Kafka principals' list.
  await import('../../../lib/settings.ts');
  const catalog = await import('../../../catalog/index.ts');
  assert.equal(catalog.catalogLoaded(), false, 'the catalog was parsed on import');
  const loaded = catalog.loadCatalog();
  assert.equal(catalog.catalogLoaded(), true);
  assert.ok(loaded.stations.length > 0 && loaded.parameters.length > 0);
  assert.equal(catalog.loadCatalog(), loaded, 'a second call hands out the same catalog');
});
