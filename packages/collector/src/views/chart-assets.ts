/**
 * uPlot (npm `uplot`, MIT), the charting library of the dashboard's charts (host-page.ts,
 * fleet-chart.ts), served by the collector itself so the dashboard works offline (no CDN):
 *
 *   GET /assets/uplot.js    uPlot's browser build (dist/uPlot.iife.min.js, defines `uPlot`)
 *   GET /assets/uplot.css   its stylesheet (dist/uPlot.min.css)
 *
 * Open routes: library code, nothing about hosts. Read from node_modules once, on first request.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Handler } from '../http/router.js';
import { sendError } from '../http/respond.js';

const FILES: Readonly<Record<string, { file: string; type: string }>> = Object.freeze({
  'uplot.js': { file: 'uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  'uplot.css': { file: 'uPlot.min.css', type: 'text/css; charset=utf-8' },
});

/** GET /assets/:name: the two uPlot files, cached by the browser for an hour. */
export function chartAssetsHandler(): Handler {
  const loaded = new Map<string, Buffer>();
  let dist: string | null = null;
  return ({ req, res, params }) => {
    const name = params['name'] ?? '';
    const entry = FILES[name];
    if (entry === undefined) return sendError(res, 404, 'TCPFLEET_ERR_NOT_FOUND', `no asset ${JSON.stringify(name.slice(0, 40))} (uplot.js, uplot.css)`);
    let body = loaded.get(name);
    if (body === undefined) {
      dist ??= dirname(createRequire(import.meta.url).resolve('uplot'));
      body = readFileSync(join(dist, entry.file));
      loaded.set(name, body);
    }
    res.writeHead(200, { 'content-type': entry.type, 'content-length': String(body.length), 'cache-control': 'public, max-age=3600' });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
