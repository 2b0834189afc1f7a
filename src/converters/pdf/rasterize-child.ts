// The rasterizer process: one untrusted PDF in, raw RGB pages out, then exit.
// It runs mupdf (WASM) inside the sandbox that rasterizer-process.ts builds and
// talks only through protocol.ts. Nothing here is trusted by the parent.
import { write, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import {
  type ChildFailure,
  encodeDone,
  encodeFailure,
  encodePageHeader,
  encodeStart,
  encodeText,
  MAX_PAGE_POINTS,
  MAX_TEXT_CHARS_PER_PAGE,
  READY_LINE,
  type RasterJob,
  type TextRun,
} from './protocol.js';
import { charWalk, type CharWalk } from './stext-walk.js';
import { STEXT_OPTIONS, visibleText } from './visible-text.js';

// stdout carries frames only: whatever a library prints goes to stderr.
console.log = console.error;
console.info = console.error;
console.debug = console.error;

const writeAsync = promisify(write);

class Refusal extends Error {
  constructor(
    readonly code: ChildFailure,
    detail: string,
  ) {
    super(detail);
  }
}

function writeAll(bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.byteLength) at += writeSync(1, bytes, at, bytes.byteLength - at);
}

/** writeAll on a libuv thread: this thread goes on meanwhile. `bytes` must stay valid until it resolves. */
async function writeAllOffThread(bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.byteLength;) at += (await writeAsync(1, bytes, at, bytes.byteLength - at, null)).bytesWritten;
}

/** A page's rows without the padding mupdf may put at the end of each. */
function packedRows(pixels: Uint8Array | Uint8ClampedArray, width: number, height: number, stride: number): Buffer {
  const row = width * 3;
  const out = Buffer.allocUnsafe(row * height);
  for (let y = 0; y < height; y++) out.set(pixels.subarray(y * stride, y * stride + row), y * row);
  return out;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseJob(input: Buffer): { job: RasterJob; pdf: Uint8Array } {
  if (input.length < 4) throw new Refusal('failed', 'no job header on stdin');
  const length = input.readUInt32BE(0);
  const job = JSON.parse(input.subarray(4, 4 + length).toString('utf8')) as RasterJob;
  return { job, pdf: input.subarray(4 + length) };
}

/** Pixel size of a page as mupdf will round it (fz_round_rect). */
function pixelSize(bounds: readonly number[], scale: number): { width: number; height: number } {
  const [x0 = 0, y0 = 0, x1 = 0, y1 = 0] = bounds;
  return {
    width: Math.ceil(x1 * scale - 0.001) - Math.floor(x0 * scale + 0.001),
    height: Math.ceil(y1 * scale - 0.001) - Math.floor(y0 * scale + 0.001),
  };
}

type Mupdf = typeof import('mupdf');

/** Times the warm-up page's text is read (about 2,000 characters each, ~2 ms once optimised). */
const WARM_TEXT_READS = 12;

/**
 * Renders a page we make ourselves (text in a base-14 font, paths, a JPEG and
 * a flate image) once, so that the functions a job needs are compiled before
 * the job arrives: under --no-liftoff each is compiled on its first call.
 */
function warmUp(mupdf: Mupdf, walk: CharWalk, dpi: number): void {
  const doc = new mupdf.PDFDocument();
  const square = new mupdf.Pixmap(mupdf.ColorSpace.DeviceRGB, [0, 0, 64, 64], false);
  square.clear(200);
  const resources = doc.addObject({
    Font: { F1: doc.addSimpleFont(new mupdf.Font('Helvetica')) },
    XObject: { I1: doc.addImage(new mupdf.Image(square.asJPEG(80))), I2: doc.addImage(new mupdf.Image(square)) },
  });
  const lines = Array.from({ length: 40 }, (_, i) => `BT /F1 11 Tf 50 ${780 - i * 16} Td (${i}: The quick brown fox jumps over the lazy dog 0123456789) Tj ET`);
  const contents = [...lines, '0 0 1 rg 300 300 100 100 re f 1 0 0 RG 2 w 50 50 m 500 400 l S', 'q 100 0 0 100 200 200 cm /I1 Do Q q 50 0 0 50 400 100 cm /I2 Do Q'].join('\n');
  doc.insertPage(-1, doc.addPage([0, 0, 595, 842], 0, resources, contents));
  const page = doc.loadPage(0);
  const scale = dpi / 72;
  const list = page.toDisplayList(true);
  const pixmap = list.toPixmap(mupdf.Matrix.scale(scale, scale), mupdf.ColorSpace.DeviceRGB, false);
  const stext = list.toStructuredText(STEXT_OPTIONS);
  const pixels = { pixels: pixmap.getPixels(), width: pixmap.getWidth(), height: pixmap.getHeight(), stride: pixmap.getStride(), scale, originX: 0, originY: 0, heightPt: 842 };
  // Read its text several times: V8 optimises the character walk and the ink
  // check only after many calls, and a cold first document paid 3-4x for its text.
  for (let i = 0; i < WARM_TEXT_READS; i++) visibleText((visitor) => walk(stext, visitor), pixels, MAX_TEXT_CHARS_PER_PAGE);
  stext.destroy();
  pixmap.destroy();
  list.destroy();
  page.destroy();
  doc.destroy();
}

const isMemoryError = (message: string): boolean => /malloc|out of memory|memory access out of bounds|allocation failed/i.test(message);

async function main(): Promise<void> {
  // Load and compile the WASM before the job arrives: this is what a warm process saves.
  // mupdf.js builds its Emscripten module on this object: the text walk reads it directly.
  const wasmModule: Record<string, unknown> = {};
  (globalThis as Record<string, unknown>)['$libmupdf_wasm_Module'] = wasmModule;
  const mupdf = await import('mupdf');
  const walk = charWalk(wasmModule);
  try {
    warmUp(mupdf, walk, 150);
  } catch (err) {
    // Only speed is lost: the job compiles what it needs as it goes.
    process.stderr.write(`warm-up failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.stderr.write(`${READY_LINE}\n`);
  let logged = 0;
  mupdf.setLog((message: string) => {
    if (logged++ < 50) process.stderr.write(`mupdf: ${message.slice(0, 200)}\n`);
  });
  const { job, pdf } = parseJob(await readStdin());

  let doc: InstanceType<typeof mupdf.PDFDocument>;
  try {
    doc = new mupdf.PDFDocument(pdf);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (isMemoryError(message)) throw err;
    throw new Refusal('undecodable', `not a readable PDF: ${message}`);
  }
  if (doc.needsPassword() && !doc.authenticatePassword('')) throw new Refusal('encrypted', 'the PDF needs a password to open');
  const count = doc.countPages();
  if (count < 1) throw new Refusal('undecodable', 'the PDF has no pages');
  if (count > job.maxPages) throw new Refusal('too-many-pages', `${count} pages > ${job.maxPages}`);

  // Decide every page's size before rendering any.
  const scale = job.dpi / 72;
  const sizes: Array<{ bounds: number[]; width: number; height: number }> = [];
  for (let i = 0; i < count; i++) {
    const page = doc.loadPage(i);
    const bounds = page.getBounds();
    page.destroy();
    const [x0 = 0, y0 = 0, x1 = 0, y1 = 0] = bounds;
    const wPt = x1 - x0;
    const hPt = y1 - y0;
    if (!Number.isFinite(wPt) || !Number.isFinite(hPt) || wPt <= 0 || hPt <= 0) throw new Refusal('undecodable', `page ${i + 1} has an empty or invalid size`);
    if (wPt > MAX_PAGE_POINTS || hPt > MAX_PAGE_POINTS) throw new Refusal('page-too-large', `page ${i + 1} is ${Math.round(wPt)}x${Math.round(hPt)} pt`);
    const px = pixelSize(bounds, scale);
    if (px.width * px.height > job.maxPixelsPerPage) {
      throw new Refusal('page-too-large', `page ${i + 1} would be ${px.width}x${px.height} pixels > ${job.maxPixelsPerPage}`);
    }
    sizes.push({ bounds, ...px });
  }
  writeAll(encodeStart(count));

  for (let i = 0; i < count; i++) {
    const size = sizes[i];
    if (!size) throw new Refusal('failed', 'page table out of step');
    const page = doc.loadPage(i);
    // Interpreted once; the pixels and the text both come from this list.
    const list = page.toDisplayList(true);
    const pixmap = list.toPixmap(mupdf.Matrix.scale(scale, scale), mupdf.ColorSpace.DeviceRGB, false);
    const width = pixmap.getWidth();
    const height = pixmap.getHeight();
    const stride = pixmap.getStride();
    const [x0 = 0, y0 = 0, x1 = 0, y1 = 0] = size.bounds;
    // The structured text is made before the pixels are handed over: it is
    // the last step that allocates WASM memory, whose growth would detach
    // the pixels' view while they are being written.
    const stext = job.textLayer ? list.toStructuredText(STEXT_OPTIONS) : null;
    const pixels = pixmap.getPixels();
    writeAll(encodePageHeader(i, width, height, x1 - x0, y1 - y0));
    const row = width * 3;
    // The pixels go out on a libuv thread while this one reads the page's
    // text from the same pixels: the text costs little more than sending alone.
    const sent = stride === row ? writeAllOffThread(new Uint8Array(pixels.buffer, pixels.byteOffset, row * height)) : writeAllOffThread(packedRows(pixels, width, height, stride));
    let text: { runs: TextRun[]; truncated: boolean } = { runs: [], truncated: false };
    try {
      if (stext) text = visibleText((visitor) => walk(stext, visitor), { pixels, width, height, stride, scale, originX: x0, originY: y0, heightPt: y1 - y0 }, MAX_TEXT_CHARS_PER_PAGE);
    } finally {
      // Whatever happened, the write must end before its memory can be freed.
      await sent;
    }
    if (pixels.byteLength === 0) throw new Refusal('failed', 'the page memory moved while its pixels were sent');
    writeAll(encodeText(i, text.runs, text.truncated));
    stext?.destroy();
    list.destroy();
    pixmap.destroy();
    page.destroy();
  }
  writeAll(encodeDone());
}

try {
  await main();
  process.exit(0);
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  const code: ChildFailure = err instanceof Refusal ? err.code : isMemoryError(message) ? 'out-of-memory' : 'failed';
  try {
    writeAll(encodeFailure(code, message));
  } catch {
    // The parent is gone or stopped reading; nothing left to tell.
  }
  process.exit(1);
}
