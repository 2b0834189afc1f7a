// The parent's reading of the child's frames. Every value is untrusted until
// checked here, and checked before anything is allocated for it: a lying or
// compromised child gets `converter-failed`, never a big allocation or a page
// the limits do not allow.
import type { DocumentFailure, DocumentLimits } from '../../core/ports.js';
import type { ByteReader } from './byte-reader.js';
import {
  CHILD_FAILURES,
  FAILURE_HEAD_BYTES,
  MAX_DETAIL_BYTES,
  MAX_PAGE_POINTS,
  MAX_TEXT_FRAME_BYTES,
  PAGE_HEADER_BYTES,
  RUN_HEAD_BYTES,
  START_BODY_BYTES,
  TAG,
  TEXT_HEAD_BYTES,
  TEXT_TRUNCATED,
  type TextRun,
  UNSHOWN_CHARS,
} from './protocol.js';

export interface CheckedPage {
  index: number;
  width: number;
  height: number;
  widthPt: number;
  heightPt: number;
  /** The page's visible text, checked: every run starts on the page. */
  text: TextRun[];
  /** The child dropped part of the page's text (too many characters). */
  textTruncated: boolean;
  /** width * height * 3 bytes, row by row. */
  rgb: Buffer;
  /** Hands `rgb` back for a later page; it must not be read after this. */
  release(): void;
}

/** Page buffers kept for reuse: a few pages' worth, so pixels are not reallocated page after page. */
const SPARE_BUFFERS = 4;

export class ConversionError extends Error {
  constructor(
    readonly reason: DocumentFailure,
    detail: string,
  ) {
    super(detail);
  }
}

const garbage = (detail: string): ConversionError => new ConversionError('converter-failed', `rasterizer sent ${detail}`);

/** Thrown when the stream ends before the protocol does; the exit status says why. */
export class EndedEarly extends Error {}

async function need(reader: ByteReader, n: number, what: string): Promise<Buffer> {
  const bytes = await reader.read(n);
  if (!bytes) throw new EndedEarly(`rasterizer output ended before ${what}`);
  return bytes;
}

async function failure(reader: ByteReader): Promise<ConversionError> {
  const head = await need(reader, FAILURE_HEAD_BYTES, 'the failure detail');
  const untrustedCode = head[0] ?? 255;
  const untrustedLength = head.readUInt16BE(1);
  const code = CHILD_FAILURES[untrustedCode];
  if (code === undefined) return garbage(`an unknown failure code ${untrustedCode}`);
  if (untrustedLength > MAX_DETAIL_BYTES) return garbage(`a failure detail of ${untrustedLength} bytes`);
  const detail = (await need(reader, untrustedLength, 'the end of the failure detail')).toString('latin1').replace(/[^\x20-\x7e]/g, '?');
  switch (code) {
    case 'out-of-memory':
      return new ConversionError('converter-failed', `rasterizer ran out of memory: ${detail}`);
    case 'failed':
      return new ConversionError('converter-failed', `rasterizer failed: ${detail}`);
    default:
      return new ConversionError(code, detail);
  }
}

/** A page's pixel side must be what its point size gives at the asked DPI. */
const plausible = (pixels: number, points: number, dpi: number): boolean => Math.abs(pixels - (points * dpi) / 72) <= 2;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One page's runs from an untrusted 'T' body; anything malformed is garbage. */
function checkRuns(body: Buffer): TextRun[] {
  const runs: TextRun[] = [];
  let at = 0;
  while (at < body.length) {
    if (at + RUN_HEAD_BYTES > body.length) throw garbage('a text run cut short');
    const x = body.readFloatBE(at);
    const y = body.readFloatBE(at + 4);
    const width = body.readFloatBE(at + 8);
    const size = body.readFloatBE(at + 12);
    const dirX = body.readFloatBE(at + 16);
    const dirY = body.readFloatBE(at + 20);
    const untrustedLength = body.readUInt16BE(at + 24);
    at += RUN_HEAD_BYTES;
    if (at + untrustedLength > body.length) throw garbage(`a text run of ${untrustedLength} bytes past the end of its frame`);
    let text: string;
    try {
      text = utf8.decode(body.subarray(at, at + untrustedLength));
    } catch {
      throw garbage('a text run that is not UTF-8');
    }
    at += untrustedLength;
    if (!(Number.isFinite(x) && Number.isFinite(y) && Number.isFinite(width) && Number.isFinite(size) && Number.isFinite(dirX) && Number.isFinite(dirY))) {
      throw garbage('a text run with a position that is not a number');
    }
    if (Math.abs(x) > MAX_PAGE_POINTS || Math.abs(y) > MAX_PAGE_POINTS) throw garbage(`a text run at (${x}, ${y})`);
    if (!(size > 0 && size <= MAX_PAGE_POINTS) || !(width > 0 && width <= 2 * MAX_PAGE_POINTS)) throw garbage(`a text run of size ${size}, width ${width}`);
    if (Math.abs(Math.hypot(dirX, dirY) - 1) > 0.01) throw garbage(`a text run with direction (${dirX}, ${dirY})`);
    // Most runs have nothing to remove: test before building a new string.
    UNSHOWN_CHARS.lastIndex = 0;
    const shown = UNSHOWN_CHARS.test(text) ? text.replace(UNSHOWN_CHARS, '') : text;
    if (shown.trim().length > 0) runs.push({ text: shown, x, y, width, size, dirX, dirY });
  }
  return runs;
}

/** The 'T' frame of page `expected` (its tag already read). */
async function readText(reader: ByteReader, expected: number): Promise<{ runs: TextRun[]; truncated: boolean }> {
  const head = await need(reader, TEXT_HEAD_BYTES, `page ${expected + 1}'s text header`);
  const untrustedIndex = head.readUInt32BE(0);
  const untrustedFlags = head[4] ?? 255;
  const untrustedLength = head.readUInt32BE(5);
  if (untrustedIndex !== expected) throw garbage(`text of page ${untrustedIndex} where page ${expected}'s was due`);
  if ((untrustedFlags & ~TEXT_TRUNCATED) !== 0) throw garbage(`text flags ${untrustedFlags}`);
  if (untrustedLength > MAX_TEXT_FRAME_BYTES) throw garbage(`${untrustedLength} bytes of text for one page (limit ${MAX_TEXT_FRAME_BYTES})`);
  const body = untrustedLength === 0 ? Buffer.alloc(0) : await need(reader, untrustedLength, `the end of page ${expected + 1}'s text`);
  return { runs: checkRuns(body), truncated: (untrustedFlags & TEXT_TRUNCATED) !== 0 };
}

/** Runs whose start lies on the page (a point of slack for rounding); the rest cannot be shown there. */
const onPage = (runs: TextRun[], widthPt: number, heightPt: number): TextRun[] => runs.filter((r) => r.x >= -1 && r.x <= widthPt + 1 && r.y >= -1 && r.y <= heightPt + 1);

function checkHeader(head: Buffer, expected: number, limits: DocumentLimits): Omit<CheckedPage, 'rgb' | 'release' | 'text' | 'textTruncated'> {
  const untrustedIndex = head.readUInt32BE(0);
  const untrustedWidth = head.readUInt32BE(4);
  const untrustedHeight = head.readUInt32BE(8);
  const untrustedWidthPt = head.readDoubleBE(12);
  const untrustedHeightPt = head.readDoubleBE(20);
  if (untrustedIndex !== expected) throw garbage(`page ${untrustedIndex} where page ${expected} was due`);
  if (untrustedWidth < 1 || untrustedHeight < 1) throw garbage(`a page of ${untrustedWidth}x${untrustedHeight} pixels`);
  if (untrustedWidth * untrustedHeight > limits.maxPixelsPerPage) {
    throw garbage(`a page of ${untrustedWidth}x${untrustedHeight} pixels, over the limit of ${limits.maxPixelsPerPage}`);
  }
  for (const pt of [untrustedWidthPt, untrustedHeightPt]) {
    if (!Number.isFinite(pt) || pt <= 0 || pt > MAX_PAGE_POINTS) throw garbage(`a page side of ${pt} points`);
  }
  if (!plausible(untrustedWidth, untrustedWidthPt, limits.dpi) || !plausible(untrustedHeight, untrustedHeightPt, limits.dpi)) {
    throw garbage(`${untrustedWidth}x${untrustedHeight} pixels for a page of ${untrustedWidthPt}x${untrustedHeightPt} pt at ${limits.dpi} dpi`);
  }
  return { index: expected, width: untrustedWidth, height: untrustedHeight, widthPt: untrustedWidthPt, heightPt: untrustedHeightPt };
}

/** Checked pages in order; throws ConversionError or EndedEarly. */
export async function* checkedPages(reader: ByteReader, limits: DocumentLimits): AsyncGenerator<CheckedPage> {
  const spare: Buffer[] = [];
  const bufferFor = (bytes: number): Buffer => {
    const at = spare.findIndex((b) => b.length === bytes);
    return at >= 0 ? spare.splice(at, 1)[0]! : Buffer.allocUnsafeSlow(bytes);
  };
  const first = (await need(reader, 1, 'the page count'))[0];
  if (first === TAG.failure) throw await failure(reader);
  if (first !== TAG.start) throw garbage(`frame ${first} where the page count was due`);
  const untrustedCount = (await need(reader, START_BODY_BYTES, 'the page count')).readUInt32BE(0);
  if (untrustedCount < 1 || untrustedCount > limits.maxPages) throw garbage(`a page count of ${untrustedCount} (limit ${limits.maxPages})`);

  for (let index = 0; index < untrustedCount; index++) {
    const tag = (await need(reader, 1, `page ${index + 1}`))[0];
    if (tag === TAG.failure) throw await failure(reader);
    if (tag !== TAG.page) throw garbage(`frame ${tag} where page ${index + 1} was due`);
    const page = checkHeader(await need(reader, PAGE_HEADER_BYTES, `page ${index + 1}'s header`), index, limits);
    const bytes = page.width * page.height * 3;
    const buffer = bufferFor(bytes);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      if (spare.length < SPARE_BUFFERS) spare.push(buffer);
    };
    const rgb = await reader.readInto(buffer, bytes);
    if (!rgb) throw new EndedEarly(`rasterizer output ended before the end of page ${index + 1}'s pixels`);
    const textTag = (await need(reader, 1, `page ${index + 1}'s text`))[0];
    if (textTag === TAG.failure) throw await failure(reader);
    if (textTag !== TAG.text) throw garbage(`frame ${textTag} where page ${index + 1}'s text was due`);
    const text = await readText(reader, index);
    yield { ...page, text: onPage(text.runs, page.widthPt, page.heightPt), textTruncated: text.truncated, rgb, release };
  }
  const last = (await need(reader, 1, 'the end mark'))[0];
  if (last === TAG.failure) throw await failure(reader);
  if (last !== TAG.done) throw garbage(`frame ${last} where the end mark was due`);
}
