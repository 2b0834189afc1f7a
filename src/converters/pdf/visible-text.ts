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

type Mupdf = typeof import('mupdf');
type StructuredText = InstanceType<Mupdf['StructuredText']>;

/** The rendered page: RGB, `stride` bytes a row, at `scale` pixels a point, page origin at (originX, originY). */
export interface PagePixels {
  /** A view of the pixels; asked again whenever WASM memory growth has detached the last one. */
  view: () => Uint8Array | Uint8ClampedArray;
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

class Stop extends Error {}

/**
 * Whether the box [x0,x1)x[y0,y1) of the page shows ink of colour (r,g,b):
 * the box's background (the most frequent colour on its edge) differs from
 * the colour, and some pixel inside is nearer the colour than the background.
 */
/** Edge colour counts of one box, by 4-bit-a-channel colour: reused, only the touched entries cleared. */
const edgeCounts = new Uint32Array(4096);
const touched: number[] = [];

function inked(pixels: Uint8Array | Uint8ClampedArray, stride: number, x0: number, y0: number, x1: number, y1: number, r: number, g: number, b: number, spend: (n: number) => void): boolean {
  let best = -1;
  let bestCount = 0;
  const edge = (at: number): void => {
    // 4 bits a channel: near colours of anti-aliased edges fall together.
    const key = ((pixels[at]! >> 4) << 8) | ((pixels[at + 1]! >> 4) << 4) | (pixels[at + 2]! >> 4);
    const n = ++edgeCounts[key]!;
    if (n === 1) touched.push(key);
    if (n > bestCount) {
      bestCount = n;
      best = at;
    }
  };
  for (let x = x0; x < x1; x++) {
    edge(y0 * stride + x * 3);
    edge((y1 - 1) * stride + x * 3);
  }
  for (let y = y0 + 1; y < y1 - 1; y++) {
    edge(y * stride + x0 * 3);
    edge(y * stride + (x1 - 1) * 3);
  }
  for (const key of touched) edgeCounts[key] = 0;
  touched.length = 0;
  spend(2 * (x1 - x0 + y1 - y0));
  const contrast = Math.max(Math.abs(pixels[best]! - r), Math.abs(pixels[best + 1]! - g), Math.abs(pixels[best + 2]! - b));
  if (contrast < MIN_CONTRAST) return false;
  const near = contrast / 2;
  spend((x1 - x0) * (y1 - y0));
  for (let y = y0; y < y1; y++) {
    let at = y * stride + x0 * 3;
    for (let x = x0; x < x1; x++, at += 3) {
      if (Math.abs(pixels[at]! - r) <= near && Math.abs(pixels[at + 1]! - g) <= near && Math.abs(pixels[at + 2]! - b) <= near) return true;
    }
  }
  return false;
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

/**
 * The characters of `stext` that `page` shows, as runs: one word (or a line
 * of CJK text) on one baseline. At most `maxChars` are looked at.
 */
export function visibleText(stext: StructuredText, page: PagePixels, maxChars: number): PageText {
  const runs: TextRun[] = [];
  let open: OpenRun | null = null;
  let lineDir: [number, number] = [1, 0];
  let seen = 0;
  let truncated = false;
  let budget = page.width * page.height * PIXEL_BUDGET_PER_PAGE_PIXEL;
  const spend = (n: number): void => {
    budget -= n;
  };
  let lastKept = false;
  let pixels = page.view();

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

  try {
    stext.walk({
      beginLine(_bbox, _wmode, dir) {
        close();
        const [dx = 1, dy = 0] = dir;
        const length = Math.hypot(dx, dy);
        lineDir = length > 0 && Number.isFinite(length) ? [dx / length, dy / length] : [1, 0];
        lastKept = false;
      },
      endLine() {
        close();
      },
      onChar(c, origin, _font, size, quad, color) {
        if (++seen > maxChars || budget <= 0) {
          truncated = true;
          throw new Stop();
        }
        if (DROPPED.test(c)) return;
        if (NEUTRAL_SPACE.test(c)) {
          // A word a run: its box then matches the word's even where our font spaces differently.
          close();
          return;
        }
        if (COMBINING.test(c)) {
          // A mark goes with the character it sits on.
          if (lastKept && open) open.text += c;
          return;
        }
        const [ox = 0, oy = 0] = origin;
        const q = quad as number[];
        const px0 = Math.max(0, Math.floor((Math.min(q[0]!, q[2]!, q[4]!, q[6]!) - page.originX) * page.scale));
        const py0 = Math.max(0, Math.floor((Math.min(q[1]!, q[3]!, q[5]!, q[7]!) - page.originY) * page.scale));
        const px1 = Math.min(page.width, Math.ceil((Math.max(q[0]!, q[2]!, q[4]!, q[6]!) - page.originX) * page.scale));
        const py1 = Math.min(page.height, Math.ceil((Math.max(q[1]!, q[3]!, q[5]!, q[7]!) - page.originY) * page.scale));
        const r = Math.round((color[0] ?? 0) * 255);
        const g = Math.round((color[1] ?? 0) * 255);
        const b = Math.round((color[2] ?? 0) * 255);
        const visible =
          Number.isFinite(size) &&
          size > 0 &&
          px1 - px0 >= MIN_BOX_PX &&
          py1 - py0 >= MIN_BOX_PX &&
          inked(pixels.byteLength > 0 ? pixels : (pixels = page.view()), page.stride, px0, py0, px1, py1, r, g, b, spend);
        lastKept = visible;
        if (!visible) {
          close();
          return;
        }
        const [ex = ox, ey = oy] = [quad[6], quad[7]]; // lower right: the end of the glyph's box on the baseline side
        // A new run when the size changes or the character does not follow the last one.
        if (open) {
          const gap = (ox - open.ex) * lineDir[0] + (oy - open.ey) * lineDir[1];
          if (Math.abs(size - open.size) > open.size * 0.02 || gap > size * 1.5 || gap < -size * 0.5) close();
        }
        open ??= { text: '', ox, oy, ex, ey, size, dx: lineDir[0], dy: lineDir[1] };
        open.text += c;
        open.ex = ex;
        open.ey = ey;
      },
    });
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
  }
  close();
  return { runs, truncated };
}
