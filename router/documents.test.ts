import { describe, expect, it } from 'vitest';
import { NoRespondersError } from '../shared/bus/bus-errors.ts';
import { decode, encode } from '../shared/bus/codec.ts';
import { PROTOCOL_VERSION, Subjects, type DocReply } from '../shared/bus/protocol.ts';
import { ShardRequests } from '../shared/bus/shard-requests.ts';
import { ShardView } from '../shared/bus/shard-view.ts';
import { BadInputError, NotFoundError, ShardUnavailableError, TimeoutError } from '../shared/errors.ts';
import { DocumentLookup } from './documents.ts';

/**
 * The rules of GET /v1/docs/:id, against a scripted request function (the bus seam): a
 * record found on any shard is the answer, not found needs every shard's word, and a shard
 * that did not answer makes a missing document unavailable, not absent. test/router.test.ts
 * runs the same lookup against real experts on a real nats-server.
 */
const record = { id: 'vim', docid: '1-2-3', title: 'vim', text: 'Vi IMproved.' };

/** What each shard's replica answers (a record, none, or a failure); one live replica per shard. */
function lookup(answers: Record<string, 'has it' | 'not here' | 'dead' | 'hung'>, deadlineMs = 100) {
  const shards = Object.keys(answers);
  const view = new ShardView(shards);
  for (const shard of shards) view.observe({ v: PROTOCOL_VERSION, shard, replica: `${shard}-r`, version: 3, topics: [0], docs: 1, pid: 1, inflight: 0, served: 0, started_at: '', draining: false });
  const asked: string[] = [];
  const bus = {
    async request(subject: string, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
      expect(decode(payload)).toEqual({ v: PROTOCOL_VERSION, id: 'vim' });
      asked.push(subject);
      const shard = subject.split('.')[2]!;
      const answer = answers[shard]!;
      if (answer === 'dead') throw new NoRespondersError(subject);
      if (answer === 'hung') {
        await new Promise((r) => setTimeout(r, timeoutMs));
        throw new TimeoutError(`no reply on ${subject}`);
      }
      return encode({ ok: true, shard, replica: `${shard}-r`, version: 3, doc: answer === 'has it' ? record : null } satisfies DocReply);
    },
  };
  return { documents: new DocumentLookup(new ShardRequests(bus, view), () => shards, deadlineMs), asked };
}

describe('DocumentLookup', () => {
  it('asks every shard, one replica each, and answers the record of the one that holds it', async () => {
    const { documents, asked } = lookup({ s0: 'not here', s1: 'has it', s2: 'not here' });
    expect(await documents.find('vim')).toEqual(record);
    expect(asked.sort()).toEqual([Subjects.replicaDoc('s0', 's0-r'), Subjects.replicaDoc('s1', 's1-r'), Subjects.replicaDoc('s2', 's2-r')]);
  });

  it('answers the record at once, without waiting for a shard that hangs', async () => {
    const { documents } = lookup({ s0: 'hung', s1: 'has it' }, 2_000);
    const started = performance.now();
    expect(await documents.find('vim')).toEqual(record);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('is not found only when every shard said it does not hold it', async () => {
    const { documents } = lookup({ s0: 'not here', s1: 'not here' });
    const error = await documents.find('vim').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toBe("no document with id 'vim'");
  });

  it('is unavailable, naming the shards, when some did not answer and no other holds it', async () => {
    const { documents } = lookup({ s0: 'not here', s1: 'dead', s2: 'hung' });
    const error = await documents.find('vim').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShardUnavailableError);
    expect((error as ShardUnavailableError).shard).toBe('s1,s2');
    expect((error as Error).message).toMatch(/^shard s1,s2: did not answer \(.*no responders.*\) and no other shard holds document 'vim'/);
  });

  it('refuses an id longer than a request may carry, asking no shard', async () => {
    const { documents, asked } = lookup({ s0: 'has it' });
    await expect(documents.find('x'.repeat(1025))).rejects.toBeInstanceOf(BadInputError);
    expect(asked).toEqual([]);
  });
});
