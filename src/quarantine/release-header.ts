// What a released original carries to show it is one. A release delivers the
// original's own bytes, unsanitized; three things are changed, each as little
// as it can be, so that a clerk sees at once that this is no sanitized copy:
//
// 1. X-Mugaika-Released-By is put in front: who released it (operator input,
//    reduced to one safe header line: no CR/LF, no controls; non-ASCII as an
//    RFC 2047 encoded word).
// 2. The first Subject field gets the policy's release.subjectPrefix (【原本】)
//    in front, as an encoded word of its own followed by a fold: the rest of
//    the field (raw, encoded words, ISO-2022-JP, whatever it was) is kept
//    byte for byte on the next line. A message without a Subject gets one.
// 3. The first text/plain part and the first text/html part of the body (not
//    attachments, not inside an attached message) get one line in front:
//    who released it and when (JST). The line is encoded as that part is
//    (its charset, its transfer encoding) and put before its first byte; a
//    base64 part gets a base64 line whose bytes are a multiple of 3, so the
//    part's own base64 continues unchanged after it. In an HTML part the line
//    goes right after <body …> when the tag can be found in the part's bytes
//    (not in base64), else before everything. A part whose charset cannot
//    carry the Japanese line gets it in ASCII (English); a part in a charset
//    that is not ASCII-compatible (UTF-16), or in another transfer encoding,
//    is left as it was.
//
// Every other byte is the original's. A signed original (S/MIME, PGP, DKIM)
// will not verify after this: the README says so.
import Encoding from 'encoding-japanese';
import iconv from 'iconv-lite';
import { encodeWord } from 'nodemailer/lib/mime-funcs';
import { labelsFor } from '../core/labels.js';

export interface ReleaseMark {
  /** Who released it, as recorded in the audit log. */
  actor: string;
  at: Date;
  /** Put in front of the Subject; empty for none. */
  subjectPrefix: string;
  language: 'ja' | 'en';
}

type Eol = '\r\n' | '\n';

const safeActor = (actor: string): string =>
  actor
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .trim()
    .slice(0, 200) || 'unknown';

const word = (text: string): string => (/^[\x20-\x7e]*$/.test(text) && !text.includes('=?') ? text : encodeWord(text, 'B', 0));

export function releasedByHeader(actor: string, eol: Eol): Buffer {
  return Buffer.from(`X-Mugaika-Released-By: ${word(safeActor(actor))}${eol}`, 'utf8');
}

const eolOf = (raw: Buffer): Eol => {
  const firstLf = raw.indexOf(0x0a);
  return firstLf > 0 && raw[firstLf - 1] === 0x0d ? '\r\n' : firstLf >= 0 ? '\n' : '\r\n';
};

/** The original with only X-Mugaika-Released-By in front, in the original's own line ending. */
export function withReleasedBy(raw: Buffer, actor: string): Buffer {
  return Buffer.concat([releasedByHeader(actor, eolOf(raw)), raw]);
}

/** An insertion of bytes at an offset of the original. */
interface Insert {
  at: number;
  bytes: Buffer;
  /** Bytes of the original replaced, from `at` (only the Subject's "Subject:" and its spaces). */
  replaces?: number;
}

interface Field {
  name: string;
  /** Where its line starts, where its name and colon end, where it ends (before the line break that ends it). */
  start: number;
  valueStart: number;
  end: number;
  value: string;
}

interface Entity {
  fields: Field[];
  /** Where the body starts (after the blank line), and where the entity ends. */
  bodyStart: number;
  end: number;
}

/** Header fields from `start` to the blank line, as latin1 text (offsets are byte offsets). */
function entity(text: string, start: number, end: number): Entity {
  const fields: Field[] = [];
  let at = start;
  while (at < end) {
    let lineEnd = text.indexOf('\n', at);
    if (lineEnd < 0 || lineEnd >= end) lineEnd = end;
    const line = text.slice(at, lineEnd).replace(/\r$/, '');
    if (line === '') return { fields, bodyStart: Math.min(lineEnd + 1, end), end };
    if ((line[0] === ' ' || line[0] === '\t') && fields.length > 0) {
      const f = fields[fields.length - 1]!;
      f.value += ` ${line.trim()}`;
      f.end = at + line.length;
    } else {
      const colon = line.indexOf(':');
      if (colon > 0) fields.push({ name: line.slice(0, colon).trim().toLowerCase(), start: at, valueStart: at + colon + 1, end: at + line.length, value: line.slice(colon + 1).trim() });
    }
    at = lineEnd + 1;
  }
  return { fields, bodyStart: end, end };
}

const field = (e: Entity, name: string): string | undefined => e.fields.find((f) => f.name === name)?.value;

/** "text/plain; charset=…" as its type and parameters (lowercase names; values unquoted). */
function contentType(value: string | undefined): { type: string; params: Record<string, string> } {
  if (!value) return { type: 'text/plain', params: {} };
  const [type = '', ...rest] = value.split(';');
  const params: Record<string, string> = {};
  for (const p of rest.join(';').matchAll(/([A-Za-z0-9*_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/g)) {
    params[p[1]!.toLowerCase()] ??= (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { type: type.trim().toLowerCase() || 'text/plain', params };
}

interface Leaf {
  type: 'text/plain' | 'text/html';
  charset: string;
  transferEncoding: string;
  bodyStart: number;
  end: number;
  /** The first bytes of its body (latin1), to tell its line ends. */
  head: string;
}

const MAX_DEPTH = 20;

/** The first text/plain and text/html leaves of the body, depth first, skipping attachments and attached messages. */
function textLeaves(text: string, e: Entity, depth: number, found: Leaf[]): void {
  if (depth > MAX_DEPTH || found.length >= 2) return;
  const ct = contentType(field(e, 'content-type'));
  const boundary = ct.params.boundary;
  if (ct.type.startsWith('multipart/') && boundary) {
    const delimiter = `--${boundary}`;
    let partStart = -1;
    let at = e.bodyStart;
    while (at < e.end) {
      let lineEnd = text.indexOf('\n', at);
      if (lineEnd < 0 || lineEnd >= e.end) lineEnd = e.end;
      const line = text.slice(at, lineEnd).replace(/\r$/, '');
      if (line.startsWith(delimiter) && /^(--)?[ \t]*$/.test(line.slice(delimiter.length))) {
        // The line break before a delimiter belongs to the delimiter.
        const partEnd = text[at - 2] === '\r' ? at - 2 : at - 1;
        if (partStart >= 0 && partEnd > partStart) textLeaves(text, entity(text, partStart, partEnd), depth + 1, found);
        if (line.slice(delimiter.length).startsWith('--')) return;
        partStart = lineEnd + 1;
      }
      at = lineEnd + 1;
    }
    if (partStart >= 0 && partStart < e.end) textLeaves(text, entity(text, partStart, e.end), depth + 1, found);
    return;
  }
  if (ct.type !== 'text/plain' && ct.type !== 'text/html') return;
  if (/^\s*attachment/i.test(field(e, 'content-disposition') ?? '')) return;
  if (found.some((l) => l.type === ct.type)) return;
  found.push({
    type: ct.type,
    charset: (ct.params.charset ?? 'us-ascii').toLowerCase(),
    transferEncoding: (field(e, 'content-transfer-encoding') ?? '7bit').toLowerCase(),
    bodyStart: e.bodyStart,
    end: e.end,
    head: text.slice(e.bodyStart, Math.min(e.end, e.bodyStart + 8192)),
  });
}

const ALIASES: Record<string, string> = {
  shift_jis: 'cp932',
  'shift-jis': 'cp932',
  sjis: 'cp932',
  'x-sjis': 'cp932',
  'windows-31j': 'cp932',
  'euc-jp': 'eucjp',
  'x-euc-jp': 'eucjp',
  'us-ascii': 'ascii',
  ascii: 'ascii',
};
const JIS = new Set(['iso-2022-jp', 'cp50220', 'cp50221', 'csiso2022jp']);

/** The text in the charset, or null when the charset is unknown, cannot carry it, or is not ASCII-compatible. */
function encodeIn(charset: string, text: string): Buffer | null {
  if (JIS.has(charset)) return Buffer.from(Encoding.convert(Encoding.stringToCode(text), { to: 'JIS', from: 'UNICODE' }) as number[]);
  const name = ALIASES[charset] ?? charset;
  if (!iconv.encodingExists(name)) return null;
  if (!iconv.encode(' =<>\r\n', name).equals(Buffer.from(' =<>\r\n'))) return null;
  const bytes = iconv.encode(text, name);
  return iconv.decode(bytes, name) === text ? bytes : null;
}

/** Quoted-printable lines of at most 76 characters, ending with a hard line break. */
function quotedPrintable(bytes: Buffer, eol: Eol): string {
  const out: string[] = [];
  let line = '';
  for (const b of bytes) {
    if (b === 0x0d) continue;
    if (b === 0x0a) {
      out.push(line.replace(/[ \t]$/, (c) => `=${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`));
      line = '';
      continue;
    }
    const piece = b >= 0x21 && b <= 0x7e && b !== 0x3d ? String.fromCharCode(b) : b === 0x20 ? ' ' : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
    if (line.length + piece.length > 75) {
      out.push(`${line}=`);
      line = '';
    }
    line += piece;
  }
  if (line) out.push(line);
  return out.map((l) => `${l}${eol}`).join('');
}

/** The line end of a base64 part's text, from its first few KiB. */
function decodedEol(leaf: Leaf): Eol {
  const chars = leaf.head.replace(/[^A-Za-z0-9+/]/g, '');
  const head = Buffer.from(chars.slice(0, chars.length - (chars.length % 4)), 'base64');
  const lf = head.indexOf(0x0a);
  return lf > 0 && head[lf - 1] === 0x0d ? '\r\n' : lf >= 0 ? '\n' : '\r\n';
}

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The note, as the bytes to put in front of (or into) one leaf, or null to leave it alone. */
function noteFor(leaf: Leaf, note: string, asciiNote: string, eol: Eol): Buffer | null {
  const cte = leaf.transferEncoding;
  if (!['7bit', '8bit', 'binary', 'quoted-printable', 'base64'].includes(cte)) return null;
  // The text's own line ends: the raw ones, CRLF in quoted-printable (its line breaks are the
  // text's), and in base64 those of its first decoded lines.
  const lineEnd = cte === 'base64' ? decodedEol(leaf) : cte === 'quoted-printable' ? '\r\n' : eol;
  const asText = (s: string): string => (leaf.type === 'text/html' ? `<div style="border:1px solid #b00;padding:4px;margin:0 0 8px 0">${escapeHtml(s)}</div>` : s);
  // A charset we know that does not write ASCII as ASCII (UTF-16): no line we could add would read right.
  const known = JIS.has(leaf.charset) || iconv.encodingExists(ALIASES[leaf.charset] ?? leaf.charset);
  if (known && encodeIn(leaf.charset, ' ') === null) return null;
  let bytes = encodeIn(leaf.charset, asText(note) + lineEnd);
  // A 7-bit part gets no 8-bit bytes from us, unless its own text has them already (UTF-8 sent
  // without a transfer encoding); ISO-2022-JP is 7-bit and carries the Japanese line. A charset
  // that cannot carry the Japanese line, or one we do not know, gets the ASCII one.
  const sevenBit = cte === '7bit' && !/[\x80-\xff]/.test(leaf.head);
  if (!bytes || (sevenBit && bytes.some((b) => b >= 0x80))) bytes = Buffer.from(asText(asciiNote) + lineEnd, 'latin1');
  if (cte === 'quoted-printable') return Buffer.from(quotedPrintable(bytes, eol), 'latin1');
  if (cte === 'base64') {
    // Spaces before the line end, so that the bytes are a multiple of 3 and their base64 has no "=":
    // the part's own base64 then continues as one stream.
    const end = bytes.length - Buffer.byteLength(lineEnd);
    const pad = (3 - (bytes.length % 3)) % 3;
    const padded = Buffer.concat([bytes.subarray(0, end), Buffer.alloc(pad, 0x20), bytes.subarray(end)]);
    return Buffer.from(`${(padded.toString('base64').match(/.{1,76}/g) ?? []).join(eol)}${eol}`, 'latin1');
  }
  return bytes;
}

/** Where the note goes in a leaf: after <body …> in HTML that is not base64, else at its first byte. */
function noteAt(text: string, leaf: Leaf): number {
  if (leaf.type !== 'text/html' || leaf.transferEncoding === 'base64') return leaf.bodyStart;
  const body = /<body\b[^>]*>/i.exec(text.slice(leaf.bodyStart, leaf.end));
  if (!body) return leaf.bodyStart;
  const after = leaf.bodyStart + body.index + body[0].length;
  // The note starts a line of its own: after the tag's line break, if one follows it.
  const nl = /^\r?\n/.exec(text.slice(after, after + 2));
  return nl ? after + nl[0].length : after;
}

/** The inserts that mark the original, in order of their offsets. */
function inserts(raw: Buffer, mark: ReleaseMark, eol: Eol): Insert[] {
  const text = raw.toString('latin1');
  const top = entity(text, 0, raw.length);
  const out: Insert[] = [{ at: 0, bytes: releasedByHeader(mark.actor, eol) }];
  if (mark.subjectPrefix) {
    const prefix = word(mark.subjectPrefix);
    const subject = top.fields.find((f) => f.name === 'subject');
    if (!subject) out.push({ at: 0, bytes: Buffer.from(`Subject: ${prefix}${eol}`, 'latin1') });
    else {
      // "Subject:" and the spaces after it are replaced; the rest of the field stays as it was, folded onto the next line.
      let at = subject.valueStart;
      while (text[at] === ' ' || text[at] === '\t') at++;
      const empty = at >= subject.end;
      out.push({ at: subject.start, replaces: at - subject.start, bytes: Buffer.from(empty ? `Subject: ${prefix}` : `Subject: ${prefix}${eol} `, 'latin1') });
    }
  }
  const actor = safeActor(mark.actor);
  const labels = labelsFor(mark.language);
  const note = labels.releasedNote(actor, mark.at);
  const asciiNote = labelsFor('en').releasedNote(/^[\x20-\x7e]*$/.test(actor) ? actor : '', mark.at);
  const leaves: Leaf[] = [];
  if (top.bodyStart < raw.length || top.fields.length > 0) textLeaves(text, top, 0, leaves);
  for (const leaf of leaves) {
    const bytes = noteFor(leaf, note, asciiNote, eol);
    if (!bytes) continue;
    const at = noteAt(text, leaf);
    // Right after <body …> in the middle of a line, the note starts a line of its own: a soft line break
    // in quoted-printable (it adds nothing to the text), a line break in HTML otherwise.
    const midLine = at > leaf.bodyStart && text[at - 1] !== '\n';
    const before = midLine ? (leaf.transferEncoding === 'quoted-printable' ? `=${eol}` : eol) : '';
    out.push({ at, bytes: Buffer.concat([Buffer.from(before, 'latin1'), bytes]) });
  }
  return out.sort((a, b) => a.at - b.at);
}

/**
 * The original marked as released (see the top of this file). Should the
 * original's structure defeat the search for its text parts, it is marked by
 * its header and subject only: a release is never refused for it.
 */
export function markReleased(raw: Buffer, mark: ReleaseMark): Buffer {
  const eol = eolOf(raw);
  let list: Insert[];
  try {
    list = inserts(raw, mark, eol);
  } catch {
    list = [{ at: 0, bytes: releasedByHeader(mark.actor, eol) }];
  }
  const pieces: Buffer[] = [];
  let from = 0;
  for (const i of list) {
    pieces.push(raw.subarray(from, i.at), i.bytes);
    from = i.at + (i.replaces ?? 0);
  }
  pieces.push(raw.subarray(from));
  return Buffer.concat(pieces);
}
