/**
 * An embedding table trained with sparse updates.
 *
 * Why not a tf.Variable: on the wasm backend `gather` of 16K rows takes ~55 ms, its
 * gradient (UnsortedSegmentSum) does not exist, and a dense Adam step over a 2^18×128
 * table takes ~250 ms (measured with the project's backend). A training step touches a
 * few thousand rows, so the table lives in a Float32Array, lookups and the embedding
 * bag run in plain loops, and only touched rows are updated (lazy Adam, as in
 * TensorFlow's LazyAdamOptimizer). The dense part of each model stays in TensorFlow.js.
 */
export interface AdamOptions {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

export const DEFAULT_SPARSE_ADAM: Readonly<AdamOptions> = Object.freeze({ learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });

export class SparseTable {
  readonly rows: number;
  readonly dim: number;
  readonly values: Float32Array;
  #m: Float32Array | undefined;
  #v: Float32Array | undefined;
  #steps: Int32Array | undefined;
  // Gradient accumulation for one step: slot of each touched row, -1 when untouched.
  #slot: Int32Array | undefined;
  #touched: number[] = [];
  #grad = new Float32Array(0);

  constructor(rows: number, dim: number, values?: Float32Array) {
    if (values && values.length !== rows * dim) throw new Error(`sparse table: expected ${rows * dim} values, got ${values.length}`);
    this.rows = rows;
    this.dim = dim;
    this.values = values ?? new Float32Array(rows * dim);
  }

  /** Fills the table with N(0, stddev²) values from a seeded generator. */
  initNormal(rand: () => number, stddev: number): this {
    for (let i = 0; i < this.values.length; i += 2) {
      // Box–Muller: two normals per pair of uniforms.
      const u = Math.max(rand(), 1e-12);
      const r = Math.sqrt(-2 * Math.log(u)) * stddev;
      const t = 2 * Math.PI * rand();
      this.values[i] = r * Math.cos(t);
      if (i + 1 < this.values.length) this.values[i + 1] = r * Math.sin(t);
    }
    return this;
  }

  row(index: number): Float32Array {
    return this.values.subarray(index * this.dim, (index + 1) * this.dim);
  }

  /** out[b] = Σ weights[j] · row(rows[j]) for j in [offsets[b], offsets[b+1]). */
  bag(rows: Int32Array, weights: Float32Array, offsets: Int32Array, out: Float32Array): void {
    const d = this.dim;
    const values = this.values;
    out.fill(0);
    for (let b = 0; b + 1 < offsets.length; b++) {
      const o = b * d;
      for (let j = offsets[b]!; j < offsets[b + 1]!; j++) {
        const w = weights[j]!;
        const r = rows[j]! * d;
        for (let k = 0; k < d; k++) out[o + k]! += w * values[r + k]!;
      }
    }
  }

  /** Copies rows (or zeros for index -1, used as padding) into out, one after another. */
  gather(indices: Int32Array, out: Float32Array): void {
    const d = this.dim;
    for (let i = 0; i < indices.length; i++) {
      const r = indices[i]!;
      if (r < 0) out.fill(0, i * d, (i + 1) * d);
      else out.set(this.values.subarray(r * d, (r + 1) * d), i * d);
    }
  }

  /** Adds the gradient of a bag: row(rows[j]) gets weights[j] · grad[b]; rows below `firstRow` are left out (kept frozen). */
  accumulateBag(rows: Int32Array, weights: Float32Array, offsets: Int32Array, grad: Float32Array, firstRow = 0): void {
    const d = this.dim;
    for (let b = 0; b + 1 < offsets.length; b++) {
      for (let j = offsets[b]!; j < offsets[b + 1]!; j++) {
        if (rows[j]! < firstRow) continue;
        const g = this.#slotOf(rows[j]!) * d;
        const w = weights[j]!;
        for (let k = 0; k < d; k++) this.#grad[g + k]! += w * grad[b * d + k]!;
      }
    }
  }

  /** Adds the gradient of a gather: row(indices[i]) gets grad[i] (padding -1 is skipped). */
  accumulateGather(indices: Int32Array, grad: Float32Array): void {
    const d = this.dim;
    for (let i = 0; i < indices.length; i++) {
      if (indices[i]! < 0) continue;
      const g = this.#slotOf(indices[i]!) * d;
      for (let k = 0; k < d; k++) this.#grad[g + k]! += grad[i * d + k]!;
    }
  }

  /** One lazy Adam step over the rows touched since the last step, then clears the gradient. */
  applyAdam(options: Readonly<AdamOptions>): void {
    const d = this.dim;
    this.#m ??= new Float32Array(this.values.length);
    this.#v ??= new Float32Array(this.values.length);
    this.#steps ??= new Int32Array(this.rows);
    const { learningRate, beta1, beta2, epsilon } = options;
    for (let s = 0; s < this.#touched.length; s++) {
      const r = this.#touched[s]!;
      const t = ++this.#steps[r]!;
      // Bias correction per row: a row updated rarely is not damped as if it had been updated every step.
      const step = (learningRate * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
      const base = r * d;
      for (let k = 0; k < d; k++) {
        const g = this.#grad[s * d + k]!;
        const m = (this.#m[base + k] = beta1 * this.#m[base + k]! + (1 - beta1) * g);
        const v = (this.#v[base + k] = beta2 * this.#v[base + k]! + (1 - beta2) * g * g);
        this.values[base + k]! -= (step * m) / (Math.sqrt(v) + epsilon);
      }
      this.#slot![r] = -1;
    }
    this.#touched = [];
  }

  /** Frees optimizer state once training is over. */
  dropOptimizerState(): void {
    this.#m = this.#v = this.#steps = this.#slot = undefined;
    this.#grad = new Float32Array(0);
    this.#touched = [];
  }

  #slotOf(row: number): number {
    if (!this.#slot) this.#slot = new Int32Array(this.rows).fill(-1);
    let s = this.#slot[row]!;
    if (s < 0) {
      s = this.#touched.length;
      this.#slot[row] = s;
      this.#touched.push(row);
      const need = (s + 1) * this.dim;
      if (need > this.#grad.length) {
        const grown = new Float32Array(Math.max(need, this.#grad.length * 2, 1024 * this.dim));
        grown.set(this.#grad);
        this.#grad = grown;
      }
      this.#grad.fill(0, s * this.dim, need);
    }
    return s;
  }
}
