import { describe, expect, it } from 'vitest';
import { BadInputError } from '../errors.ts';
import { decode, encode } from './codec.ts';

describe('bus codec', () => {
  it('round-trips plain objects, keeping float64 scores exact', () => {
    const value = { ok: true, hits: [{ id: 'd1', docid: '0-1-2', score: -0.123456789012345 }], took_ms: 1.5, n: null };
    expect(decode(encode(value))).toEqual(value);
  });

  it('writes standard MessagePack: a fixmap with str keys, no msgpackr extension types', () => {
    const bytes = encode({ a: 1, b: 'x' });
    expect(Array.from(bytes)).toEqual([0x82, 0xa1, 0x61, 0x01, 0xa1, 0x62, 0xa1, 0x78]);
  });

  it('drops undefined properties, as JSON does, and writes undefined array items as nil', () => {
    expect(decode(encode({ a: 1, b: undefined }))).toEqual({ a: 1 });
    expect(Array.from(encode([undefined]))).toEqual([0x91, 0xc0]);
  });

  it.each([
    ['empty', new Uint8Array(0)],
    ['truncated', new Uint8Array([0x92, 0x01])],
    ['trailing bytes', new TextEncoder().encode('hello garbage')],
    ['unknown extension', new Uint8Array([0xc7, 0x05, 0x01, 0x00])],
  ])('refuses %s input with a BadInputError', (_name, bytes) => {
    expect(() => decode(bytes)).toThrow(BadInputError);
  });
});
