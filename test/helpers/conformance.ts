// What every delivered message must be, whatever came in: plain, conformant,
// 7-bit mail with CRLF line ends, short lines, whole-character encoded words,
// From and Date, and only the part types we produce. A text/csv part only as
// we write it: UTF-8 with a byte order mark, CRLF after every record, no cell
// a spreadsheet would run as a formula.
import type { Transform } from 'node:stream';
import { Splitter, type MimeNode as SplitterNode, type SplitterChunk } from '@zone-eu/mailsplit';
import { parse } from 'csv-parse/sync';

export const ALLOWED_LEAF_TYPES = new Set(['text/plain', 'text/csv', 'image/png', 'image/jpeg', 'application/pdf']);

interface Leaf {
  type: string;
  encoding: string;
  body: Buffer;
}

async function leaves(raw: Buffer): Promise<Leaf[]> {
  return new Promise((resolve, reject) => {
    const out: Leaf[] = [];
    let current: { leaf: Leaf; chunks: Buffer[] } | null = null;
    const close = (): void => {
      if (current) current.leaf.body = Buffer.concat(current.chunks);
      current = null;
    };
    const splitter = new Splitter();
    splitter.on('data', (c: SplitterChunk) => {
      if (c.type === 'node') {
        close();
        const n = c as SplitterNode;
        if (n.multipart) return;
        const leaf = { type: String(n.contentType || 'text/plain'), encoding: String(n.encoding || '7bit').toLowerCase(), body: Buffer.alloc(0) };
        out.push(leaf);
        current = { leaf, chunks: [] };
      } else if (c.type === 'body' && current) {
        current.chunks.push((c as unknown as { value: Buffer }).value);
      } else if (c.type === 'data') close();
    });
    // The fork's typings declare only 'data' listeners; it is a Transform all the same.
    const s = splitter as unknown as Transform;
    s.on('error', reject);
    s.on('end', () => {
      close();
      resolve(out);
    });
    s.end(raw);
  });
}

// As src/core/csv.ts decides it, written again here so that the check does not trust the code it checks.
const FORMULA = /^\s*[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;
const NUMBER = /^[+-]?(\d[\d,]*)(\.\d+)?%?$/;
const runs = (cell: string): boolean => FORMULA.test(cell) && !NUMBER.test(cell.trim());

/** What is wrong with a delivered CSV's bytes. */
export function csvViolations(bytes: Buffer): string[] {
  const problems: string[] = [];
  if (!(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)) problems.push('csv without a UTF-8 byte order mark');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(3));
  } catch {
    return [...problems, 'csv not UTF-8'];
  }
  // Outside quotes, every line break is CRLF, and the file ends with one.
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '\n' && text[i - 1] !== '\r') problems.push(`csv record ending in a bare LF at ${i}`);
    else if (!quoted && c === '\r' && text[i + 1] !== '\n') problems.push(`csv bare CR at ${i}`);
  }
  if (text.length > 0 && !text.endsWith('\r\n')) problems.push('csv not ending in CRLF');
  let rows: string[][];
  try {
    rows = parse(text, { relax_column_count: true, skip_empty_lines: false }) as string[][];
  } catch (err) {
    return [...problems, `csv unreadable: ${String(err)}`];
  }
  for (const row of rows) {
    for (const cell of row) {
      // A spreadsheet set to semicolons or TABs splits there: each piece is a cell to it.
      if (cell.split(/[;\t]/).some(runs)) problems.push(`csv formula cell ${JSON.stringify(cell.slice(0, 40))}`);
    }
  }
  return problems;
}

/** Returns a list of violations; empty when the message conforms. */
export async function violations(raw: Buffer): Promise<string[]> {
  const problems: string[] = [];
  const text = raw.toString('latin1');
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b >= 0x80) {
      problems.push(`8-bit byte at ${i}`);
      break;
    }
    if (b < 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0a) {
      problems.push(`control byte 0x${b.toString(16)} at ${i}`);
      break;
    }
  }
  if (/\r(?!\n)|(?<!\r)\n/.test(text)) problems.push('bare CR or LF');
  for (const line of text.split('\r\n')) if (line.length > 998) problems.push(`line of ${line.length} octets`);
  const headEnd = text.indexOf('\r\n\r\n');
  const head = headEnd >= 0 ? text.slice(0, headEnd) : text;
  // RFC 5322 allows folding right after the colon (a display name too long to fold elsewhere).
  if (!/^From:[ \t]*(\r\n[ \t]+)?\S/im.test(head)) problems.push('no From');
  if (!/^Date: /im.test(head)) problems.push('no Date');
  if (!/^Message-ID: </im.test(head)) problems.push('no Message-ID');
  if (!/^X-Mugaika-Verdict: (clean|sanitized|blocked)\r?$/im.test(head)) problems.push('no X-Mugaika-Verdict');
  for (const m of text.matchAll(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g)) {
    const [, charset, enc, data] = m;
    if (!/^utf-8$/i.test(charset!)) problems.push(`encoded word in ${charset}`);
    const bytes =
      enc!.toUpperCase() === 'B'
        ? Buffer.from(data!, 'base64')
        : Buffer.from(
            data!.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
            'latin1',
          );
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      problems.push(`encoded word ${m[0]} splits a character`);
    }
  }
  for (const leaf of await leaves(raw)) {
    if (!ALLOWED_LEAF_TYPES.has(leaf.type)) problems.push(`part of type ${leaf.type}`);
    if (leaf.type === 'text/csv') {
      const bytes = leaf.encoding === 'base64' ? Buffer.from(leaf.body.toString('latin1'), 'base64') : leaf.body;
      problems.push(...csvViolations(bytes));
    }
  }
  return problems;
}
