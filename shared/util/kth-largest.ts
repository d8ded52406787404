/**
 * The k-th largest of values[0 .. n) (k from 1), or −∞ when n < k. Reorders that prefix
 * of `values` (it is a scratch copy at the callers): a quickselect, O(n) on average,
 * where a heap of k would cost O(n log k) and allocate.
 */
export function kthLargest(values: Float32Array, n: number, k: number): number {
  if (k < 1 || n < k) return Number.NEGATIVE_INFINITY;
  // The k-th largest is the element at position n − k once the prefix is sorted ascending.
  const target = n - k;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = medianOfThree(values[lo]!, values[(lo + hi) >> 1]!, values[hi]!);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const swap = values[i]!;
        values[i] = values[j]!;
        values[j] = swap;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return values[target]!;
  }
  return values[target]!;
}

function medianOfThree(a: number, b: number, c: number): number {
  return a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
}
