// @ts-check
/**
 * The load scenarios, as plain data: the one definition that both the k6 scripts
 * (`k6 run loadtest/<name>.js`) and the Node runner (`npm run load -- <name>`) read, so a
 * rate, a duration or a threshold changes in one place.
 *
 * Written as plain ES2015 JavaScript (no `??`, no `?.`) because k6 executes it too, and
 * k6's JavaScript engine lags Node's. Thresholds use k6's own syntax; the Node runner
 * evaluates the same strings (loadtest/node/thresholds.ts).
 *
 * Arrival rates are open-model: requests start on schedule whatever the answers do, as
 * with k6's `constant-arrival-rate` and `ramping-arrival-rate` executors.
 */

/** Queries used when none are named: the demo collection's (BEIR queries.jsonl), relative to this folder. */
export const DEFAULT_QUERIES = '../data/demo/queries.jsonl';

/** Results asked per search: the API's default. */
export const SEARCH_K = 10;

/** A request that takes longer than this counts as failed (kind "timeout"). */
export const REQUEST_TIMEOUT_S = 10;

/** The knee of the `ramp` scenario: the highest arrival rate whose step keeps p99 and errors within these. */
export const KNEE = Object.freeze({ p99Ms: 25, errorRate: 0.001 });

/**
 * @typedef {{ target: number, duration: string }} Stage
 * @typedef {{
 *   description: string,
 *   executor: 'constant-arrival-rate' | 'ramping-arrival-rate',
 *   rate?: number,
 *   duration?: string,
 *   startRate?: number,
 *   stages?: Stage[],
 *   steps?: { rates: number[], hold: string, rise: string },
 *   preAllocatedVUs: number,
 *   maxVUs: number,
 *   thresholds: Record<string, string[]>,
 *   checkEndpoints?: boolean,
 * }} ScenarioSpec
 */

/** @type {Readonly<Record<string, ScenarioSpec>>} */
export const SCENARIOS = Object.freeze({
  smoke: {
    description: 'a few requests to every endpoint, checking the shape of each answer',
    executor: 'constant-arrival-rate',
    rate: 5,
    duration: '10s',
    preAllocatedVUs: 2,
    maxVUs: 10,
    checkEndpoints: true,
    thresholds: {
      http_req_failed: ['rate<0.01'],
      http_req_duration: ['p(99)<1000'],
      checks: ['rate>0.99'],
    },
  },
  steady: {
    description: 'a constant arrival rate (RATE req/s for DURATION)',
    executor: 'constant-arrival-rate',
    rate: 40,
    duration: '60s',
    preAllocatedVUs: 20,
    maxVUs: 400,
    thresholds: {
      http_req_failed: ['rate<0.001'],
      http_req_duration: ['p(99)<25'],
    },
  },
  ramp: {
    description: 'the arrival rate rises step by step; the knee is the highest step within p99 ≤ 25 ms and errors < 0.1%',
    executor: 'ramping-arrival-rate',
    // Each step: `rise` to its rate, then `hold` there; only the hold is measured.
    steps: { rates: [10, 25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 600, 800], hold: '15s', rise: '2s' },
    preAllocatedVUs: 20,
    maxVUs: 600,
    // The run fails only when the first, lowest step already misses the knee's limits: a
    // ramp is meant to break further up, and where it breaks is its result.
    thresholds: {
      'http_req_duration{step:0}': ['p(99)<25'],
      'http_req_failed{step:0}': ['rate<0.001'],
    },
  },
  spike: {
    description: 'a calm rate, a sudden spike to 10× for 10 s, and back: errors stay rare and latency recovers',
    executor: 'ramping-arrival-rate',
    startRate: 10,
    stages: [
      { target: 10, duration: '15s' },
      { target: 100, duration: '1s' },
      { target: 100, duration: '10s' },
      { target: 10, duration: '1s' },
      { target: 10, duration: '15s' },
    ],
    preAllocatedVUs: 20,
    maxVUs: 600,
    thresholds: {
      http_req_failed: ['rate<0.01'],
      http_req_duration: ['p(99)<1000'],
    },
  },
  soak: {
    description: 'a moderate rate for a long time (DURATION, 30 min unless set): no errors, no drift',
    executor: 'constant-arrival-rate',
    rate: 20,
    duration: '30m',
    preAllocatedVUs: 10,
    maxVUs: 200,
    thresholds: {
      http_req_failed: ['rate<0.001'],
      http_req_duration: ['p(99)<50'],
    },
  },
});

/**
 * @typedef {{ rate?: number, duration?: string }} Overrides
 * @typedef {ScenarioSpec & { name: string }} Scenario
 */

/**
 * The scenario `name` with the user's overrides (RATE / DURATION in k6, --rate / --duration
 * in the Node runner) applied. A rate override on a ramping scenario scales every rate so
 * its top reaches the given one.
 * @param {string} name
 * @param {Overrides} [overrides]
 * @returns {Scenario}
 */
export function scenario(name, overrides) {
  if (!Object.prototype.hasOwnProperty.call(SCENARIOS, name)) {
    throw new Error("unknown scenario '" + name + "' (one of " + Object.keys(SCENARIOS).join(', ') + ')');
  }
  const o = overrides || {};
  const base = SCENARIOS[name];
  /** @type {Scenario} */
  const s = Object.assign({}, base, { name: name });
  if (o.duration !== undefined) {
    if (s.executor !== 'constant-arrival-rate') throw new Error('a duration applies only to constant-rate scenarios (steady, soak, smoke)');
    parseDuration(o.duration);
    s.duration = o.duration;
  }
  if (o.rate !== undefined) {
    if (!(o.rate > 0)) throw new Error('the rate must be a positive number of requests per second');
    if (s.executor === 'constant-arrival-rate') s.rate = o.rate;
    else {
      const top = peakRate(s);
      const scale = o.rate / top;
      if (s.steps) s.steps = Object.assign({}, s.steps, { rates: s.steps.rates.map((r) => Math.max(1, Math.round(r * scale))) });
      if (s.stages) s.stages = s.stages.map((st) => ({ target: Math.max(1, Math.round(st.target * scale)), duration: st.duration }));
      if (s.startRate !== undefined) s.startRate = Math.max(1, Math.round(s.startRate * scale));
    }
  }
  return s;
}

/**
 * The arrival-rate stages of a ramping scenario (steps expanded into rise + hold pairs).
 * @param {ScenarioSpec} s
 * @returns {{ startRate: number, stages: Stage[] }}
 */
export function rampStages(s) {
  if (s.steps) {
    /** @type {Stage[]} */
    const stages = [];
    for (const rate of s.steps.rates) {
      stages.push({ target: rate, duration: s.steps.rise });
      stages.push({ target: rate, duration: s.steps.hold });
    }
    return { startRate: s.steps.rates[0], stages: stages };
  }
  return { startRate: s.startRate || 0, stages: s.stages || [] };
}

/**
 * Which measured step (by index, in `steps.rates`) a moment belongs to, or -1 while the
 * rate is still rising to the next step. `elapsedMs` counts from the scenario's start.
 * @param {ScenarioSpec} s
 * @param {number} elapsedMs
 * @returns {number}
 */
export function stepAt(s, elapsedMs) {
  if (!s.steps) return -1;
  const rise = parseDuration(s.steps.rise);
  const hold = parseDuration(s.steps.hold);
  const i = Math.floor(elapsedMs / (rise + hold));
  if (i >= s.steps.rates.length) return -1;
  return elapsedMs - i * (rise + hold) >= rise ? i : -1;
}

/**
 * Total duration of a scenario in milliseconds.
 * @param {ScenarioSpec} s
 * @returns {number}
 */
export function scenarioMs(s) {
  if (s.executor === 'constant-arrival-rate') return parseDuration(s.duration || '0s');
  return rampStages(s).stages.reduce((sum, st) => sum + parseDuration(st.duration), 0);
}

/**
 * Highest arrival rate a scenario reaches.
 * @param {ScenarioSpec} s
 * @returns {number}
 */
export function peakRate(s) {
  if (s.executor === 'constant-arrival-rate') return s.rate || 0;
  const r = rampStages(s);
  return Math.max.apply(null, [r.startRate].concat(r.stages.map((st) => st.target)));
}

/**
 * k6's `scenarios` entry for a scenario (the executor and its rates, in k6's names).
 * @param {Scenario} s
 * @param {string} exec name of the exported function that runs one iteration
 * @returns {Record<string, unknown>}
 */
export function k6Scenario(s, exec) {
  const common = { exec: exec, preAllocatedVUs: s.preAllocatedVUs, maxVUs: s.maxVUs, timeUnit: '1s' };
  if (s.executor === 'constant-arrival-rate') return Object.assign({ executor: s.executor, rate: s.rate, duration: s.duration }, common);
  const r = rampStages(s);
  return Object.assign({ executor: s.executor, startRate: r.startRate, stages: r.stages }, common);
}

/**
 * A k6 duration ('500ms', '10s', '5m', '1h30m') in milliseconds.
 * @param {string} text
 * @returns {number}
 */
export function parseDuration(text) {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  const units = { ms: 1, s: 1000, m: 60000, h: 3600000 };
  let total = 0;
  let consumed = 0;
  let m;
  while ((m = re.exec(text)) !== null) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * units[/** @type {'ms'|'s'|'m'|'h'} */ (m[2])];
    consumed = re.lastIndex;
  }
  if (consumed === 0 || consumed !== text.length) throw new Error("not a duration: '" + text + "' (e.g. 30s, 5m, 1h)");
  return total;
}

/**
 * Query texts from a BEIR queries.jsonl (one {"_id", "text"} object per line); blank lines skipped.
 * @param {string} content
 * @param {string} [origin] named in errors
 * @returns {string[]}
 */
export function parseQueries(content, origin) {
  /** @type {string[]} */
  const out = [];
  const lines = content.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    let text;
    try {
      text = JSON.parse(line).text;
    } catch (e) {
      throw new Error((origin || 'queries') + ':' + (i + 1) + ': not JSON');
    }
    if (typeof text === 'string' && text.trim()) out.push(text);
  }
  if (out.length === 0) throw new Error((origin || 'queries') + ': no queries');
  return out;
}

/**
 * The body of the i-th search of a run: queries taken in turn, so the cluster sees varied routing.
 * @param {readonly string[]} queries
 * @param {number} i
 * @returns {string}
 */
export function searchBody(queries, i) {
  return JSON.stringify({ query: queries[i % queries.length], k: SEARCH_K });
}

/**
 * Whether a search answer has the API's shape: results with id, docid, score, shard and title.
 * @param {unknown} body parsed JSON
 * @returns {boolean}
 */
export function isSearchAnswer(body) {
  if (typeof body !== 'object' || body === null) return false;
  const b = /** @type {Record<string, unknown>} */ (body);
  if (!Array.isArray(b.results) || !Array.isArray(b.routed) || typeof b.degraded !== 'boolean' || !Array.isArray(b.missing_shards)) return false;
  for (const r of b.results) {
    if (typeof r !== 'object' || r === null) return false;
    if (typeof r.id !== 'string' || typeof r.docid !== 'string' || typeof r.score !== 'number' || typeof r.shard !== 'string' || typeof r.title !== 'string') return false;
  }
  return true;
}
