// The operator console (issue 12) at /console/: the project's own page, script and style from
// console/, and the chart library (uPlot) from the installed npm package — nothing from a CDN. The
// files are read once at start; only these names are served, so no path reaches the disk.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';

const CONSOLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'console');
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot'));

const FILES: Record<string, { path: string; type: string }> = {
  '': { path: join(CONSOLE_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  'app.js': { path: join(CONSOLE_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  'charts.js': { path: join(CONSOLE_DIR, 'charts.js'), type: 'text/javascript; charset=utf-8' },
  'style.css': { path: join(CONSOLE_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
  'vendor/uPlot.js': { path: join(UPLOT_DIR, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'vendor/uPlot.css': { path: join(UPLOT_DIR, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

export const consoleRoutes: FastifyPluginAsync = async (app) => {
  const bodies = new Map(Object.entries(FILES).map(([name, f]) => [name, readFileSync(f.path)]));
  app.get('/console', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/console/'));
  app.get<{ Params: { '*': string } }>('/console/*', { schema: { hide: true } }, async (req, reply) => {
    const name = req.params['*'];
    const file = FILES[name];
    const body = bodies.get(name);
    if (!file || !body)
      return reply.status(404).send({ error: 'NOT_FOUND', message: `no console file ${name}`, details: [] });
    return reply
      .header('content-type', file.type)
      .header('cache-control', 'no-cache')
      .header(
        'content-security-policy',
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; media-src 'self' blob:",
      )
      .send(body);
  });
};
