import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BadInputError } from '../../shared/errors.ts';
import { parseSize, writeDistractorSample } from './distractor-sample.ts';

const work = mkdtempSync(join(tmpdir(), 'dsi-sample-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** 4 core documents among 20 distractors, one query pointing at a core document. */
function collection(): string {
  const dir = join(work, 'from');
  mkdirSync(join(dir, 'qrels'), { recursive: true });
  const docs = [
    ...Array.from({ length: 4 }, (_, i) => ({ _id: `deb${i}`, title: `core ${i}`, text: 'a core document' })),
    ...Array.from({ length: 20 }, (_, i) => ({ _id: `${i % 2 ? 'npm' : 'pypi'}:p${i}`, title: `p${i}`, text: 'a distractor' })),
  ];
  writeFileSync(join(dir, 'corpus.jsonl'), docs.map((d) => JSON.stringify(d)).join('\n'));
  writeFileSync(join(dir, 'queries.jsonl'), `${JSON.stringify({ _id: 'q0', text: 'core' })}\n`);
  writeFileSync(join(dir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq0\tdeb0\t1\n');
  return dir;
}

const ids = (dir: string) => readFileSync(join(dir, 'corpus.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { _id: string })._id);

describe('distractor sample', () => {
  const from = collection();

  it('keeps every core document and exactly enough evenly spaced distractors for the size', async () => {
    const out = join(work, 'size');
    expect(await writeDistractorSample({ from, out, size: 9 })).toEqual({ documents: 9, core: 4, distractors: 5, distractorsAvailable: 20 });
    expect(ids(out)).toEqual(['deb0', 'deb1', 'deb2', 'deb3', 'npm:p3', 'npm:p7', 'npm:p11', 'npm:p15', 'npm:p19']);
    expect(readFileSync(join(out, 'qrels', 'test.tsv'), 'utf8')).toContain('q0\tdeb0');
    expect(readFileSync(join(out, 'queries.jsonl'), 'utf8')).toContain('"q0"');
  });

  it('keeps every K-th distractor with --every, and refuses a size below the core', async () => {
    const out = join(work, 'every');
    expect((await writeDistractorSample({ from, out, every: 10 })).distractors).toBe(2);
    expect(ids(out).slice(4)).toEqual(['npm:p9', 'npm:p19']);
    await expect(writeDistractorSample({ from, out: join(work, 'small'), size: 3 })).rejects.toBeInstanceOf(BadInputError);
  });

  it('reads sizes as people write them', () => {
    expect([parseSize('120k'), parseSize('1.2m'), parseSize('60514')]).toEqual([120_000, 1_200_000, 60_514]);
    expect(() => parseSize('lots')).toThrow(BadInputError);
  });
});
