// Reads the answer convert.py writes after READY: "OK <n>\n" and n bytes of
// PDF, or "ERR <code>\n". Everything in it is untrusted and checked here;
// only the three known codes cross the sandbox boundary. A workbook asked for
// its values adds "SHEETS <k>\n" and k sheets after the PDF (sheet-answer.ts).
import { parseSheets } from './sheet-answer.js';
import type { SheetValuesRequest } from '../../core/ports.js';
import type { OfficeResult } from './types.js';

const CODES = {
  encrypted: 'the document is protected by a password',
  undecodable: 'LibreOffice could not read the document as the format it claims to be',
  'converter-failed': 'LibreOffice failed to convert the document to PDF',
} as const;

const MAX_HEADER = 64;
const PDF_MAGIC = Buffer.from('%PDF-');

/** `sheetLimits`: what the sandbox was asked for; without it nothing may follow the PDF. */
export function parseAnswer(untrustedAnswer: Buffer, sheetLimits?: SheetValuesRequest): OfficeResult {
  const newline = untrustedAnswer.subarray(0, MAX_HEADER).indexOf(0x0a);
  if (newline < 0) return garbage('no answer line');
  const untrustedHeader = untrustedAnswer.subarray(0, newline).toString('latin1');
  const body = untrustedAnswer.subarray(newline + 1);

  const err = /^ERR ([a-z-]+)$/.exec(untrustedHeader);
  if (err) {
    const code = err[1];
    if (code === 'encrypted' || code === 'undecodable' || code === 'converter-failed') {
      return { ok: false, reason: code, detail: CODES[code] };
    }
    return garbage('an unknown error code');
  }
  const ok = /^OK (\d{1,12})$/.exec(untrustedHeader);
  if (!ok) return garbage('a malformed answer line');
  const untrustedLength = Number(ok[1]);
  const pdf = body.subarray(0, untrustedLength);
  if (untrustedLength > body.length) return garbage(`a PDF of ${body.length} bytes announced as ${untrustedLength}`);
  if (!pdf.subarray(0, PDF_MAGIC.length).equals(PDF_MAGIC)) return garbage('bytes that are not a PDF');
  const rest = body.subarray(untrustedLength);
  const result: OfficeResult = { ok: true, pdf: new Uint8Array(pdf.buffer, pdf.byteOffset, pdf.byteLength) };
  if (rest.length === 0) return result;
  if (!sheetLimits) return garbage(`${rest.length} bytes after the PDF`);
  const sheets = parseSheets(rest, sheetLimits);
  // The PDF is good without them: values that do not parse are left out, not the workbook.
  return sheets ? { ...result, sheets } : { ...result, sheets: [] };
}

function garbage(what: string): OfficeResult {
  return { ok: false, reason: 'converter-failed', detail: `the LibreOffice sandbox answered with ${what}` };
}
