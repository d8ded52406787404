import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';

/**
 * The router's OpenAPI document as a contract: the document itself must validate against
 * the OpenAPI 3.1 schema (@seriousme/openapi-schema-validator), and a real response must
 * match what the document says of its route and status (Ajv, JSON Schema 2020-12, the
 * dialect of OpenAPI 3.1).
 */
export interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>;
}

export class ApiContract {
  readonly doc: OpenApiDoc;
  readonly #ajv: Ajv2020;

  private constructor(doc: OpenApiDoc) {
    this.doc = doc;
    // The document is not itself a schema: its OpenAPI keywords are not JSON Schema's, hence strict: false.
    this.#ajv = new Ajv2020({ strict: false, allErrors: true });
    this.#ajv.addSchema(doc as object, 'openapi.json');
  }

  /** Validates the document; throws with the validator's errors when it is not a valid OpenAPI document. */
  static async of(doc: unknown): Promise<ApiContract> {
    const result = await new Validator().validate(doc as Parameters<Validator['validate']>[0]);
    if (!result.valid) throw new Error(`not a valid OpenAPI document: ${JSON.stringify(result.errors).slice(0, 2000)}`);
    return new ApiContract(doc as OpenApiDoc);
  }

  /** Problems of a response against the document (empty when it conforms): its status must be listed, its content type and body as described. */
  async check(method: string, template: string, response: Response): Promise<string[]> {
    const operation = this.doc.paths[template]?.[method.toLowerCase()];
    if (!operation) return [`${method} ${template} is not in the document`];
    const declared = operation.responses[String(response.status)];
    if (!declared) return [`${method} ${template} answered ${response.status}, which the document does not list (${Object.keys(operation.responses).join(', ')})`];
    const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const content = declared.content?.[type];
    if (!content) return [`${method} ${template} ${response.status} answered ${type}; the document says ${Object.keys(declared.content ?? {}).join(', ') || 'no body'}`];
    if (type !== 'application/json') return [];
    const pointer = ['paths', template, method.toLowerCase(), 'responses', String(response.status), 'content', type, 'schema'].map(escape).join('/');
    const validate = this.#ajv.getSchema(`openapi.json#/${pointer}`);
    if (!validate) return [`no schema at ${pointer}`];
    const body: unknown = await response.json();
    return validate(body) ? [] : (validate.errors ?? []).map((e) => `${method} ${template} ${response.status}: ${e.instancePath || '(body)'} ${e.message}`);
  }
}

/** A JSON pointer segment, URI-encoded for use in a fragment. */
function escape(segment: string): string {
  return encodeURIComponent(segment.replaceAll('~', '~0').replaceAll('/', '~1'));
}
