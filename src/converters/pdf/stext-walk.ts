// Walking mupdf's structured text character by character, in the rasterizer.
// mupdf.js's StructuredText.walk hands each character to JavaScript as new
// objects: its font wrapped in a Font registered with a FinalizationRegistry,
// its origin, quad and colour as fresh arrays. On a page of 2,500 characters
// that was most of the text layer's cost. Here the same accessors of mupdf's
// WASM module are called directly and the numbers passed on without
// allocating. The module is the Emscripten Module object mupdf.js creates
// from `globalThis.$libmupdf_wasm_Module` (mupdf.js's own hook for it); if
// it does not have every accessor this needs (another mupdf version), the
// public walk is used instead, with the same results.

type Mupdf = typeof import('mupdf');
type StructuredText = InstanceType<Mupdf['StructuredText']>;

/** One character at a time; return false to stop the walk. */
export interface CharVisitor {
  /** A new line, with its writing direction (not normalised). */
  line(dx: number, dy: number): void;
  /**
   * A character: its code point, baseline origin, size (points), its quad in
   * `quad` (ul, ur, ll, lr corners as x,y pairs, page points, top-down y;
   * valid during the call only) and its colour as 0xRRGGBB.
   */
  char(codePoint: number, ox: number, oy: number, size: number, quad: Float64Array, rgb: number): boolean;
}

export type CharWalk = (stext: StructuredText, visitor: CharVisitor) => void;

/** The accessors of mupdf's WASM module a direct walk calls. */
interface StextAccessors {
  HEAPF32: Float32Array;
  _wasm_stext_page_get_first_block(page: number): number;
  _wasm_stext_block_get_type(block: number): number;
  _wasm_stext_block_get_first_line(block: number): number;
  _wasm_stext_block_get_next(block: number): number;
  _wasm_stext_line_get_dir(line: number): number;
  _wasm_stext_line_get_first_char(line: number): number;
  _wasm_stext_line_get_next(line: number): number;
  _wasm_stext_char_get_c(ch: number): number;
  _wasm_stext_char_get_origin(ch: number): number;
  _wasm_stext_char_get_size(ch: number): number;
  _wasm_stext_char_get_quad(ch: number): number;
  _wasm_stext_char_get_argb(ch: number): number;
  _wasm_stext_char_get_next(ch: number): number;
}

const ACCESSORS = [
  '_wasm_stext_page_get_first_block',
  '_wasm_stext_block_get_type',
  '_wasm_stext_block_get_first_line',
  '_wasm_stext_block_get_next',
  '_wasm_stext_line_get_dir',
  '_wasm_stext_line_get_first_char',
  '_wasm_stext_line_get_next',
  '_wasm_stext_char_get_c',
  '_wasm_stext_char_get_origin',
  '_wasm_stext_char_get_size',
  '_wasm_stext_char_get_quad',
  '_wasm_stext_char_get_argb',
  '_wasm_stext_char_get_next',
] as const;

const TEXT_BLOCK = 0;

class Stop extends Error {}

/** mupdf.js's public walk, adapted: what the direct walk does, more slowly. */
export const publicWalk: CharWalk = (stext, visitor) => {
  const quad = new Float64Array(8);
  try {
    stext.walk({
      beginLine(_bbox, _wmode, dir) {
        visitor.line(dir[0] ?? 1, dir[1] ?? 0);
      },
      onChar(c, origin, _font, size, q, color) {
        for (let i = 0; i < 8; i++) quad[i] = (q as number[])[i] ?? 0;
        const rgb = (Math.round((color[0] ?? 0) * 255) << 16) | (Math.round((color[1] ?? 0) * 255) << 8) | Math.round((color[2] ?? 0) * 255);
        if (!visitor.char(c.codePointAt(0) ?? 0xfffd, origin[0] ?? 0, origin[1] ?? 0, size, quad, rgb)) throw new Stop();
      },
    });
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
  }
};

function directWalk(m: StextAccessors): CharWalk {
  const quad = new Float64Array(8);
  return (stext, visitor) => {
    for (let block = m._wasm_stext_page_get_first_block(stext.pointer); block; block = m._wasm_stext_block_get_next(block)) {
      if (m._wasm_stext_block_get_type(block) !== TEXT_BLOCK) continue;
      for (let line = m._wasm_stext_block_get_first_line(block); line; line = m._wasm_stext_line_get_next(line)) {
        const dir = m._wasm_stext_line_get_dir(line) >> 2;
        visitor.line(m.HEAPF32[dir]!, m.HEAPF32[dir + 1]!);
        for (let ch = m._wasm_stext_line_get_first_char(line); ch; ch = m._wasm_stext_char_get_next(ch)) {
          const code = m._wasm_stext_char_get_c(ch);
          const origin = m._wasm_stext_char_get_origin(ch) >> 2;
          const ox = m.HEAPF32[origin]!;
          const oy = m.HEAPF32[origin + 1]!;
          const size = m._wasm_stext_char_get_size(ch);
          const q = m._wasm_stext_char_get_quad(ch) >> 2;
          // Read after the last call: a view of memory that grew would be stale.
          const heap = m.HEAPF32;
          for (let i = 0; i < 8; i++) quad[i] = heap[q + i]!;
          if (!visitor.char(code, ox, oy, size, quad, m._wasm_stext_char_get_argb(ch) & 0xffffff)) return;
        }
      }
    }
  };
}

/**
 * The walk to use with the mupdf module whose Emscripten Module object is
 * `module` (the object mupdf.js was given as `$libmupdf_wasm_Module`), or
 * the public walk when that object lacks what the direct walk needs.
 */
export function charWalk(module: unknown): CharWalk {
  const m = module as Partial<Record<string, unknown>> | null;
  if (!m || !(m.HEAPF32 instanceof Float32Array) || !ACCESSORS.every((name) => typeof m[name] === 'function')) return publicWalk;
  return directWalk(m as unknown as StextAccessors);
}
