/**
 * The prototype rows one step of sampled-softmax training scores a batch against: every
 * row a batch example targets, then a uniform sample of the others. `logQ` is the log of
 * each row's chance of being in the set (0 for the targets, which always are): subtracted
 * from the logits, it makes the set's sum of exp(logit) an unbiased estimate of the sum
 * over every row, which the full softmax divides by.
 */
export interface RowSample {
  /** Rows scored, the batch's targets first (ascending), then the sampled ones. */
  readonly rows: Int32Array;
  readonly logQ: Float32Array;
  /** Each example's target as a position in `rows`. */
  readonly targets: Int32Array;
}

export function sampleRows(targets: Int32Array, rowCount: number, size: number, rand: () => number): RowSample {
  const own = Int32Array.from(new Set(targets)).sort();
  const positionOf = new Map(Array.from(own, (r, i) => [r, i]));
  const others = rowCount - own.length;
  const drawn = Math.max(0, Math.min(size - own.length, others));
  const rows = new Int32Array(own.length + drawn);
  rows.set(own);
  // Floyd's algorithm over the ranks of the rows no example targets: `drawn` distinct ranks in O(drawn).
  const ranks = new Set<number>();
  for (let j = others - drawn; j < others; j++) {
    const t = Math.floor(rand() * (j + 1));
    ranks.add(ranks.has(t) ? j : t);
  }
  const sortedRanks = Int32Array.from(ranks).sort();
  // Rank → row: skip the targeted rows, both lists ascending.
  let o = 0;
  sortedRanks.forEach((rank, i) => {
    while (o < own.length && own[o]! <= rank + o) o++;
    rows[own.length + i] = rank + o;
  });
  const logQ = new Float32Array(rows.length);
  if (drawn > 0) logQ.fill(Math.log(drawn / others), own.length);
  return { rows, logQ, targets: Int32Array.from(targets, (r) => positionOf.get(r)!) };
}
