// The status page: everything it shows comes from the router's JSON API, polled every
// REFRESH_MS, with the bearer token the operator gave when the router requires one. Plain
// browser JavaScript with no build step; Chart.js is the global the router serves beside it.
'use strict';

const REFRESH_MS = 2000;
const TOKEN_KEY = 'dsi-status-token';
const COLORS = { blue: '#2563eb', orange: '#ea580c', green: '#16a34a', red: '#dc2626', paleBlue: '#93c5fd', paleOrange: '#fdba74', paleGreen: '#86efac' };

const $ = (id) => document.getElementById(id);

/**
 * The token: from `#token=…` in the address (taken once, then removed from the address
 * bar; a fragment never reaches the server, its logs or a Referer), else from this tab's
 * sessionStorage, where the form below also puts it. It only ever travels in the
 * Authorization header of the page's own API calls.
 */
function takeTokenFromFragment() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
  history.replaceState(null, '', location.pathname + location.search);
}

class Unauthorized extends Error {}

async function api(path, init = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = { ...(init.headers || {}), ...(token ? { authorization: `Bearer ${token}` } : {}) };
  const response = await fetch(path, { ...init, headers, cache: 'no-store' });
  if (response.status === 401) throw new Unauthorized('this router requires a bearer token');
  const body = await response.json();
  if (!response.ok && !(path === 'readyz' && response.status === 503)) throw new Error(body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${response.status}`);
  return body;
}

const fixed = (x, digits) => (x === null || x === undefined ? '–' : x.toFixed(digits));

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

// ---- charts -------------------------------------------------------------------------

function barChart(canvas, max) {
  return new Chart(canvas, {
    type: 'bar',
    data: { labels: [], datasets: [] },
    options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true, ...(max ? { max } : {}) } } },
  });
}

function lineChart(canvas, datasets, unit) {
  return new Chart(canvas, {
    type: 'line',
    data: { datasets: datasets.map(([label, color]) => ({ label, data: [], borderColor: color, backgroundColor: color, pointRadius: 1.5, borderWidth: 2, spanGaps: false })) },
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: false,
      scales: {
        x: { type: 'linear', title: { display: true, text: 'seconds ago' }, ticks: { callback: (v) => `${-v}` } },
        y: { beginAtZero: true, title: { display: true, text: unit } },
      },
    },
  });
}

const charts = {};

function createCharts() {
  charts.collision = barChart($('chart-collision'));
  charts.recall = barChart($('chart-recall'), 1);
  charts.rate = lineChart($('chart-rate'), [['searches/s', COLORS.blue], ['5xx/s', COLORS.red]], 'per second');
  charts.latency = lineChart($('chart-latency'), [['p50', COLORS.green], ['p99', COLORS.orange]], 'ms');
}

// ---- rendering ------------------------------------------------------------------------

function renderShards({ shards, gating_version }) {
  const body = $('shards').tBodies[0];
  body.replaceChildren();
  for (const s of shards) {
    const row = body.insertRow();
    if (s.live_replicas === 0) row.className = 'down';
    cell(row, s.id);
    cell(row, s.topics.join(', '));
    cell(row, s.docs.toLocaleString('en'), 'num');
    cell(row, `${s.version ?? '–'} / ${s.published_version}${s.previous_version ? ` (previous ${s.previous_version})` : ''}`);
    cell(row, String(s.live_replicas), 'num');
    // After a retrain, each figure next to the previous version's: the trend an operator decides on.
    const was = (key) => (s.previous_figures ? ` (was ${fixed(s.previous_figures[key], 3)})` : '');
    cell(row, fixed(s.collision_rate, 3) + was('collision_rate'), 'num');
    cell(row, fixed(s['index_recall@1'], 3) + was('index_recall@1'), 'num');
    cell(row, fixed(s['hits@10'], 3) + was('hits@10'), 'num');
    cell(row, fixed(s.latency_ms.p50, 2), 'num');
    cell(row, fixed(s.latency_ms.p99, 2), 'num');
  }
  $('gating').textContent = `gating model v${gating_version} · shard models ${shards.map((s) => `${s.id} v${s.version ?? '–'}`).join(', ')}`;
  const labels = shards.map((s) => s.id);
  // Bars of the previous versions beside the current ones once some shard has been retrained.
  const retrained = shards.some((s) => s.previous_figures);
  const bars = (key, label, color, pale) => [
    ...(retrained ? [{ label: `${label}, previous version`, data: shards.map((s) => s.previous_figures?.[key] ?? null), backgroundColor: pale }] : []),
    { label, data: shards.map((s) => s[key]), backgroundColor: color },
  ];
  charts.collision.data.labels = labels;
  charts.collision.data.datasets = bars('collision_rate', 'collision_rate', COLORS.orange, COLORS.paleOrange);
  charts.recall.data.labels = labels;
  charts.recall.data.datasets = [...bars('index_recall@1', 'index_recall@1', COLORS.blue, COLORS.paleBlue), ...bars('hits@10', 'hits@10', COLORS.green, COLORS.paleGreen)];
  charts.collision.update();
  charts.recall.update();
}

function renderTraffic({ points }) {
  const now = Date.now();
  const at = (p) => Math.round((p.t - now) / 1000);
  const series = (key) => points.map((p) => ({ x: at(p), y: p[key] }));
  charts.rate.data.datasets[0].data = series('requests_per_s');
  charts.rate.data.datasets[1].data = series('errors_per_s');
  charts.latency.data.datasets[0].data = series('p50_ms');
  charts.latency.data.datasets[1].data = series('p99_ms');
  charts.rate.update();
  charts.latency.update();
}

function renderReadiness({ ready, reasons }) {
  const badge = $('readiness');
  badge.textContent = ready ? 'ready' : `not ready: ${reasons.join('; ')}`;
  badge.className = `badge ${ready ? 'ready' : 'not-ready'}`;
}

function renderResults(answer) {
  const table = $('results');
  const body = table.tBodies[0];
  body.replaceChildren();
  const versions = new Map(answer.answered_by.map((a) => [a.shard, a.version]));
  answer.results.forEach((r, i) => {
    const row = body.insertRow();
    cell(row, String(i + 1), 'num');
    cell(row, r.score.toFixed(3), 'num');
    cell(row, r.docid);
    cell(row, r.title);
    cell(row, `${r.shard} v${versions.get(r.shard) ?? '?'}`);
    cell(row, r.id);
  });
  table.hidden = false;
  const topics = answer.routed.map((t) => `${t.topic} (${t.p.toFixed(2)})`).join(', ');
  $('search-meta').textContent = `${answer.results.length} results in ${answer.took_ms.toFixed(1)} ms · topics asked: ${topics}${answer.degraded ? ` · degraded, missing ${answer.missing_shards.join(', ')}` : ''}`;
  $('search-meta').className = answer.degraded ? 'error' : 'muted';
}

function showError(error) {
  if (error instanceof Unauthorized) {
    $('token-form').hidden = false;
    $('updated').textContent = 'waiting for a token';
    return;
  }
  $('updated').textContent = `refresh failed: ${error.message}`;
}

// ---- wiring ---------------------------------------------------------------------------

async function refresh() {
  try {
    const [shards, traffic, readiness] = await Promise.all([api('v1/shards'), api('v1/traffic'), api('readyz')]);
    renderShards(shards);
    renderTraffic(traffic);
    renderReadiness(readiness);
    $('token-form').hidden = true;
    $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    showError(error);
  }
}

async function search(event) {
  event.preventDefault();
  const query = $('query').value;
  $('search-meta').textContent = 'searching…';
  try {
    const answer = await api('v1/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, k: Number($('k').value) || 10 }) });
    renderResults(answer);
  } catch (error) {
    if (error instanceof Unauthorized) showError(error);
    $('search-meta').textContent = error.message;
    $('search-meta').className = 'error';
  }
}

function useToken(event) {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
  $('token').value = '';
  void refresh();
}

takeTokenFromFragment();
window.addEventListener('hashchange', () => {
  takeTokenFromFragment();
  void refresh();
});
createCharts();
$('search-form').addEventListener('submit', search);
$('token-form').addEventListener('submit', useToken);
void refresh();
setInterval(refresh, REFRESH_MS);
