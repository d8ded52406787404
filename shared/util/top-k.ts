/**
 * The k largest scores among candidates, as a bounded min-heap: O(n log k) for n pushes
 * without sorting them all. Ties keep the smaller id first, so results are deterministic.
 */
export class TopK {
  readonly #ids: Int32Array;
  readonly #scores: Float64Array;
  #size = 0;

  constructor(readonly k: number) {
    this.#ids = new Int32Array(Math.max(1, k));
    this.#scores = new Float64Array(Math.max(1, k));
  }

  get size(): number {
    return this.#size;
  }

  /** The smallest score kept once full (−∞ before): a push below it is dropped. */
  get threshold(): number {
    return this.#size < this.k ? Number.NEGATIVE_INFINITY : this.#scores[0]!;
  }

  push(id: number, score: number): void {
    if (this.k <= 0) return;
    if (this.#size < this.k) {
      let i = this.#size++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.#worse(score, id, this.#scores[parent]!, this.#ids[parent]!)) break;
        this.#ids[i] = this.#ids[parent]!;
        this.#scores[i] = this.#scores[parent]!;
        i = parent;
      }
      this.#ids[i] = id;
      this.#scores[i] = score;
      return;
    }
    if (!this.#worse(this.#scores[0]!, this.#ids[0]!, score, id)) return;
    let i = 0;
    const n = this.#size;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.#worse(this.#scores[r]!, this.#ids[r]!, this.#scores[l]!, this.#ids[l]!) ? r : l;
      if (!this.#worse(this.#scores[c]!, this.#ids[c]!, score, id)) break;
      this.#ids[i] = this.#ids[c]!;
      this.#scores[i] = this.#scores[c]!;
      i = c;
    }
    this.#ids[i] = id;
    this.#scores[i] = score;
  }

  /** Kept entries, best first. */
  sorted(): { id: number; score: number }[] {
    const out: { id: number; score: number }[] = [];
    for (let i = 0; i < this.#size; i++) out.push({ id: this.#ids[i]!, score: this.#scores[i]! });
    return out.sort((a, b) => b.score - a.score || a.id - b.id);
  }

  #worse(scoreA: number, idA: number, scoreB: number, idB: number): boolean {
    return scoreA < scoreB || (scoreA === scoreB && idA > idB);
  }
}
