import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend, tfMemory } from './backend.ts';
import { registerGradFixes, transposeFreeBatchMatMulGrad } from './grad-fixes.ts';

// Captured before anything replaces it: the stock gradient is the reference on cpu.
const stockGrad = tf.getGradient(tf.BatchMatMul);

const FLAG_CASES = [
  { transposeA: false, transposeB: false },
  { transposeA: false, transposeB: true },
  { transposeA: true, transposeB: false },
  { transposeA: true, transposeB: true },
] as const;

const M = 3;
const K = 4;
const N = 5;

/** A small deterministic generator, so failures reproduce. */
function seededValues(count: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1; // in [-1, 1)
  });
}

/** A plain float64 matrix (or batch of them) with the given shape. */
interface Mat {
  shape: number[];
  data: number[];
}

function mat(shape: number[], seed: number): Mat {
  return { shape, data: seededValues(shape.reduce((p, d) => p * d, 1), seed) };
}

/** Element [batch, r, c] of a rank-2 or rank-3 matrix, transposed when asked; rank-2 broadcasts over batches. */
function at(x: Mat, batch: number, r: number, c: number, transposed: boolean): number {
  const [rows, cols] = x.shape.slice(-2);
  const [i, j] = transposed ? [c, r] : [r, c];
  const offset = x.shape.length === 3 ? batch * rows * cols : 0;
  return x.data[offset + i * cols + j];
}

/**
 * f(A, B) = Σ W ∘ (op(A)·op(B)) in float64, written from the definition of matMul and
 * independent of tfjs. W fixes an arbitrary upstream gradient dy = W.
 */
function objective(a: Mat, b: Mat, w: Mat, ta: boolean, tb: boolean): number {
  const batches = w.shape.length === 3 ? w.shape[0] : 1;
  let total = 0;
  for (let s = 0; s < batches; s++) {
    for (let r = 0; r < M; r++) {
      for (let c = 0; c < N; c++) {
        let dot = 0;
        for (let k = 0; k < K; k++) dot += at(a, s, r, k, ta) * at(b, s, k, c, tb);
        total += at(w, s, r, c, false) * dot;
      }
    }
  }
  return total;
}

/** Central differences; f is bilinear, so these are exact up to float64 rounding. */
function numericGrad(x: Mat, f: () => number): number[] {
  const h = 1e-3;
  return x.data.map((v, i) => {
    x.data[i] = v + h;
    const up = f();
    x.data[i] = v - h;
    const down = f();
    x.data[i] = v;
    return (up - down) / (2 * h);
  });
}

function operandShapes(ta: boolean, tb: boolean, batchA: number[], batchB: number[]): [number[], number[]] {
  return [[...batchA, ...(ta ? [K, M] : [M, K])], [...batchB, ...(tb ? [N, K] : [K, N])]];
}

function expectClose(actual: Tensor, expected: number[], shape: number[]): void {
  expect(actual.shape).toEqual(shape);
  const got = actual.dataSync();
  expect(got.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(got[i]).toBeCloseTo(expected[i], 4);
}

// Batch layouts: plain matrices, matching batches, and a rank-2 operand broadcast over
// a batch of the other (which the stock gradient does not reduce back to its shape).
const LAYOUTS = [
  { name: 'rank 2', batchA: [], batchB: [], batchOut: [] },
  { name: 'rank 3', batchA: [2], batchB: [2], batchOut: [2] },
  { name: 'rank-2 b broadcast', batchA: [2], batchB: [], batchOut: [2] },
  { name: 'rank-2 a broadcast', batchA: [], batchB: [2], batchOut: [2] },
] as const;

describe.each(['wasm', 'cpu'] as const)('transpose-free BatchMatMul gradient on %s', (backend) => {
  beforeAll(async () => {
    if (backend === 'wasm') {
      // Through initBackend, which also quiets the Emscripten process listeners.
      expect(await initBackend({ prefer: 'wasm' })).toBe('wasm');
    } else {
      await import('@tensorflow/tfjs-backend-cpu');
      expect(await tf.setBackend('cpu')).toBe(true);
    }
    registerGradFixes();
    expect(tf.getGradient(tf.BatchMatMul)).toBe(transposeFreeBatchMatMulGrad);
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  describe.each(LAYOUTS)('$name', ({ batchA, batchB, batchOut }) => {
    it.each(FLAG_CASES)('matches numeric gradients for transposeA=$transposeA transposeB=$transposeB', ({ transposeA, transposeB }) => {
      const [shapeA, shapeB] = operandShapes(transposeA, transposeB, [...batchA], [...batchB]);
      const a = mat(shapeA, 1);
      const b = mat(shapeB, 2);
      const w = mat([...batchOut, M, N], 3);
      const f = () => objective(a, b, w, transposeA, transposeB);
      const expectedA = numericGrad(a, f);
      const expectedB = numericGrad(b, f);

      const before = tfMemory().numTensors;
      tf.tidy(() => {
        const wt = tf.tensor(w.data, w.shape);
        const [ga, gb] = tf.grads((x: Tensor, y: Tensor) => tf.sum(tf.mul(tf.matMul(x, y, transposeA, transposeB), wt)))([
          tf.tensor(a.data, a.shape),
          tf.tensor(b.data, b.shape),
        ]);
        expectClose(ga, expectedA, shapeA);
        expectClose(gb, expectedB, shapeB);
      });
      expect(tfMemory().numTensors).toBe(before);
    });
  });

  it.each(FLAG_CASES)(
    'never runs matMul with transpose flags (transposeA=$transposeA transposeB=$transposeB)',
    ({ transposeA, transposeB }) => {
      const [shapeA, shapeB] = operandShapes(transposeA, transposeB, [2], [2]);
      tf.tidy(() => {
        const a = tf.randomNormal(shapeA);
        const b = tf.randomNormal(shapeB);
        const dy = tf.randomNormal([2, M, N]);
        const runKernel = vi.spyOn(tf.engine(), 'runKernel');
        const grads = transposeFreeBatchMatMulGrad.gradFunc(dy, [a, b], { transposeA, transposeB });
        grads.a();
        grads.b();
        const matMuls = runKernel.mock.calls.filter(([kernel]) => kernel === tf.BatchMatMul);
        expect(matMuls).toHaveLength(2);
        for (const [, , attrs] of matMuls) expect(attrs).toEqual({ transposeA: false, transposeB: false });
      });
    },
  );

  it.runIf(backend === 'cpu').each(FLAG_CASES)(
    'agrees with the stock gradient (transposeA=$transposeA transposeB=$transposeB)',
    ({ transposeA, transposeB }) => {
      const [shapeA, shapeB] = operandShapes(transposeA, transposeB, [2], [2]);
      tf.tidy(() => {
        const a = tf.randomNormal(shapeA);
        const b = tf.randomNormal(shapeB);
        const dy = tf.randomNormal([2, M, N]);
        const attrs = { transposeA, transposeB };
        const ours = transposeFreeBatchMatMulGrad.gradFunc(dy, [a, b], attrs);
        const stock = stockGrad.gradFunc(dy, [a, b], attrs);
        for (const input of ['a', 'b'] as const) {
          const got = ours[input]();
          const want = stock[input]();
          expect(got.shape).toEqual(want.shape);
          expect(tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]).toBeLessThan(1e-5);
        }
      });
    },
  );
});
