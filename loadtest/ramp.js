// @ts-check
/**
 * The arrival rate rises step by step until latency or errors break; prints each step's
 * p50/p99 and errors, and the knee: the highest step with p99 <= 25 ms and errors < 0.1%.
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 loadtest/ramp.js
 *
 * Also: QUERIES=FILE (BEIR queries.jsonl), TOKEN=T, RATE=R (top step; every step scales),
 * SUMMARY_JSON=FILE (see k6-common.js). Without k6: npm run load -- ramp [--url URL]
 */
import { optionsFor, rampSummary, scenarioFromEnv, searchIteration } from './k6-common.js';

const s = scenarioFromEnv('ramp');

export const options = optionsFor(s);

export const search = searchIteration(s);

export const handleSummary = rampSummary(s);
