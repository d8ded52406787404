import type { DocRecord } from '../shared/artifact/index-artifact.ts';
import { encode } from '../shared/bus/codec.ts';
import { DocReplySchema, MAX_DOC_ID_CHARS, PROTOCOL_VERSION, ShardRequestKind, type DocRequest } from '../shared/bus/protocol.ts';
import type { ShardRequests } from '../shared/bus/shard-requests.ts';
import { BadInputError, NotFoundError, ShardUnavailableError } from '../shared/errors.ts';

/**
 * GET /v1/docs/:id. The router holds no documents (its memory grows with shards and
 * topics, not with the collection): each shard's experts hold their own. So every shard is
 * asked at once, one replica each, and the first record found is the answer. A document is
 * not found only when every shard has said it does not hold it; when a shard could not
 * answer and no other had it, the document may be on that shard, so the answer is
 * ShardUnavailable (503), never a 404 that could be wrong.
 */
export class DocumentLookup {
  readonly #requests: ShardRequests;
  readonly #shards: () => readonly string[];
  readonly #deadlineMs: number;

  /** `shards`: the shards of the catalog in use, read at each lookup (it follows the registry). */
  constructor(requests: ShardRequests, shards: () => readonly string[], deadlineMs: number) {
    this.#requests = requests;
    this.#shards = shards;
    this.#deadlineMs = deadlineMs;
  }

  find(id: string): Promise<DocRecord> {
    if (id.length > MAX_DOC_ID_CHARS) return Promise.reject(new BadInputError(`a document id is at most ${MAX_DOC_ID_CHARS} characters`));
    const payload = encode({ v: PROTOCOL_VERSION, id } satisfies DocRequest);
    const shards = this.#shards();
    return new Promise<DocRecord>((resolve, reject) => {
      const failed: { shard: string; reason: string }[] = [];
      let pending = shards.length;
      // Once a record is found the promise is settled: the answers still to come change nothing.
      const settleIfLast = () => {
        if (--pending > 0) return;
        if (failed.length === 0) reject(new NotFoundError(`no document with id '${id}'`));
        else reject(new ShardUnavailableError(failed.map((f) => f.shard).join(','), `did not answer (${failed.map((f) => f.reason).join('; ')}) and no other shard holds document '${id}': it may be there, retry later`));
      };
      if (pending === 0) reject(new NotFoundError(`no document with id '${id}' (the index has no shards)`));
      for (const shard of shards) {
        this.#requests.send(ShardRequestKind.doc, shard, payload, this.#deadlineMs, DocReplySchema).then(
          (reply) => {
            if (reply.doc) resolve(reply.doc);
            settleIfLast();
          },
          (error: unknown) => {
            failed.push({ shard, reason: (error as Error).message });
            settleIfLast();
          },
        );
      }
    });
  }
}
