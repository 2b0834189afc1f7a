// Office documents to PDF with LibreOffice, one sandbox per document, taken
// from a warm pool. Fails closed: without a working bubblewrap every document
// fails with `no-sandbox` unless the policy explicitly allows running
// unsandboxed.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAnswer } from './answer.js';
import { startOfficeProcess, type OfficeProcess } from './office-process.js';
import { sandboxedCommand, unsandboxedCommand } from './sandbox.js';
import { MAX_SHEETS } from './sheet-answer.js';
import { SHEET_FORMATS, type OfficeConverter, type OfficeConverterOptions, type OfficeFormat, type OfficeResult } from './types.js';
import type { SheetValuesRequest } from '../../core/ports.js';
import { createWarmPool, type ProcessExit } from '../warm-pool.js';

const DEFAULTS = { warmSlots: 1, memoryCapMb: 2048, maxPdfBytes: 256 * 1024 * 1024, maxSheetBytes: 256 * 1024 * 1024 };

export function createOfficeConverter(options: OfficeConverterOptions): OfficeConverter {
  const opts = { ...DEFAULTS, ...options };
  const { isolation } = opts;
  if (isolation.mode === 'unavailable') return unavailable(isolation.why);
  // The PDF, and room for the values of a workbook's sheets (asked for per document, checked in parseAnswer).
  const maxAnswerBytes = opts.maxPdfBytes + 64 + opts.maxSheetBytes + MAX_SHEETS * (128 + 1024);
  const tag = `mugaika-office-${randomBytes(6).toString('hex')}`;

  const start = (): OfficeProcess => {
    if (isolation.mode === 'bwrap') return startOfficeProcess(sandboxedCommand(isolation.bwrap, opts.memoryCapMb, tag), maxAnswerBytes);
    const workDir = mkdtempSync(path.join(tmpdir(), `${tag}-`));
    const pipe = `${tag}-${randomBytes(6).toString('hex')}`;
    return startOfficeProcess(unsandboxedCommand(opts.memoryCapMb, workDir, pipe), maxAnswerBytes, () => rmSync(workDir, { recursive: true, force: true }));
  };
  const pool = createWarmPool('LibreOffice', start, Math.max(1, Math.floor(opts.warmSlots)));
  let closed = false;

  const convert = async (untrustedBytes: Uint8Array, format: OfficeFormat, deadline: number, sheets?: SheetValuesRequest): Promise<OfficeResult> => {
    const asked = sheets && SHEET_FORMATS.has(format) ? { ...sheets, maxBytes: Math.min(sheets.maxBytes, opts.maxSheetBytes) } : undefined;
    if (closed) return { ok: false, reason: 'converter-failed', detail: 'the Office converter has been closed' };
    const remaining = deadline - Date.now();
    if (remaining <= 0) return timeout();
    const proc = pool.take();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill();
    }, remaining);
    try {
      if (!(await proc.ready)) {
        if (timedOut) return timeout();
        return failed('LibreOffice did not start', await proc.exited, proc);
      }
      proc.send(format, untrustedBytes, asked);
      const exit = await proc.exited;
      if (timedOut) return timeout();
      if (exit.code !== 0) return failed('LibreOffice crashed or was killed (memory cap?)', exit, proc);
      return parseAnswer(proc.answer(), asked);
    } finally {
      clearTimeout(timer);
      proc.kill();
    }
  };

  return {
    convert,
    tag,
    isolation: isolation.mode,
    // Resolves once a started sandbox is waiting for a document (false: it died first).
    warm: () => (closed ? Promise.resolve(false) : pool.warm()),
    async close() {
      closed = true;
      await pool.close();
    },
  };
}

function unavailable(why: string): OfficeConverter {
  const detail = `${why}; Office documents are not converted without a sandbox (install bubblewrap, or set the policy's allowUnsandboxed to accept the risk)`;
  return {
    convert: () => Promise.resolve({ ok: false, reason: 'no-sandbox', detail }),
    tag: 'mugaika-office-unavailable',
    isolation: 'unavailable',
    warm: () => Promise.resolve(false),
    close: () => Promise.resolve(),
  };
}

function timeout(): OfficeResult {
  return { ok: false, reason: 'timeout', detail: 'LibreOffice did not finish before the deadline and was killed' };
}

function failed(what: string, exit: ProcessExit, proc: OfficeProcess): OfficeResult {
  const how = exit.error ?? (exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`);
  const tail = proc.stderrTail().split('\n').slice(-3).join(' | ');
  return { ok: false, reason: 'converter-failed', detail: `${what} (${how})${tail ? `: ${tail}` : ''}` };
}
