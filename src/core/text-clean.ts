// Text that crosses must be plain: no control characters but TAB and line
// breaks, no bidirectional overrides that reorder what the reader sees, one
// kind of line break.

// C0 controls but TAB (09) and LF (0A); DEL and C1; CR is handled by newline
// normalisation first.
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;
// Bidi embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI).
const BIDI = /[\u202A-\u202E\u2066-\u2069]/g;

export interface CleanText {
  text: string;
  /** How many characters were dropped. */
  removed: number;
}

export function cleanText(input: string): CleanText {
  const unified = input.replace(/\r\n?/g, '\n');
  let removed = 0;
  const text = unified
    .replace(CONTROL, () => {
      removed++;
      return '';
    })
    .replace(BIDI, () => {
      removed++;
      return '';
    })
    // U+FFFD stays: it honestly shows a byte that did not decode.
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, () => {
      removed++;
      return '\uFFFD';
    });
  return { text, removed };
}

/** One header line's worth of text: no line breaks, no controls, bounded. */
export function cleanHeaderText(input: string, maxChars = 998): string {
  // "=?" could read as the start of an RFC 2047 word that is none: break it.
  const { text } = cleanText(input.replace(/[\r\n\t]+/g, ' ').replace(/=\?/g, '= ?'));
  // Runs of whitespace collapse to one space, but the ideographic space U+3000
  // is text, not folding: "山田　太郎" must not become "山田 太郎".
  const trimmed = text.replace(/[^\S\u3000]+/g, ' ').trim();
  return [...trimmed].slice(0, maxChars).join('');
}

export const hasBidiControl = (s: string): boolean => /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/.test(s);
