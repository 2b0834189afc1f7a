// The invisible text layer over a page image, as a scanner's OCR layer: each
// run of the page's visible text (checked by untrusted-pages.ts) drawn in
// text render mode 3 (neither filled nor stroked: nothing shows, but viewers
// search, select and copy it), in one embedded CJK font subsetted to the
// glyphs used, each run stretched or squeezed horizontally so that its
// selection box covers the characters on the image.
import { readFileSync } from 'node:fs';
import fontkit from '@pdf-lib/fontkit';
import type { PDFDocument, PDFFont, PDFPage } from 'pdf-lib';
import type { TextRun } from './protocol.js';
import { appendContent, pdfNumber } from './raw-content.js';

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
  has: ReadonlySet<number>;
  /** Each character's glyph code (in this document's subset) and width at size 1, looked up once. */
  glyphs: Map<number, { hex: string; width: number }>;
}

type Fontkit = Parameters<PDFDocument['registerFontkit']>[0];
type FontkitFont = ReturnType<Fontkit['create']>;

/**
 * The font parsed once per process (4 MB for IPAex Gothic): every document
 * embeds its own subset of it, but reading its tables again for each one, and
 * listing its characters, cost more than the text layer itself.
 */
const parsed = new Map<Uint8Array, { font: FontkitFont; has: ReadonlySet<number> }>();
const parsedOnce = (bytes: Uint8Array): { font: FontkitFont; has: ReadonlySet<number> } => {
  let p = parsed.get(bytes);
  if (!p) {
    const font = fontkit.create(bytes as Buffer);
    p = { font, has: new Set(font.characterSet) };
    parsed.set(bytes, p);
  }
  return p;
};

export async function embedLayerFont(doc: PDFDocument, bytes: Uint8Array): Promise<LayerFont> {
  const { font: shared, has } = parsedOnce(bytes);
  // pdf-lib asks its fontkit to parse the bytes: it gets the font parsed once.
  doc.registerFontkit({ create: (data: Uint8Array) => (data === bytes ? shared : fontkit.create(data as Buffer)) } as Fontkit);
  const font = await doc.embedFont(bytes, { subset: true });
  return { font, has, glyphs: new Map() };
}

/**
 * A run's glyph codes and its width at `size`, character by character (no
 * shaping: the text is not seen, and one glyph per character keeps what is
 * copied exactly what was read). Characters the font lacks are left out.
 */
function encoded(layer: LayerFont, text: string, size: number): { hex: string; width: number } {
  let hex = '';
  let width = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.codePointAt(i)!;
    if (code > 0xffff) i++;
    let g = layer.glyphs.get(code);
    if (!g) {
      if (!layer.has.has(code) && code !== 0x20) continue;
      const c = String.fromCodePoint(code);
      g = { hex: layer.font.encodeText(c).asString(), width: layer.font.widthOfTextAtSize(c, 1) };
      layer.glyphs.set(code, g);
    }
    hex += g.hex;
    width += g.width;
  }
  return { hex, width: width * size };
}

/** Puts `runs` on `page` invisibly; returns how many were drawn. */
export function drawTextLayer(page: PDFPage, layer: LayerFont, runs: readonly TextRun[]): number {
  const shown: Array<{ run: TextRun; hex: string; natural: number }> = [];
  for (const run of runs) {
    const text = run.text.trim();
    if (text.length === 0) continue;
    const { hex, width } = encoded(layer, text, run.size);
    if (hex.length > 0 && width > 0) shown.push({ run, hex, natural: width });
  }
  if (shown.length === 0) return 0;
  const key = page.node.newFontDictionary('T', layer.font.ref).toString();
  // 3 Tr: neither filled nor stroked. Tz (horizontal scaling, percent) makes the run end where the original's did.
  let content = 'q\nBT\n3 Tr\n';
  let size = '';
  for (const { run, hex, natural } of shown) {
    // Tf only where the size changes: most runs of a page share one.
    const runSize = pdfNumber(run.size);
    if (runSize !== size) content += `${key} ${(size = runSize)} Tf\n`;
    const squeeze = Math.min(10_000, Math.max(1, (100 * run.width) / natural));
    content += `${pdfNumber(squeeze)} Tz ${pdfNumber(run.dirX)} ${pdfNumber(run.dirY)} ${pdfNumber(-run.dirY)} ${pdfNumber(run.dirX)} ${pdfNumber(run.x)} ${pdfNumber(run.y)} Tm <${hex}> Tj\n`;
  }
  appendContent(page, `${content}ET\nQ\n`);
  return shown.length;
}
