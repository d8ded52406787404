import { describe, expect, it } from 'vitest';
import { mulberry32 } from './random.ts';
import { KeyIndex } from './key-index.ts';

describe('KeyIndex', () => {
  it('finds every key where a Map filled in the same order does, and nothing else', () => {
    const rand = mulberry32(7);
    // Random uint32 keys, some given twice, plus keys that differ only in their low bits.
    const keys = Uint32Array.from({ length: 5000 }, (_, i) => (i % 10 === 0 ? 0x80000000 + i : Math.floor(rand() * 2 ** 32)));
    keys[4999] = keys[17]!;
    const map = new Map<number, number>();
    keys.forEach((k, i) => map.set(k, i));
    const index = new KeyIndex(keys);
    for (const k of keys) expect(index.get(k)).toBe(map.get(k));
    for (let i = 0; i < 5000; i++) {
      const absent = Math.floor(rand() * 2 ** 32);
      expect(index.get(absent)).toBe(map.get(absent) ?? -1);
    }
  });

  it('answers −1 for any key when empty, and handles key 0 and 2^32 − 1', () => {
    expect(new KeyIndex([]).get(0)).toBe(-1);
    const index = new KeyIndex([0, 0xffffffff]);
    expect([index.get(0), index.get(0xffffffff), index.get(1)]).toEqual([0, 1, -1]);
  });
});
