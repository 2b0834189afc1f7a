// The text of a page that its pixels show, read in the rasterizer process.
// mupdf's structured text lists every character the page's content draws,
// seen or not; a character is kept only when the pixels we rendered show ink
// of its colour inside its box, against the box's own background. White on
// white, text outside the page or clipped away, text of no size, in a hidden
// layer, or covered by a solid image or shape leaves no such ink and is left
// out, so the text layer never says what the page does not show.
// Limits: text drawn over other ink of its own colour, or under a busy photo,
// can pass; the pixels cannot tell it apart.
import { type TextRun, UNSHOWN_CHARS } from './protocol.js';
import type { CharVisitor } from './stext-walk.js';

/** The rendered page: RGB, `stride` bytes a row, at `scale` pixels a point, page origin at (originX, originY). */
export interface PagePixels {
  /**
   * The pixels: a view of WASM memory, taken after the last step that
   * allocates there (the structured text), so nothing detaches it meanwhile.
   */
  pixels: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  stride: number;
  scale: number;
  originX: number;
  originY: number;
  /** Page height in points, to turn mupdf's top-down y into PDF's bottom-up. */
  heightPt: number;
}

export interface PageText {
  runs: TextRun[];
  /** Characters past the limit were not looked at; the page's text is incomplete. */
  truncated: boolean;
}

/** Options for mupdf's structured text: no ActualText substitutions, nothing outside the clip or media box. */
export const STEXT_OPTIONS = 'ignore-actualtext,clip';

/** Smallest character box that can show a glyph, in pixels a side. */
const MIN_BOX_PX = 2;
/** How far (largest channel difference, 0-255) a text colour must stand from its background to be seen. */
const MIN_CONTRAST = 48;
/** Pixels a character may have looked at, per page pixel: beyond it the rest of the page's text is dropped. */
const PIXEL_BUDGET_PER_PAGE_PIXEL = 4;

const DROPPED = new RegExp(UNSHOWN_CHARS.source, 'u');
const NEUTRAL_SPACE = /\s/u;
const COMBINING = /\p{M}/u;

/** Edge colour counts of one box, by 4-bit-a-channel colour: reused, only the touched entries cleared. */
const edgeCounts = new Uint32Array(4096);
const touched: number[] = [];

/**
 * Whether the box [x0,x1)x[y0,y1) of the page shows ink of colour (r,g,b):
 * the box's background (the most frequent colour on its edge) differs from
 * the colour, and some pixel inside is nearer the colour than the background.
 * Returns the pixels looked at, negated when there was no ink (so 0 looked
 * at is never "inked").
 */
/** The 4-bit-a-channel colour key of the pixel at `at`: near colours of anti-aliased edges fall together. */
const keyAt = (pixels: Uint8Array | Uint8ClampedArray, at: number): number => ((pixels[at]! >> 4) << 8) | ((pixels[at + 1]! >> 4) << 4) | (pixels[at + 2]! >> 4);

/** Where each side of the box's edge starts, and the step along it: top and bottom rows, then the columns between. */
function edgeSide(side: number, stride: number, x0: number, y0: number, x1: number, y1: number): { at: number; step: number; count: number } {
  if (side === 0) return { at: y0 * stride + x0 * 3, step: 3, count: x1 - x0 };
  if (side === 1) return { at: (y1 - 1) * stride + x0 * 3, step: 3, count: x1 - x0 };
  return { at: (y0 + 1) * stride + (side === 2 ? x0 : x1 - 1) * 3, step: stride, count: Math.max(0, y1 - y0 - 2) };
}

/**
 * The offset of a pixel of the most frequent colour (by key) on the box's
 * edge. Most boxes sit on one plain background: a first pass counts the
 * first pixel's colour and stops once it is more than half the edge; only a
 * mixed edge is counted colour by colour.
 */
function background(pixels: Uint8Array | Uint8ClampedArray, stride: number, x0: number, y0: number, x1: number, y1: number, edgeLength: number): number {
  const first = y0 * stride + x0 * 3;
  const firstKey = keyAt(pixels, first);
  const half = edgeLength >> 1;
  let same = 0;
  for (let side = 0; side < 4; side++) {
    const { at: start, step, count } = edgeSide(side, stride, x0, y0, x1, y1);
    for (let i = 0, at = start; i < count; i++, at += step) {
      if (keyAt(pixels, at) === firstKey && ++same > half) return first;
    }
  }
  let best = first;
  let bestCount = 0;
  for (let side = 0; side < 4; side++) {
    const { at: start, step, count } = edgeSide(side, stride, x0, y0, x1, y1);
    for (let i = 0, at = start; i < count; i++, at += step) {
      const key = keyAt(pixels, at);
      const n = ++edgeCounts[key]!;
      if (n === 1) touched.push(key);
      if (n > bestCount) {
        bestCount = n;
        best = at;
      }
    }
  }
  for (const key of touched) edgeCounts[key] = 0;
  touched.length = 0;
  return best;
}

/**
 * Whether the box [x0,x1)x[y0,y1) of the page shows ink of colour (r,g,b):
 * the box's background (the most frequent colour on its edge) differs from
 * the colour, and some pixel inside is nearer the colour than the background.
 * Returns the pixels looked at, negated when there was no ink (so 0 looked
 * at is never "inked").
 */
function inked(pixels: Uint8Array | Uint8ClampedArray, stride: number, x0: number, y0: number, x1: number, y1: number, r: number, g: number, b: number): number {
  const edgeSpan = 2 * (x1 - x0) + 2 * Math.max(0, y1 - y0 - 2);
  const best = background(pixels, stride, x0, y0, x1, y1, edgeSpan);
  const contrast = Math.max(Math.abs(pixels[best]! - r), Math.abs(pixels[best + 1]! - g), Math.abs(pixels[best + 2]! - b));
  if (contrast < MIN_CONTRAST) return -edgeSpan;
  const near = contrast / 2;
  // Rows from the middle outwards: a glyph's ink is most often there.
  const middle = (y0 + y1) >> 1;
  let looked = edgeSpan;
  for (let k = 0; k < y1 - y0; k++) {
    const y = k & 1 ? middle - ((k + 1) >> 1) : middle + (k >> 1);
    if (y < y0 || y >= y1) continue;
    let at = y * stride + x0 * 3;
    for (let x = x0; x < x1; x++, at += 3) {
      if (Math.abs(pixels[at]! - r) <= near && Math.abs(pixels[at + 1]! - g) <= near && Math.abs(pixels[at + 2]! - b) <= near) return looked + (x - x0) + 1;
    }
    looked += x1 - x0;
  }
  return -looked;
}

interface OpenRun {
  text: string;
  /** Baseline origin of the first character, page points, mupdf coordinates. */
  ox: number;
  oy: number;
  /** Where the last kept character's box ends along the baseline. */
  ex: number;
  ey: number;
  size: number;
  dx: number;
  dy: number;
}

/** What a character is, for the text layer. */
const enum Kind {
  Dropped = 1,
  Space = 2,
  Mark = 3,
  Shown = 4,
}

/** Kinds of the Basic Multilingual Plane's characters, found once each. */
const kinds = new Uint8Array(0x10000);

function kindOf(code: number): Kind {
  if (code < 0x10000 && kinds[code] !== 0) return kinds[code] as Kind;
  if (code < 0 || code > 0x10ffff) return Kind.Dropped;
  const c = String.fromCodePoint(code);
  const kind = DROPPED.test(c) ? Kind.Dropped : NEUTRAL_SPACE.test(c) ? Kind.Space : COMBINING.test(c) ? Kind.Mark : Kind.Shown;
  if (code < 0x10000) kinds[code] = kind;
  return kind;
}

/**
 * The characters that `page` shows of the structured text `walk` reads, as
 * runs: one word (or a line of CJK text) on one baseline. At most `maxChars`
 * are looked at.
 */
export function visibleText(walk: (visitor: CharVisitor) => void, page: PagePixels, maxChars: number): PageText {
  const runs: TextRun[] = [];
  let open: OpenRun | null = null;
  let dirX = 1;
  let dirY = 0;
  let seen = 0;
  let truncated = false;
  let budget = page.width * page.height * PIXEL_BUDGET_PER_PAGE_PIXEL;
  let lastKept = false;
  const { pixels } = page;

  const close = (): void => {
    if (open && open.text.length > 0) {
      const width = (open.ex - open.ox) * open.dx + (open.ey - open.oy) * open.dy;
      if (width > 0 && Number.isFinite(width)) {
        runs.push({
          text: open.text,
          x: open.ox - page.originX,
          y: page.heightPt - (open.oy - page.originY),
          width,
          size: open.size,
          dirX: open.dx,
          dirY: -open.dy,
        });
      }
    }
    open = null;
  };

  walk({
    line(dx, dy) {
      close();
      const length = Math.hypot(dx, dy);
      const ok = length > 0 && Number.isFinite(length);
      dirX = ok ? dx / length : 1;
      dirY = ok ? dy / length : 0;
      lastKept = false;
    },
    char(code, ox, oy, size, q, rgb) {
      if (++seen > maxChars || budget <= 0) {
        truncated = true;
        return false;
      }
      const kind = kindOf(code);
      if (kind === Kind.Dropped) return true;
      if (kind === Kind.Space) {
        // A word a run: its box then matches the word's even where our font spaces differently.
        close();
        return true;
      }
      if (kind === Kind.Mark) {
        // A mark goes with the character it sits on.
        if (lastKept && open) open.text += String.fromCodePoint(code);
        return true;
      }
      const px0 = Math.max(0, Math.floor((Math.min(q[0]!, q[2]!, q[4]!, q[6]!) - page.originX) * page.scale));
      const py0 = Math.max(0, Math.floor((Math.min(q[1]!, q[3]!, q[5]!, q[7]!) - page.originY) * page.scale));
      const px1 = Math.min(page.width, Math.ceil((Math.max(q[0]!, q[2]!, q[4]!, q[6]!) - page.originX) * page.scale));
      const py1 = Math.min(page.height, Math.ceil((Math.max(q[1]!, q[3]!, q[5]!, q[7]!) - page.originY) * page.scale));
      let visible = Number.isFinite(size) && size > 0 && px1 - px0 >= MIN_BOX_PX && py1 - py0 >= MIN_BOX_PX;
      if (visible) {
        const looked = inked(pixels, page.stride, px0, py0, px1, py1, (rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255);
        budget -= Math.abs(looked);
        visible = looked > 0;
      }
      lastKept = visible;
      if (!visible) {
        close();
        return true;
      }
      const ex = q[6]!; // lower right: the end of the glyph's box on the baseline side
      const ey = q[7]!;
      // A new run when the size changes or the character does not follow the last one.
      if (open) {
        const gap = (ox - open.ex) * dirX + (oy - open.ey) * dirY;
        if (Math.abs(size - open.size) > open.size * 0.02 || gap > size * 1.5 || gap < -size * 0.5) close();
      }
      open ??= { text: '', ox, oy, ex, ey, size, dx: dirX, dy: dirY };
      open.text += String.fromCodePoint(code);
      open.ex = ex;
      open.ey = ey;
      return true;
    },
  });
  close();
  return { runs, truncated };
}
