import { isSearchAnswer, searchBody } from '../scenarios.js';
import { authHeaders } from './generator.ts';
import { httpClient } from './http-client.ts';

/**
 * The smoke scenario's look at every endpoint, the same checks as k6-common.js's
 * checkEndpoints(): each returns its name and whether it passed.
 */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail?: string;
}

export async function checkEndpoints(url: string, queries: readonly string[], token?: string): Promise<Check[]> {
  const client = httpClient(url, { maxSockets: 2, timeoutMs: 10_000, headers: authHeaders(token) });
  const checks: Check[] = [];
  const json = (text: string): any => {
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  };
  const expect = async (name: string, method: string, path: string, body: string | undefined, ok: (status: number, answer: any, text: string) => boolean) => {
    const x = await client.send(method, path, body, body === undefined ? {} : { 'content-type': 'application/json' });
    const answer = json(x.body);
    let passed = false;
    try {
      passed = ok(x.status, answer, x.body);
    } catch {
      passed = false;
    }
    checks.push({ name, ok: passed, ...(passed ? {} : { detail: `HTTP ${x.status}${x.error ? ` ${x.error}` : ''}: ${x.body.slice(0, 200)}` }) });
    return answer;
  };
  try {
    await expect('healthz: 200 {status:ok}', 'GET', '/healthz', undefined, (s, a) => s === 200 && a.status === 'ok');
    await expect('readyz: 200 ready', 'GET', '/readyz', undefined, (s, a) => s === 200 && a.ready === true);
    await expect('shards: every shard has a live replica', 'GET', '/v1/shards', undefined, (s, a) => s === 200 && a.shards.length > 0 && a.shards.every((x: { live_replicas: number }) => x.live_replicas > 0));
    await expect('metrics: prometheus text', 'GET', '/metrics', undefined, (s, _a, text) => s === 200 && text.includes('dsi_http_requests_total'));
    const answer = await expect('search: 200 with results', 'POST', '/v1/search', searchBody(queries, 0), (s, a) => s === 200 && isSearchAnswer(a) && a.results.length > 0);
    const id: string | undefined = answer?.results?.[0]?.id;
    if (id !== undefined) await expect('docs: the record of a result', 'GET', `/v1/docs/${encodeURIComponent(id)}`, undefined, (s, a) => s === 200 && a.id === id && typeof a.text === 'string');
    else checks.push({ name: 'docs: the record of a result', ok: false, detail: 'no search result to look up' });
    await expect('bad body: 400 bad_input', 'POST', '/v1/search', '{"query":', (s, a) => s === 400 && a.error.code === 'bad_input');
    await expect('unknown route: 404 JSON', 'GET', '/v2/nothing', undefined, (s, a) => s === 404 && a.error.code === 'not_found');
  } finally {
    client.close();
  }
  return checks;
}
