/** Half-open byte intervals [start, end) for the contract suite's coverage checks. */
export type Interval = [number, number];

export function normalize(intervals: Interval[]): Interval[] {
  const sorted = intervals.filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0]);
  const out: Interval[] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** Parts of `a` not covered by `b` (both normalised). */
export function subtract(a: Interval[], b: Interval[]): Interval[] {
  const out: Interval[] = [];
  let j = 0;
  for (const [start, end] of a) {
    let s = start;
    while (j < b.length && b[j]![1] <= s) j++;
    let k = j;
    while (s < end) {
      const cut = b[k];
      if (!cut || cut[0] >= end) {
        out.push([s, end]);
        break;
      }
      if (cut[0] > s) out.push([s, cut[0]]);
      s = Math.max(s, cut[1]);
      k++;
    }
  }
  return out;
}

export function roundOut(intervals: Interval[], unit: number, limit: number): Interval[] {
  return normalize(intervals.map(([s, e]) => [Math.floor(s / unit) * unit, Math.min(limit, Math.ceil(e / unit) * unit)]));
}

export function totalLength(intervals: Interval[]): number {
  return intervals.reduce((sum, [s, e]) => sum + (e - s), 0);
}
