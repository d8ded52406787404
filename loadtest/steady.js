// @ts-check
/**
 * A constant arrival rate for a while: RATE req/s (default in scenarios.js) for DURATION.
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 loadtest/steady.js
 *
 * Also: QUERIES=FILE (BEIR queries.jsonl), TOKEN=T, RATE=R, DURATION=D (see k6-common.js).
 * The same scenario runs without k6: npm run load -- steady [--url URL]
 */
import { optionsFor, scenarioFromEnv, searchIteration } from './k6-common.js';

const s = scenarioFromEnv('steady');

export const options = optionsFor(s);

export const search = searchIteration(s);

