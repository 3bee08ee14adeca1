/** Binary searches over ascending numeric arrays (sample timestamps). */

/** First index i with a[i] >= x (a.length if none). */
export function lowerBound(a: ArrayLike<number>, x: number, from = 0): number {
  let lo = from;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index i with a[i] > x (a.length if none). */
export function upperBound(a: ArrayLike<number>, x: number, from = 0): number {
  let lo = from;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
