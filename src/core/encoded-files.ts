// A file can travel as text: uuencode ("begin 644 invoice.exe"), its base64
// variant, yEnc, BinHex 4.0, or a MIME part pasted into the text (what a
// message with two conflicting Content-Type headers shows under the other
// reading). Several mail clients still decode such blocks into attachments,
// so a text we deliver must not carry one: each block is replaced by one line
// we write, or (policy text.encodedFiles: quarantine) the whole message is
// held.
//
// One pass over the lines, each looked at a bounded number of times, with no
// regular expression that can backtrack over a line.
import { finding, type Finding } from './findings.js';
import type { Labels } from './labels.js';

export type EncodedKind = 'uuencode' | 'uuencode-base64' | 'yenc' | 'binhex' | 'mime-base64';

export interface EncodedFile {
  kind: EncodedKind;
  /** The name the block gives its file, as written (bounded), or null. */
  name: string | null;
}

/** What a text looks like with every encoded file replaced by `placeholder`'s line. */
export interface WithoutEncodedFiles {
  text: string;
  files: EncodedFile[];
}

const MAX_NAME_CHARS = 100;
const MAX_HEADER_LINES = 64;

const UU_BEGIN = /^begin(-base64)? +([0-7]{1,4}) +(\S.*)$/;
const BASE64_LINE = /^[A-Za-z0-9+/]+={0,2}$/;
const HEADER_LINE = /^[A-Za-z0-9-]+:/;
const BASE64_CTE = /^content-transfer-encoding:[ \t]*base64[ \t]*$/i;
const BINHEX_HEADER = /^\(This file must be converted with BinHex/i;
// RFC 1741's alphabet, and the colons that open and close the data.
const BINHEX_CHARS = new Set('!"#$%&\'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr:');

const name = (s: string | undefined): string | null => {
  const n = (s ?? '').trim().replace(/^"|"$/g, '');
  return n === '' ? null : [...n].slice(0, MAX_NAME_CHARS).join('');
};

/** A uuencoded line: its first character gives the byte count, the rest is in the alphabet (space to backquote). */
function isUuLine(line: string): boolean {
  if (line.length < 2) return false;
  const n = (line.charCodeAt(0) - 32) & 63;
  if (n === 0 || line.charCodeAt(0) > 0x60) return false;
  // Some encoders add a checksum character; transport may strip trailing spaces.
  if (line.length - 1 > Math.ceil(n / 3) * 4 + 2) return false;
  for (let i = 1; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c < 0x20 || c > 0x60) return false;
  }
  return true;
}

const isBase64Line = (untrimmed: string): boolean => {
  const line = untrimmed.trimEnd();
  return line.length % 4 === 0 && BASE64_LINE.test(line);
};
const isBinHexLine = (line: string): boolean => line.length > 0 && [...line].every((c) => BINHEX_CHARS.has(c));

/** Lines [start, end) are one encoded file, or null when `lines[i]` starts none. */
type Block = { end: number; file: EncodedFile } | null;

function uuencoded(lines: readonly string[], i: number): Block {
  const m = UU_BEGIN.exec(lines[i] ?? '');
  if (!m) return null;
  const base64 = m[1] !== undefined;
  let j = i + 1;
  while (j < lines.length && (base64 ? isBase64Line(lines[j] ?? '') : isUuLine(lines[j] ?? ''))) j++;
  // Prose that merely starts with "begin 10 …" has no data lines after it.
  if (j === i + 1) return null;
  const at = (k: number): string => (lines[k] ?? '').trimEnd();
  if (base64) {
    if (at(j) === '====') j++;
  } else if ((at(j) === '`' || at(j) === '') && at(j + 1) === 'end') j += 2;
  else if (at(j) === 'end') j++;
  return { end: j, file: { kind: base64 ? 'uuencode-base64' : 'uuencode', name: name(m[3]) } };
}

function yencoded(lines: readonly string[], i: number): Block {
  const line = lines[i] ?? '';
  if (!line.startsWith('=ybegin ')) return null;
  const at = line.indexOf(' name=');
  if (at < 0) return null;
  // Its data lines can be any characters: the block ends at =yend, or with the text.
  let j = i + 1;
  while (j < lines.length && !(lines[j] ?? '').startsWith('=yend')) j++;
  return { end: Math.min(j + 1, lines.length), file: { kind: 'yenc', name: name(line.slice(at + 6)) } };
}

function binhexed(lines: readonly string[], i: number): Block {
  if (!BINHEX_HEADER.test(lines[i] ?? '')) return null;
  let j = i + 1;
  while (j < lines.length && lines[j] === '') j++;
  if (!(lines[j] ?? '').startsWith(':')) return null;
  // From the opening colon to the closing one, every line in the alphabet.
  let first = true;
  while (j < lines.length && isBinHexLine(lines[j] ?? '')) {
    const line = lines[j] ?? '';
    j++;
    if (line.endsWith(':') && !(first && line.length === 1)) break;
    first = false;
  }
  return { end: j, file: { kind: 'binhex', name: null } };
}

/** A pasted MIME part: header lines with "Content-Transfer-Encoding: base64", a blank line, base64 lines. */
function mimePart(lines: readonly string[], headerStart: number, i: number): Block {
  if (!BASE64_CTE.test(lines[i] ?? '')) return null;
  // The header lines after this one, bounded: "Content-Transfer-Encoding:
  // base64" repeated on every line must not be read again from each.
  let j = i + 1;
  while (j < lines.length && j - i <= MAX_HEADER_LINES && (HEADER_LINE.test(lines[j] ?? '') || /^[ \t]/.test(lines[j] ?? ''))) j++;
  if (lines[j]?.trimEnd() !== '') return null;
  const dataStart = j + 1;
  j = dataStart;
  while (j < lines.length && isBase64Line(lines[j] ?? '')) j++;
  if (j === dataStart) return null;
  let fileName: string | null = null;
  for (let h = headerStart; h < dataStart && fileName === null; h++) {
    const m = /(?:^|[;\s])(?:file)?name\*?=[ \t]*"?([^";]*)/i.exec(lines[h] ?? '');
    if (m) fileName = name(m[1]);
  }
  return { end: j, file: { kind: 'mime-base64', name: fileName } };
}

/** The text with each encoded file replaced by the line `placeholder` writes for it. */
export function withoutEncodedFiles(text: string, placeholder: (file: EncodedFile) => string): WithoutEncodedFiles {
  const lines = text.split('\n');
  const out: string[] = [];
  const files: EncodedFile[] = [];
  // The first line of the run of header-like lines the current line is in.
  let headerStart = -1;
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    if (HEADER_LINE.test(line)) {
      if (headerStart < 0) headerStart = i;
    } else if (!(headerStart >= 0 && /^[ \t]/.test(line))) headerStart = -1;
    const block = uuencoded(lines, i) ?? yencoded(lines, i) ?? binhexed(lines, i) ?? (headerStart >= 0 ? mimePart(lines, headerStart, i) : null);
    if (!block) {
      out.push(line);
      i++;
      continue;
    }
    // A pasted part's header lines before this one go with it.
    const start = block.file.kind === 'mime-base64' ? headerStart : i;
    out.splice(out.length - (i - start), i - start, placeholder(block.file));
    files.push(block.file);
    headerStart = -1;
    i = block.end;
  }
  return { text: out.join('\n'), files };
}

/** The whole message is held: a text we would deliver carries an encoded file. */
export class EncodedFileBlocked extends Error {
  override readonly name = 'EncodedFileBlocked';
  constructor(readonly finding: Finding) {
    super(`a file encoded in text (${finding.detail ?? ''}); policy text.encodedFiles is quarantine`);
  }
}

export type EncodedFilesAction = 'remove' | 'quarantine';

const describe = (files: readonly EncodedFile[]): string =>
  files
    .map((f) => (f.name ? `${f.kind} ${f.name}` : f.kind))
    .join(', ')
    .slice(0, 200);

/**
 * Removes every encoded file from a text we are about to deliver, each
 * replaced by a line saying so, with the encoded-file-removed finding; with
 * `quarantine`, throws EncodedFileBlocked instead.
 */
export function removeEncodedFiles(text: string, labels: Labels, action: EncodedFilesAction): { text: string; findings: Finding[] } {
  const found = withoutEncodedFiles(text, (f) => labels.encodedFileRemoved(f.name));
  if (found.files.length === 0) return { text, findings: [] };
  if (action === 'quarantine') throw new EncodedFileBlocked(finding('encoded-file-blocked', { detail: describe(found.files) }));
  return { text: found.text, findings: [finding('encoded-file-removed', { detail: describe(found.files) })] };
}
