/**
 * Where each uint32 key sits in a key array, by open addressing over two typed arrays.
 * A vocabulary's Map of a few hundred thousand numbers takes several times the memory,
 * and every search encodes its features through one vocabulary per shard asked.
 */
export class KeyIndex {
  /** Slot → key. */
  readonly #keys: Uint32Array;
  /** Slot → position + 1; 0 marks an empty slot. */
  readonly #positions: Int32Array;
  readonly #shift: number;
  readonly #mask: number;

  /** A key given twice maps to its last position, as a Map filled in order would. */
  constructor(keys: ArrayLike<number>) {
    let bits = 4;
    // At most half full: probes stay short.
    while (1 << bits < keys.length * 2) bits++;
    this.#keys = new Uint32Array(1 << bits);
    this.#positions = new Int32Array(1 << bits);
    this.#shift = 32 - bits;
    this.#mask = (1 << bits) - 1;
    for (let i = 0; i < keys.length; i++) this.#set(keys[i]! >>> 0, i);
  }

  /** The key's position, or −1 when it is not in the array. */
  get(key: number): number {
    const keys = this.#keys;
    const positions = this.#positions;
    for (let slot = this.#slotOf(key); ; slot = (slot + 1) & this.#mask) {
      const position = positions[slot]!;
      if (position === 0) return -1;
      if (keys[slot] === key) return position - 1;
    }
  }

  #set(key: number, position: number): void {
    for (let slot = this.#slotOf(key); ; slot = (slot + 1) & this.#mask) {
      if (this.#positions[slot] === 0 || this.#keys[slot] === key) {
        this.#keys[slot] = key;
        this.#positions[slot] = position + 1;
        return;
      }
    }
  }

  /** Fibonacci hashing: the key's top bits after a multiply spread keys that differ only in low bits. */
  #slotOf(key: number): number {
    return Math.imul(key, 0x9e3779b1) >>> this.#shift;
  }
}
