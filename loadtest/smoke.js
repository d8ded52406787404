// @ts-check
/**
 * A few requests to every endpoint, checking the shape of each answer (run it first, against any deployment).
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 loadtest/smoke.js
 *
 * Also: QUERIES=FILE (BEIR queries.jsonl), TOKEN=T, RATE=R, DURATION=D (see k6-common.js).
 * The same scenario runs without k6: npm run load -- smoke [--url URL]
 */
import { checkEndpoints, optionsFor, scenarioFromEnv, searchIteration } from './k6-common.js';

const s = scenarioFromEnv('smoke');

export const options = optionsFor(s);

export const search = searchIteration(s);

/** Every endpoint once, before the searches start. */
export function setup() {
  checkEndpoints();
}

