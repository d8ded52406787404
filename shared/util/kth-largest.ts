/**
 * The k-th largest of values[indices[i]] for i < n (k from 1), or −∞ when n < k. `heap`
 * (at least k long) is scratch: a min-heap of the k largest seen so far, so a value at or
 * below its minimum (most of them, once it fills) costs one comparison. About three
 * times faster than copying the values out and running a quickselect over them, for the
 * few dozen best of a few thousand documents a search asks for.
 */
export function kthLargest(values: Float32Array, indices: Int32Array, n: number, k: number, heap: Float32Array): number {
  if (k < 1 || n < k) return Number.NEGATIVE_INFINITY;
  for (let i = 0; i < k; i++) heap[i] = values[indices[i]!]!;
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(heap, i, k);
  let min = heap[0]!;
  for (let i = k; i < n; i++) {
    const value = values[indices[i]!]!;
    if (value <= min) continue;
    heap[0] = value;
    siftDown(heap, 0, k);
    min = heap[0]!;
  }
  return min;
}

/** Moves heap[i] down to where both its children are no smaller (a min-heap of n values). */
function siftDown(heap: Float32Array, i: number, n: number): void {
  const value = heap[i]!;
  for (;;) {
    let child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap[child + 1]! < heap[child]!) child++;
    if (heap[child]! >= value) break;
    heap[i] = heap[child]!;
    i = child;
  }
  heap[i] = value;
}
