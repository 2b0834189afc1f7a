// How many columns a text takes in a Japanese mail program's fixed-width
// font: East Asian wide and full-width characters take two (UAX #11), and so
// do the "ambiguous" ones a Japanese font draws wide (①, ■, ○, ※, →, ×, Greek,
// Cyrillic, box drawing); combining marks take none.

// [first, last] code points, sorted, each two columns wide.
const WIDE: ReadonlyArray<readonly [number, number]> = [
  [0x00a7, 0x00a8],
  [0x00b0, 0x00b1],
  [0x00b4, 0x00b4],
  [0x00b6, 0x00b6],
  [0x00d7, 0x00d7],
  [0x00f7, 0x00f7],
  [0x0391, 0x03c9],
  [0x0401, 0x0451],
  [0x1100, 0x115f],
  [0x2010, 0x2010],
  [0x2015, 0x2016],
  [0x2018, 0x2019],
  [0x201c, 0x201d],
  [0x2020, 0x2021],
  [0x2025, 0x2026],
  [0x2030, 0x2030],
  [0x2032, 0x2033],
  [0x203b, 0x203b],
  [0x2103, 0x2103],
  [0x2116, 0x2116],
  [0x2121, 0x2122],
  [0x2160, 0x217f],
  [0x2190, 0x21ff],
  [0x2200, 0x22ff],
  [0x2312, 0x2312],
  [0x2460, 0x24ff],
  [0x2500, 0x257f],
  [0x25a0, 0x25ff],
  [0x2600, 0x26ff],
  [0x2e80, 0x303e],
  [0x3041, 0x3096],
  [0x309b, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff01, 0xff60],
  [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f],
  [0x1f900, 0x1f9ff],
  [0x20000, 0x3fffd],
];

// Combining marks, the kana voicing marks (U+3099, U+309A), variation selectors, zero-width characters.
const ZERO: ReadonlyArray<readonly [number, number]> = [
  [0x0300, 0x036f],
  [0x200b, 0x200f],
  [0x3099, 0x309a],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
  [0xe0100, 0xe01ef],
];

const within = (ranges: ReadonlyArray<readonly [number, number]>, c: number): boolean => {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = ranges[mid]!;
    if (c < a) hi = mid - 1;
    else if (c > b) lo = mid + 1;
    else return true;
  }
  return false;
};

/** Columns of one character. */
export const charWidth = (c: number): number => (c < 0xa7 ? 1 : within(ZERO, c) ? 0 : within(WIDE, c) ? 2 : 1);

/** Columns of a line of text. */
export function textWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch.codePointAt(0)!);
  return w;
}
