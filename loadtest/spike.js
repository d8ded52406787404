// @ts-check
/**
 * A calm rate, a sudden spike, and back: errors stay rare and latency recovers.
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 loadtest/spike.js
 *
 * Also: QUERIES=FILE (BEIR queries.jsonl), TOKEN=T, RATE=R, DURATION=D (see k6-common.js).
 * The same scenario runs without k6: npm run load -- spike [--url URL]
 */
import { optionsFor, scenarioFromEnv, searchIteration } from './k6-common.js';

const s = scenarioFromEnv('spike');

export const options = optionsFor(s);

export const search = searchIteration(s);

