import { describe, expect, it } from 'vitest';
import { defaultIndexConfig, IndexConfigSchema } from './config.ts';

describe('IndexConfigSchema', () => {
  it('reads a config written before towers were pre-trained as one without a tower, with the same tower settings otherwise', () => {
    const { encoder, ...older } = defaultIndexConfig(60_000);
    const read = IndexConfigSchema.parse(older);
    expect(read.encoder.epochs).toBe(0);
    expect(encoder.epochs).toBe(1);
    expect({ ...read.encoder, epochs: encoder.epochs }).toEqual(encoder);
  });

  it('accepts the defaults as they are', () => {
    const config = defaultIndexConfig(60_000, 4, 1);
    expect(IndexConfigSchema.parse(config)).toEqual(config);
  });
});
