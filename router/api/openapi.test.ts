import { describe, expect, it } from 'vitest';
import { ApiContract } from '../../test/helpers/openapi-contract.ts';
import { stubAppDeps } from '../../test/helpers/app-deps.ts';
import { createApp } from '../app.ts';
import { DEFAULT_LIMITS } from '../config.ts';
import { openApiDocument } from './openapi.ts';

/** The document the router serves: a valid OpenAPI 3.1 document naming every route the app has, and no other. */
describe('GET /openapi.json', () => {
  it('validates as OpenAPI 3.1 with a schema validator', async () => {
    const contract = await ApiContract.of(openApiDocument(DEFAULT_LIMITS));
    expect(contract.doc.openapi).toBe('3.1.0');
  });

  it('describes every route of the app, and only those', async () => {
    const app = createApp(stubAppDeps());
    const served = await (await app.request('/openapi.json')).json();
    expect(served).toEqual(openApiDocument(DEFAULT_LIMITS));
    const documented = Object.entries((served as { paths: Record<string, object> }).paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    // Hono writes parameters as :id, OpenAPI as {id}; middleware is registered as ALL.
    const routes = app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
    expect([...new Set(routes)].sort()).toEqual(documented.sort());
  });

  it('states the limits the router was started with, from the schema that validates searches', () => {
    const doc = openApiDocument({ ...DEFAULT_LIMITS, maxK: 42 }) as { paths: Record<string, { post: { requestBody: { content: { 'application/json': { schema: { properties: { k: { maximum: number } }; additionalProperties: boolean } } } } } }> };
    const schema = doc.paths['/v1/search']!.post.requestBody.content['application/json'].schema;
    expect(schema.properties.k.maximum).toBe(42);
    expect(schema.additionalProperties).toBe(false);
  });
});
