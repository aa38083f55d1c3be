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

// Each file is its own route (no wildcard), so every one is in /openapi.json and nothing else answers.
const FILES: Record<string, { path: string; type: string; what: string }> = {
  '': {
    path: join(CONSOLE_DIR, 'index.html'),
    type: 'text/html; charset=utf-8',
    what: 'The operator console: the page (asks for a token, kept in the browser)',
  },
  'app.js': {
    path: join(CONSOLE_DIR, 'app.js'),
    type: 'text/javascript; charset=utf-8',
    what: "The console's script",
  },
  'charts.js': {
    path: join(CONSOLE_DIR, 'charts.js'),
    type: 'text/javascript; charset=utf-8',
    what: "The console's charts (on uPlot)",
  },
  'style.css': {
    path: join(CONSOLE_DIR, 'style.css'),
    type: 'text/css; charset=utf-8',
    what: "The console's style sheet",
  },
  'vendor/uPlot.js': {
    path: join(UPLOT_DIR, 'uPlot.iife.min.js'),
    type: 'text/javascript; charset=utf-8',
    what: 'The chart library uPlot, from its npm package',
  },
  'vendor/uPlot.css': {
    path: join(UPLOT_DIR, 'uPlot.min.css'),
    type: 'text/css; charset=utf-8',
    what: "uPlot's style sheet, from its npm package",
  },
};

const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; media-src 'self' blob:";

export const consoleRoutes: FastifyPluginAsync = async (app) => {
  app.get(
    '/console',
    {
      schema: {
        summary: 'Redirects to the operator console at /console/',
        tags: ['console'],
        security: [],
        response: { 302: { description: 'Location: /console/', type: 'null' } },
      },
    },
    async (_req, reply) => reply.redirect('/console/'),
  );
  for (const [name, file] of Object.entries(FILES)) {
    const body = readFileSync(file.path);
    const mediaType = file.type.split(';')[0]!;
    app.get(
      `/console/${name}`,
      {
        schema: {
          summary: file.what,
          description:
            'A static file of the operator console, served from the project (no CDN). Public: the page itself asks for a token and sends it with every API call.',
          tags: ['console'],
          security: [],
          response: {
            200: { description: file.what, content: { [mediaType]: { schema: { type: 'string' } } } },
          },
        },
      },
      async (_req, reply) =>
        reply
          .header('content-type', file.type)
          .header('cache-control', 'no-cache')
          .header('content-security-policy', CSP)
          .send(body),
    );
  }
};
