import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import { PAGE_PATHS } from './paths.ts';
import type { TrafficHistory } from './traffic-history.ts';

/**
 * The status page's routes: its shell (HTML, script, style sheet), Chart.js from the
 * installed package, and GET /v1/traffic, the series its live plots draw. The files are
 * read once, when the app is built; the shell holds no data, so it is served like the
 * probes, without a token (a browser cannot add a bearer header to a page it navigates
 * to), while the API calls it makes carry the token.
 */
const ASSETS = fileURLToPath(new URL('./assets/', import.meta.url));

interface Asset {
  readonly body: string;
  readonly type: string;
}

function loadAssets(): Record<keyof typeof PAGE_PATHS, Asset> {
  // chart.js exports no path to its browser bundle: find the package's folder through its main entry.
  const chartDist = dirname(createRequire(import.meta.url).resolve('chart.js'));
  const read = (path: string) => readFileSync(path, 'utf8');
  return {
    page: { body: read(join(ASSETS, 'index.html')), type: 'text/html; charset=utf-8' },
    script: { body: read(join(ASSETS, 'app.js')), type: 'text/javascript; charset=utf-8' },
    style: { body: read(join(ASSETS, 'style.css')), type: 'text/css; charset=utf-8' },
    charts: { body: read(join(chartDist, 'chart.umd.min.js')), type: 'text/javascript; charset=utf-8' },
  };
}

export function mountStatusPage(app: Hono, traffic: Pick<TrafficHistory, 'series'>): void {
  const assets = loadAssets();
  for (const [name, path] of Object.entries(PAGE_PATHS) as [keyof typeof PAGE_PATHS, string][]) {
    const { body, type } = assets[name];
    app.get(path, (c) => c.body(body, 200, { 'content-type': type, 'cache-control': 'no-cache' }));
  }
  app.get('/v1/traffic', (c) => c.json(traffic.series()));
}
