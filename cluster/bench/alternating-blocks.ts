/**
 * Times `search(side, q)` for queries 0 … count − 1 on each of two sides, block by block,
 * the side that goes first alternating from block to block, so the host's speed, which
 * drifts from minute to minute on a shared machine, weighs on both alike. ms per query, by side.
 */
export async function timeInAlternatingBlocks<S extends string>(
  sides: readonly [S, S],
  count: number,
  blocks: number,
  search: (side: S, q: number) => Promise<unknown>,
): Promise<Record<S, number[]>> {
  const times = Object.fromEntries(sides.map((s) => [s, new Array<number>(count)])) as Record<S, number[]>;
  const size = Math.ceil(count / blocks);
  for (let block = 0; block * size < count; block++) {
    const order = block % 2 === 0 ? sides : ([sides[1], sides[0]] as const);
    for (const side of order) {
      for (let q = block * size; q < Math.min(count, (block + 1) * size); q++) {
        const started = performance.now();
        await search(side, q);
        times[side][q] = performance.now() - started;
      }
    }
  }
  return times;
}

export function quantile(xs: readonly number[], f: number): number {
  return [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * f))]!;
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}
