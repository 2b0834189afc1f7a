// OCR words -> text runs for the invisible text layer. Tesseract's words are
// untrusted guesses: they are grouped by the line Tesseract put them on and
// cut where a gap is wider than the line is tall (table cells stay apart);
// each piece becomes one run whose box is its words' box, mapped from page
// pixels (origin top left) to PDF points (origin bottom left) with the page's
// scale. Guesses that are likely garbage are left out: symbols alone read
// without confidence, pieces whose mean confidence is low (noise in a photo),
// pieces taller than a fifth of the page.
import type { TextRun } from '../pdf/protocol.js';
import type { OcrWord } from './types.js';

/** Mean confidence (by characters) under which a piece of a line is left out. */
export const MIN_RUN_CONFIDENCE = 50;
/** A word of symbols only (no letter, no digit) is kept only above this. */
const MIN_SYMBOL_CONFIDENCE = 80;
/** Share of the font size the ink of a line takes (IPAex, Latin capitals): ~0.85. */
const INK_PER_EM = 0.85;
/** IPAex's descent: the baseline sits this share of the size above the box's bottom. */
const DESCENT_PER_EM = 0.12;

export interface PageScale {
  /** Pixels. */
  width: number;
  height: number;
  /** Points. */
  widthPt: number;
  heightPt: number;
}

const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;
const WORD_CHAR = /[\p{Script=Latin}\p{N}]/u;

/** Latin words and numbers keep a space between them; Japanese does not. */
function join(words: readonly OcrWord[]): string {
  let text = '';
  for (const w of words) {
    const last = text.slice(-1);
    text += last && WORD_CHAR.test(last) && WORD_CHAR.test(w.text.charAt(0)) ? ` ${w.text}` : w.text;
  }
  return text;
}

function toRun(words: readonly OcrWord[], page: PageScale): TextRun | null {
  const chars = words.reduce((n, w) => n + w.text.length, 0);
  const confidence = words.reduce((n, w) => n + w.confidence * w.text.length, 0) / chars;
  if (confidence < MIN_RUN_CONFIDENCE) return null;
  const left = Math.min(...words.map((w) => w.x));
  const right = Math.max(...words.map((w) => w.x + w.width));
  const bottom = Math.max(...words.map((w) => w.y + w.height));
  const tall = Math.max(...words.map((w) => w.height));
  if (tall > page.height / 5) return null;
  const sx = page.widthPt / page.width;
  const sy = page.heightPt / page.height;
  const size = (tall * sy) / INK_PER_EM;
  const width = (right - left) * sx;
  if (!(size > 0 && width > 0)) return null;
  return { text: join(words), x: left * sx, y: page.heightPt - bottom * sy + DESCENT_PER_EM * size, width, size, dirX: 1, dirY: 0 };
}

/** The runs of one page's OCR words, in reading order. */
export function ocrRuns(words: readonly OcrWord[], page: PageScale): TextRun[] {
  const lines = new Map<number, OcrWord[]>();
  for (const w of words) {
    if (!LETTER_OR_DIGIT.test(w.text) && w.confidence < MIN_SYMBOL_CONFIDENCE) continue;
    const line = lines.get(w.line);
    if (line) line.push(w);
    else lines.set(w.line, [w]);
  }
  const runs: TextRun[] = [];
  for (const line of lines.values()) {
    line.sort((a, b) => a.x - b.x);
    const tall = Math.max(...line.map((w) => w.height));
    let piece: OcrWord[] = [];
    for (const w of line) {
      const last = piece[piece.length - 1];
      if (last && w.x - (last.x + last.width) > tall) {
        const run = toRun(piece, page);
        if (run) runs.push(run);
        piece = [];
      }
      piece.push(w);
    }
    const run = piece.length > 0 ? toRun(piece, page) : null;
    if (run) runs.push(run);
  }
  return runs;
}
