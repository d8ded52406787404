// @ts-check
/**
 * What every k6 script shares: the target, the queries, one search iteration, the smoke
 * checks of every endpoint, and the per-step summary of a ramp. The scenarios themselves
 * (rates, durations, thresholds) come from scenarios.js, which the Node runner reads too.
 *
 * Environment: BASE_URL (default http://127.0.0.1:8080), QUERIES (a BEIR queries.jsonl,
 * absolute or relative to this folder; the demo collection's by default), TOKEN (bearer
 * token when the router requires one), RATE and DURATION (overrides), SUMMARY_JSON (also
 * write the end-of-test summary there).
 *
 * Kept in the same folder as the scripts: k6 resolves `open()` paths against the script,
 * so every file here sees the same relative paths.
 */
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { SharedArray } from 'k6/data';
import { Rate } from 'k6/metrics';
import { DEFAULT_QUERIES, KNEE, REQUEST_TIMEOUT_S, isSearchAnswer, k6Scenario, parseQueries, scenario, searchBody, stepAt } from './scenarios.js';

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');

const QUERY_FILE = __ENV.QUERIES || DEFAULT_QUERIES;
const queries = new SharedArray('queries', () => parseQueries(open(QUERY_FILE), QUERY_FILE));

/** Searches answered without some shard: not an HTTP failure, but what users saw. */
const degraded = new Rate('search_degraded');

/** @type {Record<string, string>} */
const HEADERS = { 'content-type': 'application/json' };
if (__ENV.TOKEN) HEADERS.authorization = 'Bearer ' + __ENV.TOKEN;

/**
 * The scenario `name` with RATE / DURATION from the environment applied.
 * @param {string} name
 */
export function scenarioFromEnv(name) {
  return scenario(name, {
    rate: __ENV.RATE ? Number(__ENV.RATE) : undefined,
    duration: __ENV.DURATION || undefined,
  });
}

/**
 * k6 options for a scenario: its executor, its thresholds and, for a stepped ramp, one
 * always-passing threshold per step so that each step's figures appear in the summary.
 * @param {import('./scenarios.js').Scenario} s
 * @returns {import('k6/options').Options}
 */
export function optionsFor(s) {
  /** @type {Record<string, string[]>} */
  const thresholds = Object.assign({}, s.thresholds);
  if (s.steps) {
    for (let i = 0; i < s.steps.rates.length; i++) {
      const d = 'http_req_duration{step:' + i + '}';
      const f = 'http_req_failed{step:' + i + '}';
      if (!thresholds[d]) thresholds[d] = ['max>=0'];
      if (!thresholds[f]) thresholds[f] = ['rate>=0'];
    }
  }
  return {
    scenarios: { [s.name]: /** @type {any} */ (k6Scenario(s, 'search')) },
    thresholds: thresholds,
    summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'max'],
  };
}

/**
 * One search iteration: the next query, its answer's shape checked, tagged with the ramp
 * step it belongs to.
 * @param {import('./scenarios.js').Scenario} s
 */
export function searchIteration(s) {
  return function search() {
    const i = exec.scenario.iterationInTest;
    /** @type {Record<string, string>} */
    const tags = { name: 'POST /v1/search' };
    if (s.steps) {
      const step = stepAt(s, Date.now() - exec.scenario.startTime);
      if (step >= 0) tags.step = String(step);
    }
    const res = http.post(BASE_URL + '/v1/search', searchBody(queries, i), { headers: HEADERS, tags: tags, timeout: REQUEST_TIMEOUT_S + 's' });
    let body = null;
    try {
      body = res.status === 200 ? res.json() : null;
    } catch (e) {
      body = null;
    }
    check(res, {
      'search: 200': (r) => r.status === 200,
      'search: answer shape': () => isSearchAnswer(body),
    });
    if (res.status === 200 && body) degraded.add(/** @type {any} */ (body).degraded === true);
  };
}

/** Every endpoint once, each answer checked: run by the smoke scenario's setup(). */
export function checkEndpoints() {
  // Expected statuses other than 2xx are declared, so that a right 404 does not count in http_req_failed.
  const get = (/** @type {string} */ path, /** @type {number} */ expected = 200) =>
    http.get(BASE_URL + path, { headers: HEADERS, tags: { name: 'GET ' + path.replace(/\/v1\/docs\/.*/, '/v1/docs/:id') }, responseCallback: http.expectedStatuses(expected) });
  const json = (/** @type {import('k6/http').RefinedResponse<any>} */ r) => {
    try {
      return /** @type {any} */ (r.json());
    } catch (e) {
      return null;
    }
  };
  const health = get('/healthz');
  check(health, { 'healthz: 200 {status:ok}': (r) => r.status === 200 && json(r).status === 'ok' });
  const ready = get('/readyz');
  check(ready, { 'readyz: 200 ready': (r) => r.status === 200 && json(r).ready === true });
  const shards = get('/v1/shards');
  check(shards, { 'shards: every shard has a live replica': (r) => r.status === 200 && Array.isArray(json(r).shards) && json(r).shards.length > 0 && json(r).shards.every((/** @type {any} */ s) => s.live_replicas > 0) });
  const metrics = get('/metrics');
  check(metrics, { 'metrics: prometheus text': (r) => r.status === 200 && String(r.body).indexOf('dsi_http_requests_total') >= 0 });
  const search = http.post(BASE_URL + '/v1/search', searchBody(queries, 0), { headers: HEADERS, tags: { name: 'POST /v1/search' } });
  const answer = json(search);
  check(search, { 'search: 200 with results': (r) => r.status === 200 && isSearchAnswer(answer) && answer.results.length > 0 });
  if (answer && answer.results && answer.results.length > 0) {
    const id = answer.results[0].id;
    const doc = get('/v1/docs/' + encodeURIComponent(id));
    check(doc, { 'docs: the record of a result': (r) => r.status === 200 && json(r).id === id && typeof json(r).text === 'string' });
  }
  const bad = http.post(BASE_URL + '/v1/search', '{"query":', { headers: HEADERS, tags: { name: 'POST /v1/search (bad)' }, responseCallback: http.expectedStatuses(400) });
  check(bad, { 'bad body: 400 bad_input': (r) => r.status === 400 && json(r).error.code === 'bad_input' });
  const missing = get('/v2/nothing', 404);
  check(missing, { 'unknown route: 404 JSON': (r) => r.status === 404 && json(r).error.code === 'not_found' });
}

/**
 * The end of a ramp: each step's p99 and error rate, and the knee (the highest step within
 * KNEE's limits, below the first two steps in a row that are not). Printed, and written to SUMMARY_JSON.
 * @param {import('./scenarios.js').Scenario} s
 */
export function rampSummary(s) {
  return function handleSummary(/** @type {any} */ data) {
    const rates = s.steps ? s.steps.rates : [];
    const rows = [];
    for (let i = 0; i < rates.length; i++) {
      const d = data.metrics['http_req_duration{step:' + i + '}'];
      const f = data.metrics['http_req_failed{step:' + i + '}'];
      if (!d || !d.values || d.values.count === 0) continue;
      const p99 = d.values['p(99)'];
      const errorRate = f && f.values ? f.values.rate : 0;
      rows.push({ step: i, rate: rates[i], p50_ms: d.values.med, p99_ms: p99, error_rate: errorRate, within: p99 <= KNEE.p99Ms && errorRate < KNEE.errorRate });
    }
    // As the Node runner's kneeOf(): the highest step within the limits below the first two in a row over them.
    let knee = null;
    for (let i = 0; i < rows.length; i++) {
      if (!rows[i].within && (i + 1 >= rows.length || !rows[i + 1].within)) break;
      if (rows[i].within) knee = rows[i].rate;
    }
    let text = '\nramp steps (knee: p99 <= ' + KNEE.p99Ms + ' ms, errors < ' + KNEE.errorRate * 100 + '%)\n';
    for (const r of rows) {
      text += '  ' + String(r.rate).padStart(5) + ' req/s   p50 ' + r.p50_ms.toFixed(1).padStart(7) + ' ms   p99 ' + r.p99_ms.toFixed(1).padStart(7) + ' ms   errors ' + (r.error_rate * 100).toFixed(2) + '%' + (r.within ? '' : '   over') + '\n';
    }
    text += 'knee: ' + (knee === null ? 'none (the first step is already over)' : knee + ' req/s') + '\n';
    /** @type {Record<string, string>} */
    const out = { stdout: text };
    if (__ENV.SUMMARY_JSON) out[__ENV.SUMMARY_JSON] = JSON.stringify({ scenario: s.name, knee_rps: knee, steps: rows, metrics: data.metrics }, null, 2);
    return out;
  };
}
