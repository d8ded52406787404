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

  it('reads a config written before gating training was bounded as never bounded, and bounds a new one', () => {
    const config = defaultIndexConfig(60_000);
    const { bounded, ...olderGating } = config.gating;
    const read = IndexConfigSchema.parse({ ...config, gating: olderGating });
    expect(read.gating.bounded.aboveRows).toBe(2 ** 31 - 1);
    // Debian's 60K documents have 960 prototype rows: trained unbounded, as before.
    expect(bounded.aboveRows).toBeGreaterThan(960);
    expect(() => IndexConfigSchema.parse({ ...config, gating: { ...config.gating, bounded: { ...bounded, softmaxRows: 1 } } })).toThrow(/softmaxRows/);
  });
});
