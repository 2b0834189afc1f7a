// PDF -> pixels -> PDF. The PDF is rendered in a one-shot sandboxed rasterizer
// process from the warm pool; its frames are checked (untrusted-pages.ts) and
// each page becomes one JPEG on a page of the same size (image-pdf.ts). The
// deadline kills the process with SIGKILL. Pages without text are read by OCR
// (Tesseract in its own sandboxed process, ../ocr/) when limits.ocr asks,
// until OCR_MARGIN_MS before the deadline, so the PDF is still built in time.
import { randomUUID } from 'node:crypto';
import type { DocumentLimits, DocumentResult } from '../../core/ports.js';
import { buildImagePdf, type PageOcr } from './image-pdf.js';
import { ocrRuns } from '../ocr/ocr-runs.js';
import { ocrPage } from '../ocr/tesseract.js';
import { loadTextFont, TEXT_FONT_PATHS } from './text-layer.js';
import { type RasterizerProcess, startRasterizer } from './rasterizer-process.js';
import type { Isolation } from '../isolation.js';
import { rasterizerCommand } from './sandbox.js';
import { checkedPages, ConversionError, EndedEarly } from './untrusted-pages.js';
import { createWarmPool, type ProcessExit } from '../warm-pool.js';

export interface PdfConverterOptions {
  /**
   * How each rasterizer is isolated (decideIsolation): in bubblewrap, without
   * a sandbox where the policy allows that, or not at all (every PDF fails
   * with `no-sandbox`).
   */
  isolation: Isolation;
  /** Cap on one rasterizer's writable memory (heap, WASM, buffers), MiB. Default 1024. */
  memoryCapMb?: number;
  /** Processes kept started and waiting. Default 2. */
  warm?: number;
  /** Shown in each rasterizer's argv (`ps`), e.g. to tell gateways apart. */
  tag?: string;
  /** Font files for the invisible text layer, first found wins. Default TEXT_FONT_PATHS (IPAex Gothic). */
  textFontPaths?: readonly string[];
  /** Where a line about a missing text font goes. Default stderr. */
  log?: (line: string) => void;
  /** Cap on one OCR process's writable memory, MiB. Default 1024. */
  ocrMemoryCapMb?: number;
  /** How long before the deadline OCR stops, for the PDF to be built. Default OCR_MARGIN_MS. */
  ocrMarginMs?: number;
}

/** OCR stops this long before the document's deadline: the time left to draw its text and save the PDF. */
export const OCR_MARGIN_MS = 1500;

export interface PdfConverter {
  toImagePdf(untrustedPdf: Uint8Array, limits: DocumentLimits): Promise<DocumentResult>;
  /** Resolves once a started rasterizer waits, mupdf loaded and warm (false: it died first). */
  warm(): Promise<boolean>;
  close(): Promise<void>;
}

const describeExit = (exit: ProcessExit, memoryCapMb: number, stderr: string): string => {
  if (exit.error) return `rasterizer could not start: ${exit.error}`;
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  const memory = /out of memory|malloc|allocation failed|heap limit/i.test(stderr) ? ` (memory cap of ${memoryCapMb} MiB reached)` : '';
  const last = stderr.trim().split('\n').slice(-2).join(' | ').slice(0, 200);
  return `rasterizer ${how}${memory}${last ? `: ${last}` : ''}`;
};

export function createPdfConverter(opts: PdfConverterOptions): PdfConverter {
  const { isolation } = opts;
  if (isolation.mode === 'unavailable') return unavailable(isolation.why);
  const memoryCapMb = opts.memoryCapMb ?? 1024;
  const log = opts.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const command = rasterizerCommand({ isolation, memoryCapMb, tag: opts.tag ?? `mugaika-${randomUUID().slice(0, 8)}` });
  const pool = createWarmPool('rasterizer', () => startRasterizer(command), opts.warm ?? 2);

  async function convert(proc: RasterizerProcess, untrustedPdf: Uint8Array, limits: DocumentLimits): Promise<DocumentResult> {
    // A missing font means no text layer (and one logged line), never a failed document.
    const font = limits.textLayer ? loadTextFont(opts.textFontPaths ?? TEXT_FONT_PATHS, log) : null;
    proc.send({ dpi: limits.dpi, maxPages: limits.maxPages, maxPixelsPerPage: limits.maxPixelsPerPage, textLayer: font !== null }, untrustedPdf);
    const ocrDeadline = limits.deadline - (opts.ocrMarginMs ?? OCR_MARGIN_MS);
    const ocr: PageOcr | null =
      font && limits.ocr
        ? {
            maxPages: limits.ocr.maxPages,
            read: async (page) => {
              const r = await ocrPage(page, ocrDeadline, { isolation, ...(opts.ocrMemoryCapMb ? { memoryCapMb: opts.ocrMemoryCapMb } : {}) });
              return r.ok ? ocrRuns(r.words, page) : null;
            },
          }
        : null;
    try {
      const built = await buildImagePdf(checkedPages(proc.frames, limits), limits.jpegQuality, limits.maxOutputBytes, font, ocr);
      return {
        ok: true,
        pdf: built.pdf,
        pages: built.pages,
        textLayer: built.textLayer,
        ...(built.textTruncatedPages > 0 ? { textTruncatedPages: built.textTruncatedPages } : {}),
        ...(built.ocrPages > 0 ? { ocrPages: built.ocrPages } : {}),
        ...(built.ocrUnreadPages > 0 ? { ocrUnreadPages: built.ocrUnreadPages } : {}),
      };
    } catch (err) {
      if (err instanceof ConversionError) return { ok: false, reason: err.reason, detail: err.message };
      if (err instanceof EndedEarly) {
        const exit = await proc.exited;
        return { ok: false, reason: 'converter-failed', detail: describeExit(exit, memoryCapMb, proc.stderrTail()) };
      }
      return { ok: false, reason: 'converter-failed', detail: `could not build the image PDF: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300) };
    }
  }

  return {
    async toImagePdf(untrustedPdf, limits) {
      const left = limits.deadline - Date.now();
      if (left <= 0) return { ok: false, reason: 'timeout', detail: 'no time left to render the PDF' };
      let proc: RasterizerProcess;
      try {
        proc = pool.take();
      } catch (err) {
        return { ok: false, reason: 'converter-failed', detail: err instanceof Error ? err.message : String(err) };
      }
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<DocumentResult>((resolve) => {
        timer = setTimeout(() => {
          proc.kill();
          resolve({ ok: false, reason: 'timeout', detail: `rendering did not finish within ${left} ms; the rasterizer was killed` });
        }, left);
      });
      try {
        return await Promise.race([convert(proc, untrustedPdf, limits), expired]);
      } finally {
        clearTimeout(timer);
        proc.kill();
      }
    },
    warm: () => pool.warm(),
    close: () => pool.close(),
  };
}

/** Without a sandbox it may use, the converter starts nothing and fails closed. */
function unavailable(why: string): PdfConverter {
  const detail = `${why}; install bubblewrap, or set the PDF sandbox to 'none' only where the policy allows it`;
  return {
    toImagePdf: () => Promise.resolve({ ok: false, reason: 'no-sandbox', detail }),
    warm: () => Promise.resolve(false),
    close: () => Promise.resolve(),
  };
}
