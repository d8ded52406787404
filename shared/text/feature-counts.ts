/**
 * Counts of 32-bit feature ids in two typed arrays (open addressing, linear probing): about
 * 8 bytes an entry at most half full, where a Map takes several times that and stops at
 * 2^24 entries. A vocabulary over millions of documents counts far more features than that.
 *
 * Bounded: once `maxEntries` distinct features are held, the rarest are dropped (every one
 * counted at most d, d = 1, 2, 4… until at most half the bound is left) and counting goes
 * on. Counts are exact until then; after it, a count may be short by at most `undercount`,
 * the sum of those d (lossy counting: a feature dropped and seen again restarts from zero).
 */
export class FeatureCounts {
  #keys: Uint32Array;
  #counts: Uint32Array;
  #size = 0;
  #undercount = 0;
  readonly #maxEntries: number;

  constructor(maxEntries = Number.MAX_SAFE_INTEGER, initialCapacity = 1 << 12) {
    if (!(maxEntries >= 2)) throw new Error(`feature counts: maxEntries must be at least 2, not ${maxEntries}`);
    this.#maxEntries = maxEntries;
    const capacity = 1 << Math.ceil(Math.log2(Math.max(16, initialCapacity)));
    this.#keys = new Uint32Array(capacity);
    this.#counts = new Uint32Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** How far below the true count any count may be (0: every count is exact). */
  get undercount(): number {
    return this.#undercount;
  }

  add(id: number, by = 1): void {
    const slot = this.#slotOf(id >>> 0);
    if (this.#counts[slot] !== 0) {
      this.#counts[slot]! += by;
      return;
    }
    this.#keys[slot] = id >>> 0;
    this.#counts[slot] = by;
    this.#size++;
    if (this.#size >= this.#maxEntries) this.#dropRarest();
    else if (this.#size * 2 > this.#keys.length) this.#rehash(this.#keys.length * 2, 0);
  }

  get(id: number): number {
    return this.#counts[this.#slotOf(id >>> 0)]!;
  }

  forEach(visit: (id: number, count: number) => void): void {
    for (let slot = 0; slot < this.#keys.length; slot++) if (this.#counts[slot] !== 0) visit(this.#keys[slot]!, this.#counts[slot]!);
  }

  /** The slot holding `id`, or the empty slot where it would go. A count of 0 marks an empty slot. */
  #slotOf(id: number): number {
    const mask = this.#keys.length - 1;
    // Feature ids are hashes already; the multiply spreads ids that differ only in high bits.
    let slot = Math.imul(id, 0x9e3779b1) >>> 0 & mask;
    while (this.#counts[slot] !== 0 && this.#keys[slot] !== id) slot = (slot + 1) & mask;
    return slot;
  }

  #dropRarest(): void {
    let dropBelow = 1;
    for (;;) {
      let left = 0;
      this.forEach((_id, count) => void (count > dropBelow && left++));
      if (left <= this.#maxEntries / 2) break;
      dropBelow *= 2;
    }
    this.#rehash(this.#keys.length, dropBelow);
    this.#undercount += dropBelow;
  }

  /** Moves every feature counted more than `above` times into new arrays of `capacity` slots. */
  #rehash(capacity: number, above: number): void {
    const keys = this.#keys;
    const counts = this.#counts;
    this.#keys = new Uint32Array(capacity);
    this.#counts = new Uint32Array(capacity);
    this.#size = 0;
    for (let slot = 0; slot < keys.length; slot++) {
      if (counts[slot]! <= above) continue;
      const to = this.#slotOf(keys[slot]!);
      this.#keys[to] = keys[slot]!;
      this.#counts[to] = counts[slot]!;
      this.#size++;
    }
  }
}
