// The sheets a workbook's sandbox answers after its PDF:
//   "SHEETS <k>\n", then k times
//   "SHEET <hidden> <left out> <hidden rows> <hidden columns> <truncated> <name bytes> <csv bytes>\n"
//   followed by the name and the CSV.
// Untrusted from end to end: counts and lengths are checked against what was
// asked for; the bytes stay untrusted (the core decodes and rewrites them).
import type { SheetValuesRequest, UntrustedSheet } from '../../core/ports.js';

export const MAX_SHEETS = 256;
const MAX_NAME_BYTES = 1024;
const MAX_LINE = 128;
const COUNT = /^SHEETS (\d{1,3})$/;
const SHEET = /^SHEET ([01]) ([012]) (\d{1,10}) (\d{1,10}) ([01]) (\d{1,4}) (\d{1,12})$/;
const LEFT_OUT = [null, 'hidden', 'size'] as const;

/** What follows the PDF, or null when it is not what convert.py writes. */
export function parseSheets(untrusted: Buffer, asked: SheetValuesRequest): UntrustedSheet[] | null {
  let at = 0;
  const line = (): string | null => {
    const end = untrusted.subarray(at, at + MAX_LINE).indexOf(0x0a);
    if (end < 0) return null;
    const text = untrusted.subarray(at, at + end).toString('latin1');
    at += end + 1;
    return text;
  };
  const count = COUNT.exec(line() ?? '');
  if (!count || Number(count[1]) > MAX_SHEETS) return null;
  const sheets: UntrustedSheet[] = [];
  let csvBytes = 0;
  for (let i = 0; i < Number(count[1]); i++) {
    const m = SHEET.exec(line() ?? '');
    if (!m) return null;
    const [nameBytes, size] = [Number(m[6]), Number(m[7])];
    const leftOut = LEFT_OUT[Number(m[2])] ?? null;
    csvBytes += size;
    if (nameBytes > MAX_NAME_BYTES || csvBytes > asked.maxBytes || at + nameBytes + size > untrusted.length) return null;
    if (leftOut !== null && size > 0) return null;
    const name = untrusted.subarray(at, at + nameBytes).toString('utf8');
    at += nameBytes;
    const csv = untrusted.subarray(at, at + size);
    at += size;
    sheets.push({
      untrustedName: name,
      hidden: m[1] === '1',
      untrustedCsv: leftOut === null ? new Uint8Array(csv.buffer, csv.byteOffset, csv.byteLength) : null,
      leftOut,
      hiddenRows: Number(m[3]),
      hiddenColumns: Number(m[4]),
      truncated: m[5] === '1',
    });
  }
  return at === untrusted.length ? sheets : null;
}
