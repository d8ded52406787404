import { describe, expect, it } from 'vitest';
import { Vocabulary } from '../../text/vocabulary.ts';
import { mulberry32 } from '../../util/random.ts';
import { initBackend } from '../backend.ts';
import { createEncoderWeights } from '../tower/encoder.ts';
import { GatingModel, selectTopics } from './gating-model.ts';

const logs = (...p: number[]) => Float32Array.from(p, Math.log);
const labels = Int32Array.from([10, 11, 12, 13]);

describe('selectTopics', () => {
  it('takes the fewest most likely topics whose mass reaches the threshold', () => {
    const chosen = selectTopics(logs(0.1, 0.6, 0.25, 0.05), labels, { threshold: 0.8, maxFanout: 4 });
    expect(chosen.map((t) => t.topic)).toEqual([11, 12]);
    expect(Math.exp(chosen[0]!.logp)).toBeCloseTo(0.6, 5);
  });

  it('never exceeds the fan-out cap, and always asks at least one topic', () => {
    expect(selectTopics(logs(0.25, 0.25, 0.25, 0.25), labels, { threshold: 0.99, maxFanout: 2 })).toHaveLength(2);
    expect(selectTopics(logs(0.97, 0.01, 0.01, 0.01), labels, { threshold: 0.5, maxFanout: 4 })).toHaveLength(1);
  });
});

describe('GatingModel.topicPower', () => {
  it('route returns log P(topic)^power, renormalised', async () => {
    await initBackend({ prefer: 'cpu' });
    const vocabulary = new Vocabulary(Uint32Array.of(1, 2), Float32Array.of(1, 1), 2);
    const encoder = createEncoderWeights(vocabulary, 4, mulberry32(3));
    const topics = Float32Array.from({ length: 3 * 4 }, (_, i) => Math.sin(i + 1));
    const model = new GatingModel(encoder, Int32Array.of(0, 0, 1), topics, 10);
    const query = [{ rows: Int32Array.of(0, 1), weights: Float32Array.of(0.6, 0.8) }];
    const plain = model.route(query);
    model.topicPower = 0.5;
    const flat = model.route(query);
    const z = Math.exp(0.5 * plain[0]!) + Math.exp(0.5 * plain[1]!);
    expect(flat[0]).toBeCloseTo(0.5 * plain[0]! - Math.log(z), 5);
    expect(Math.exp(flat[0]!) + Math.exp(flat[1]!)).toBeCloseTo(1, 5);
    model.dispose();
  });
});
