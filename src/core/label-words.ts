// Small helpers the Japanese and English sentences share (labels-ja.ts, labels-en.ts).

/** Two digits: 9 -> "09". */
export const two = (n: number): string => String(n).padStart(2, '0');

/** A host name shown so that no mail client makes it a link again: www[.]example[.]jp. */
export const bracketed = (host: string): string => host.replace(/\./g, '[.]');

/** Joins Japanese and Latin words with one half-width space between them ("PDF を装った"), none between Japanese ones. */
export function spaced(...words: string[]): string {
  let out = '';
  for (const w of words) {
    if (!w) continue;
    const latinEnd = /[A-Za-z0-9)]$/.test(out);
    const latinStart = /^[A-Za-z0-9(]/.test(w);
    out += out && latinEnd !== latinStart ? ` ${w}` : w;
  }
  return out;
}
