import { Packr, Unpackr, type Options } from 'msgpackr';
import { BadInputError } from '../errors.ts';

/**
 * The wire encoding of every bus payload: plain MessagePack, so a client in any language
 * with a stock msgpack library can talk to the cluster. msgpackr's own extensions
 * (records, structured clone, typed-array and undefined extension types) are off for that
 * reason: they would decode as unknown extensions elsewhere.
 */

// `skipValues` is honoured by msgpackr's packer but missing from its type declarations.
// Skipping undefined properties mirrors JSON.stringify, so optional fields stay absent
// instead of arriving as nil (which zod's .optional() would refuse).
const PACK_OPTIONS: Options & { skipValues: unknown[] } = {
  useRecords: false,
  structuredClone: false,
  moreTypes: false,
  bundleStrings: false,
  encodeUndefinedAsNil: true,
  skipValues: [undefined],
};

const UNPACK_OPTIONS: Options = {
  useRecords: false,
  structuredClone: false,
  moreTypes: false,
  mapsAsObjects: true,
  // Integers above 2^53 are not expected; a number keeps schemas simple where a bigint would not.
  int64AsType: 'number',
};

// Built once: both hold only their options and a reusable scratch buffer, nothing per message.
const packr = new Packr(PACK_OPTIONS);
const unpackr = new Unpackr(UNPACK_OPTIONS);

export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Decodes one whole MessagePack value; truncated, trailing or otherwise unreadable bytes are a BadInputError. */
export function decode(bytes: Uint8Array): unknown {
  try {
    return unpackr.unpack(bytes);
  } catch (cause) {
    throw new BadInputError(`undecodable payload (${bytes.length} bytes): ${(cause as Error).message}`, { cause });
  }
}
