/**
 * Σ a[aOffset + k] · b[bOffset + k] over k < dim. Four running sums rather than one: each
 * addition no longer waits for the previous one, which makes it about twice as fast, and
 * every query's dot products are most of its semantic half.
 */
export function dot(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < dim; k += 4) {
    s0 += a[aOffset + k]! * b[bOffset + k]!;
    s1 += a[aOffset + k + 1]! * b[bOffset + k + 1]!;
    s2 += a[aOffset + k + 2]! * b[bOffset + k + 2]!;
    s3 += a[aOffset + k + 3]! * b[bOffset + k + 3]!;
  }
  for (; k < dim; k++) s0 += a[aOffset + k]! * b[bOffset + k]!;
  return s0 + s1 + (s2 + s3);
}
