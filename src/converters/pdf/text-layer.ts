// The invisible text layer over a page image, as a scanner's OCR layer: each
// run of the page's visible text (checked by untrusted-pages.ts) drawn in
// text render mode 3 (neither filled nor stroked: nothing shows, but viewers
// search, select and copy it), in one embedded CJK font subsetted to the
// glyphs used, each run stretched or squeezed horizontally so that its
// selection box covers the characters on the image.
import { readFileSync } from 'node:fs';
import fontkit from '@pdf-lib/fontkit';
import {
  beginText,
  endText,
  type PDFDocument,
  type PDFFont,
  type PDFOperator,
  type PDFPage,
  popGraphicsState,
  pushGraphicsState,
  setCharacterSqueeze,
  setFontAndSize,
  setTextMatrix,
  setTextRenderingMode,
  showText,
  TextRenderingMode,
} from 'pdf-lib';
import type { TextRun } from './protocol.js';

/** Debian's fonts-ipaexfont (scripts/system-deps.sh), then the alternatives' Japanese gothic. */
export const TEXT_FONT_PATHS = ['/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf', '/usr/share/fonts/truetype/fonts-japanese-gothic.ttf'];

const loaded = new Map<string, Uint8Array | null>();

/**
 * The bytes of the first font of `paths` that can be read, once per process;
 * null (and one line to `log`) when none can: documents then get no text layer.
 */
export function loadTextFont(paths: readonly string[], log: (line: string) => void): Uint8Array | null {
  const key = paths.join('\n');
  if (loaded.has(key)) return loaded.get(key) ?? null;
  let bytes: Uint8Array | null = null;
  for (const file of paths) {
    try {
      bytes = readFileSync(file);
      break;
    } catch {
      // try the next
    }
  }
  if (!bytes) log(`no font for the text layer at ${paths.join(' or ')}: converted documents get no searchable text; install fonts-ipaexfont`);
  loaded.set(key, bytes);
  return bytes;
}

/** One document's font: embedded (subsetted) the first time a page has text. */
export interface LayerFont {
  font: PDFFont;
  /** Code points the font has glyphs for: others are left out, not drawn as .notdef. */
  has: Set<number>;
}

export async function embedLayerFont(doc: PDFDocument, bytes: Uint8Array): Promise<LayerFont> {
  doc.registerFontkit(fontkit);
  const font = await doc.embedFont(bytes, { subset: true });
  return { font, has: new Set(font.getCharacterSet()) };
}

const drawable = (text: string, has: Set<number>): string => Array.from(text, (c) => (has.has(c.codePointAt(0) ?? -1) || c === ' ' ? c : '')).join('');

/** Puts `runs` on `page` invisibly; returns how many were drawn. */
export function drawTextLayer(page: PDFPage, layer: LayerFont, runs: readonly TextRun[]): number {
  const shown: Array<{ run: TextRun; text: string; natural: number }> = [];
  for (const run of runs) {
    const text = drawable(run.text, layer.has).trim();
    if (text.length === 0) continue;
    const natural = layer.font.widthOfTextAtSize(text, run.size);
    if (natural > 0) shown.push({ run, text, natural });
  }
  if (shown.length === 0) return 0;
  const key = page.node.newFontDictionary('T', layer.font.ref);
  const ops: PDFOperator[] = [pushGraphicsState(), beginText(), setTextRenderingMode(TextRenderingMode.Invisible)];
  for (const { run, text, natural } of shown) {
    ops.push(
      setFontAndSize(key, run.size),
      // Tz: horizontal scaling in percent, so the run ends where the original's did.
      setCharacterSqueeze(Math.min(10_000, Math.max(1, (100 * run.width) / natural))),
      setTextMatrix(run.dirX, run.dirY, -run.dirY, run.dirX, run.x, run.y),
      showText(layer.font.encodeText(text)),
    );
  }
  ops.push(endText(), popGraphicsState());
  page.pushOperators(...ops);
  return shown.length;
}
