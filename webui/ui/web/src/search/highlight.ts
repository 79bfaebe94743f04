// Highlighted fragments: the server marks matches with [start, end) byte
// offsets into the UTF-8 encoding of a fragment, never with markup. This
// turns them into plain-text segments, marked or not, for <mark> elements
// and text nodes: nothing of the fragment ever becomes HTML.

export interface Segment {
  text: string;
  mark: boolean;
}

/**
 * The segments of fragment with marks (UTF-8 byte offsets) applied. Marks
 * out of range are clipped, overlapping ones merged, and an offset inside a
 * character moves to that character's start (start) or end (end).
 */
export function segments(fragment: string, marks: readonly (readonly [number, number])[] | undefined): Segment[] {
  // byteAt[i] is the UTF-8 byte offset of UTF-16 index i (for i at a code
  // point start, and at the end).
  const starts: number[] = []; // UTF-16 index of each code point
  const bytes: number[] = []; // its byte offset
  let b = 0;
  for (let i = 0; i < fragment.length; ) {
    const cp = fragment.codePointAt(i) ?? 0;
    starts.push(i);
    bytes.push(b);
    b += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    i += cp > 0xffff ? 2 : 1;
  }
  starts.push(fragment.length);
  bytes.push(b);
  const total = b;
  // The UTF-16 index of the first code point starting at or after byte off.
  const ceil = (off: number): number => {
    let lo = 0;
    let hi = bytes.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((bytes[mid] ?? 0) < off) lo = mid + 1;
      else hi = mid;
    }
    return starts[lo] ?? fragment.length;
  };
  // The UTF-16 index of the last code point starting at or before byte off.
  const floor = (off: number): number => {
    let lo = 0;
    let hi = bytes.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((bytes[mid] ?? 0) > off) hi = mid - 1;
      else lo = mid;
    }
    return starts[lo] ?? fragment.length;
  };
  const ranges: [number, number][] = [];
  for (const m of marks ?? []) {
    if (!Array.isArray(m) || m.length !== 2) continue;
    const s = Math.max(0, Math.min(total, Math.trunc(Number(m[0]))));
    const e = Math.max(0, Math.min(total, Math.trunc(Number(m[1]))));
    if (!(e > s)) continue;
    // A start inside a character begins at that character; an end inside
    // one ends after it.
    const from = floor(s);
    const to = ceil(e);
    if (to > from) ranges.push([from, to]);
  }
  ranges.sort((x, y) => x[0] - y[0]);
  const out: Segment[] = [];
  let at = 0;
  for (const [s, e] of ranges) {
    if (e <= at) continue;
    const from = Math.max(s, at);
    if (from > at) out.push({ text: fragment.slice(at, from), mark: false });
    const last = out[out.length - 1];
    if (last && last.mark && from === at) last.text += fragment.slice(from, e);
    else out.push({ text: fragment.slice(from, e), mark: true });
    at = e;
  }
  if (at < fragment.length) out.push({ text: fragment.slice(at), mark: false });
  return out;
}
