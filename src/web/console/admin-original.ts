// What an administrator reads of an original before deciding, taken apart
// without rendering anything: every header field as written (the Received
// chain, Reply-To, Return-Path), every link's real target beside its visible
// text, every attachment's detected type, size and SHA-256, and the body as
// text. The original is hostile: the parse has limits and a time limit, and
// a failure is shown as such, with the header fields still there.
import { createHash } from 'node:crypto';
import { fileTypeFromBuffer } from 'file-type';
import { Parser } from 'htmlparser2';
import libmime from 'libmime';
import { parseMessage, unJis } from '../../core/parse.js';

export interface OriginalView {
  /** Each field as written, and in words when it holds MIME encoded words (=?UTF-8?B?…?=) or raw ISO-2022-JP: null when that is the same. */
  headers: { name: string; value: string; decoded: string | null }[];
  headersCut: boolean;
  links: { text: string; href: string }[];
  attachments: { name: string | null; declared: string; detected: string; size: number; sha256: string }[];
  text: string | null;
  html: string | null;
  /** Why the body could not be taken apart; the header fields are still shown. */
  parseError: string | null;
}

const MAX_HEADER_BYTES = 256 * 1024;
const MAX_FIELDS = 1000;
const MAX_VALUE = 16 * 1024;
const MAX_LINKS = 1000;
const MAX_BODY = 512 * 1024;
const PARSE_MS = 15_000;

const cut = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n)}…` : s);

/**
 * A field's value as a person reads it: encoded words decoded (libmime, as
 * mailparser does), ISO-2022-JP under a label libmime does not know too
 * (unJis); null when nothing changes. A value is at most MAX_VALUE long and a
 * header block MAX_HEADER_BYTES: the worst hostile block takes libmime about
 * 0.2 s here.
 */
export function decodedValue(value: string): string | null {
  if (!value.includes('=?') && !value.includes('\x1b')) return null;
  let d: string;
  try {
    d = unJis(libmime.decodeWords(value));
  } catch {
    return null;
  }
  return d === value ? null : d;
}

/** The top-level header block, unfolded, field by field, as written (latin1 bytes as UTF-8 where they are), and decoded where that differs. */
export function headerFields(raw: Buffer): { fields: { name: string; value: string; decoded: string | null }[]; cut: boolean } {
  const window = raw.subarray(0, MAX_HEADER_BYTES);
  const text = window.toString('utf8');
  const end = text.search(/\r?\n\r?\n/);
  const block = end >= 0 ? text.slice(0, end) : text;
  const lines = block.split(/\r?\n(?![ \t])/);
  const fields: { name: string; value: string; decoded: string | null }[] = [];
  for (const line of lines) {
    if (fields.length >= MAX_FIELDS) return { fields, cut: true };
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    const value = (colon > 0 ? line.slice(colon + 1) : line).replace(/\r?\n[ \t]+/g, ' ').trim();
    const shownValue = cut(value, MAX_VALUE);
    fields.push({ name: cut(name, 200), value: shownValue, decoded: decodedValue(shownValue) });
  }
  return { fields, cut: end < 0 && raw.length > MAX_HEADER_BYTES };
}

/** Every <a href> of the HTML with the text it shows, and every URL written in the text. */
export function linksOf(html: string | null, text: string | null): { text: string; href: string }[] {
  const out: { text: string; href: string }[] = [];
  if (html) {
    let open: { href: string; text: string } | null = null;
    const p = new Parser(
      {
        onopentag(name, attrs) {
          if (name === 'a' && attrs.href !== undefined) open = { href: attrs.href, text: '' };
        },
        ontext(t) {
          if (open && open.text.length < 2000) open.text += t;
        },
        onclosetag(name) {
          if (name === 'a' && open && out.length < MAX_LINKS) {
            out.push({ href: cut(open.href.trim(), 4000), text: cut(open.text.replace(/\s+/g, ' ').trim(), 500) });
            open = null;
          }
        },
      },
      { decodeEntities: true },
    );
    p.write(html.slice(0, 4 * MAX_BODY));
    p.end();
  }
  for (const m of (text ?? '').slice(0, 4 * MAX_BODY).matchAll(/\b(?:https?|ftp):\/\/[^\s<>"]+/gi)) {
    if (out.length >= MAX_LINKS) break;
    out.push({ href: cut(m[0], 4000), text: cut(m[0], 500) });
  }
  return out;
}

const within = <T>(work: Promise<T>, ms: number): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`not taken apart within ${ms / 1000} s`)), ms)))]).finally(() => clearTimeout(timer));
};

export async function viewOriginal(raw: Buffer, maxBytes: number): Promise<OriginalView> {
  const { fields, cut: headersCut } = headerFields(raw);
  const view: OriginalView = { headers: fields, headersCut, links: [], attachments: [], text: null, html: null, parseError: null };
  if (raw.length > maxBytes) return { ...view, parseError: `larger than the policy's limits.maxMessageBytes (${raw.length} bytes)` };
  try {
    const parsed = await within(parseMessage(raw), PARSE_MS);
    view.text = parsed.text === null ? null : cut(parsed.text, MAX_BODY);
    view.html = parsed.html === null ? null : cut(parsed.html, MAX_BODY);
    view.links = linksOf(parsed.html, parsed.text);
    for (const a of parsed.attachments) {
      const sniffed = await fileTypeFromBuffer(a.bytes).catch(() => undefined);
      view.attachments.push({
        name: a.untrustedName === null ? null : cut(a.untrustedName, 1000),
        declared: cut(a.declaredType, 200),
        detected: sniffed?.mime ?? 'unknown (text or no signature)',
        size: a.bytes.length,
        sha256: createHash('sha256').update(a.bytes).digest('hex'),
      });
    }
  } catch (err) {
    view.parseError = (err instanceof Error ? err.message : String(err)).slice(0, 500);
  }
  return view;
}
