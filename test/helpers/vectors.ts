import { mulberry32 } from '../../shared/util/random.ts';

/** n seeded random unit vectors of `dim` floats, row-major. */
export function randomUnit(n: number, dim: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) {
      const x = r() - 0.5;
      data[i * dim + d] = x;
      s += x * x;
    }
    for (let d = 0; d < dim; d++) data[i * dim + d] /= Math.sqrt(s);
  }
  return data;
}
