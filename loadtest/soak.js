// @ts-check
/**
 * A moderate rate for a long time, bounded by DURATION (default 30m): no errors, no drift.
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 loadtest/soak.js
 *
 * Also: QUERIES=FILE (BEIR queries.jsonl), TOKEN=T, RATE=R, DURATION=D (see k6-common.js).
 * The same scenario runs without k6: npm run load -- soak [--url URL]
 */
import { optionsFor, scenarioFromEnv, searchIteration } from './k6-common.js';

const s = scenarioFromEnv('soak');

export const options = optionsFor(s);

export const search = searchIteration(s);

