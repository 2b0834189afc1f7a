// The tiny protocol between the parent and a rasterizer process (Dangerzone's
// pattern). Parent -> child on stdin: a job header, then the untrusted PDF
// bytes until EOF. Child -> parent on stdout, big-endian frames:
//   'S' u32 pageCount
//   'P' u32 index, u32 width, u32 height, f64 widthPt, f64 heightPt, then width*height*3 RGB bytes
//   'T' u32 index, u8 flags (1: truncated), u32 length, then runs (encodeText), after each page's 'P'
//       (the child reads a page's text while its pixels are on their way)
//   'F' u8 failure code, u16 length, ASCII detail
//   'D' (done)
// Everything the child sends is untrusted: the parent checks every value
// (untrusted-pages.ts) before it allocates or uses it.

/**
 * Written to stderr once the child has loaded mupdf. From then on it is known
 * to be inside its sandbox, set to die with its parent, so SIGKILL leaves
 * nothing behind (killing bubblewrap while it is still setting up can orphan
 * its inner process).
 */
export const READY_LINE = 'rasterizer ready';

/** What the parent asks of the child; sent before the document's bytes. */
export interface RasterJob {
  dpi: number;
  maxPages: number;
  maxPixelsPerPage: number;
  /** Read each page's visible text (visible-text.ts); without it every 'T' frame is empty. */
  textLayer: boolean;
}

/**
 * Visible text on one baseline: from (x, y), page points, PDF coordinates
 * (origin bottom left), `width` points along the unit direction (dirX, dirY),
 * at `size` points.
 */
export interface TextRun {
  text: string;
  x: number;
  y: number;
  width: number;
  size: number;
  dirX: number;
  dirY: number;
}

/** Characters of one page the child looks at; past it the rest is dropped and the page marked truncated. */
export const MAX_TEXT_CHARS_PER_PAGE = 100_000;
/** Bytes of one page's runs: every character in a run of its own, 4 UTF-8 bytes each, fits. */
export const MAX_TEXT_FRAME_BYTES = MAX_TEXT_CHARS_PER_PAGE * 32;
export const TEXT_HEAD_BYTES = 4 + 1 + 4;
/** Each run: six f32 (x, y, width, size, dirX, dirY), u16 text bytes, then the UTF-8 text. */
export const RUN_HEAD_BYTES = 6 * 4 + 2;
export const TEXT_TRUNCATED = 1;
/**
 * Characters never put in the text layer: controls, bidi controls and other
 * invisible format characters, lone surrogates. Combining marks are kept.
 */
export const UNSHOWN_CHARS = /[\p{Cc}\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\p{Cs}]/gu;

export const TAG = { start: 0x53, text: 0x54, page: 0x50, failure: 0x46, done: 0x44 } as const;

export const START_BODY_BYTES = 4;
export const PAGE_HEADER_BYTES = 4 + 4 + 4 + 8 + 8;
export const FAILURE_HEAD_BYTES = 1 + 2;
export const MAX_DETAIL_BYTES = 300;

/** The largest page side PDF allows (ISO 32000: 14,400 units). */
export const MAX_PAGE_POINTS = 14_400;

/** Failures the child may report; codes cross the boundary, never objects. */
export const CHILD_FAILURES = ['encrypted', 'too-many-pages', 'page-too-large', 'undecodable', 'out-of-memory', 'failed'] as const;
export type ChildFailure = (typeof CHILD_FAILURES)[number];

/** The job header: u32 length, then the job as JSON. */
export function encodeJob(job: RasterJob): Buffer {
  const json = Buffer.from(JSON.stringify(job), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(json.length, 0);
  return Buffer.concat([head, json]);
}

export function encodeStart(pageCount: number): Buffer {
  const b = Buffer.alloc(1 + START_BODY_BYTES);
  b[0] = TAG.start;
  b.writeUInt32BE(pageCount, 1);
  return b;
}

export function encodePageHeader(index: number, width: number, height: number, widthPt: number, heightPt: number): Buffer {
  const b = Buffer.alloc(1 + PAGE_HEADER_BYTES);
  b[0] = TAG.page;
  b.writeUInt32BE(index, 1);
  b.writeUInt32BE(width, 5);
  b.writeUInt32BE(height, 9);
  b.writeDoubleBE(widthPt, 13);
  b.writeDoubleBE(heightPt, 21);
  return b;
}

/** One page's 'T' frame; runs past MAX_TEXT_FRAME_BYTES are left out and the page marked truncated. */
export function encodeText(index: number, runs: readonly TextRun[], truncated: boolean): Buffer {
  let length = 0;
  let cut = truncated;
  let fit = 0;
  for (const run of runs) {
    const bytes = Buffer.byteLength(run.text, 'utf8');
    if (bytes > 0xffff || length + RUN_HEAD_BYTES + bytes > MAX_TEXT_FRAME_BYTES) {
      cut = true;
      break;
    }
    length += RUN_HEAD_BYTES + bytes;
    fit++;
  }
  const b = Buffer.alloc(1 + TEXT_HEAD_BYTES + length);
  b[0] = TAG.text;
  b.writeUInt32BE(index, 1);
  b[5] = cut ? TEXT_TRUNCATED : 0;
  b.writeUInt32BE(length, 6);
  let at = 1 + TEXT_HEAD_BYTES;
  for (let i = 0; i < fit; i++) {
    const run = runs[i]!;
    b.writeFloatBE(run.x, at);
    b.writeFloatBE(run.y, at + 4);
    b.writeFloatBE(run.width, at + 8);
    b.writeFloatBE(run.size, at + 12);
    b.writeFloatBE(run.dirX, at + 16);
    b.writeFloatBE(run.dirY, at + 20);
    const bytes = b.write(run.text, at + RUN_HEAD_BYTES, 'utf8');
    b.writeUInt16BE(bytes, at + 24);
    at += RUN_HEAD_BYTES + bytes;
  }
  return b;
}

export function encodeFailure(code: ChildFailure, detail: string): Buffer {
  const text = Buffer.from(detail.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_DETAIL_BYTES), 'latin1');
  const b = Buffer.alloc(1 + FAILURE_HEAD_BYTES + text.length);
  b[0] = TAG.failure;
  b[1] = CHILD_FAILURES.indexOf(code);
  b.writeUInt16BE(text.length, 2);
  text.copy(b, 4);
  return b;
}

export const encodeDone = (): Buffer => Buffer.from([TAG.done]);
