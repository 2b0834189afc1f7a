// What every delivered message must be, whatever came in: plain, conformant,
// 7-bit mail with CRLF line ends, short lines, whole-character encoded words,
// From and Date, and only the part types we produce.
import type { Transform } from 'node:stream';
import { Splitter, type MimeNode as SplitterNode, type SplitterChunk } from '@zone-eu/mailsplit';

export const ALLOWED_LEAF_TYPES = new Set(['text/plain', 'image/png', 'image/jpeg', 'application/pdf']);

async function leafTypes(raw: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const types: string[] = [];
    const splitter = new Splitter();
    splitter.on('data', (c: SplitterChunk) => {
      if (c.type === 'node') {
        const n = c as SplitterNode;
        if (!n.multipart) types.push(String(n.contentType || 'text/plain'));
      }
    });
    // The fork's typings declare only 'data' listeners; it is a Transform all the same.
    const s = splitter as unknown as Transform;
    s.on('error', reject);
    s.on('end', () => resolve(types));
    s.end(raw);
  });
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
        : Buffer.from(data!.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      problems.push(`encoded word ${m[0]} splits a character`);
    }
  }
  for (const t of await leafTypes(raw)) if (!ALLOWED_LEAF_TYPES.has(t)) problems.push(`part of type ${t}`);
  return problems;
}
