// HTML for the console: plain server-rendered pages, every value escaped,
// no script at all (the Content-Security-Policy forbids it). Characters that
// hide or reorder text (U+202E, zero-width spaces, controls) are written out
// as <U+202E>, and marked where a page shows data (tables).
import { HIDDEN_CHARS, visible } from '../../audit/visible.js';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** What `esc` writes otherwise: the five of HTML and the hidden ones (as &lt;U+XXXX&gt;). */
const SPECIAL = new RegExp(`[&<>"'${HIDDEN_CHARS}]`, 'u');
const SPECIAL_ALL = new RegExp(SPECIAL.source, 'gu');
const written = (c: string): string => ENTITIES[c] ?? `&lt;${visible(c).slice(1, -1)}&gt;`;

/**
 * Japanese text none of whose characters is hidden or starts markup: CJK
 * symbols and punctuation, kana, the CJK ideographs, full-width forms
 * (test/web/html.test.ts checks every one against the full pattern).
 */
const plainJapanese = (c: number): boolean => (c >= 0x3000 && c <= 0x30ff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xff01 && c <= 0xff9f);

/**
 * Printable ASCII and plain Japanese with `& < >` written out (and the quotes
 * too, for an attribute's value), in one pass; null when the text holds
 * anything else (a control, a character that may hide text), which the full
 * pattern must look at. Most of a page is such text (times, addresses, ids,
 * the audit log's JSON, Japanese words), and a pattern of Unicode classes
 * with a callback per quote costs several times more.
 */
const onePass = (s: string, quotes: boolean): string | null => {
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) {
      if (plainJapanese(c)) continue;
      return null;
    }
    const e = c === 0x26 ? '&amp;' : c === 0x3c ? '&lt;' : c === 0x3e ? '&gt;' : !quotes ? null : c === 0x22 ? '&quot;' : c === 0x27 ? '&#39;' : null;
    if (e === null) continue;
    out += s.slice(from, i) + e;
    from = i + 1;
  }
  return from === 0 ? s : out + s.slice(from);
};

/** Plain text in one pass; other text tested first (most has nothing to write out), then written out in one pass. */
export const esc = (v: unknown): string => {
  const s = typeof v === 'string' ? v : String(v ?? '');
  return onePass(s, true) ?? (SPECIAL.test(s) ? s.replace(SPECIAL_ALL, written) : s);
};

/** Written-out hidden characters marked, and text that looks like one (a sender's own "<U+202E>") marked the same. */
const marked = (e: string): string => (e.includes('&lt;U+') ? e.replace(/&lt;U\+([0-9A-F]{4,6})&gt;/g, '<span class="hidden-char">&lt;U+$1&gt;</span>') : e);

/** What `shown` writes otherwise: the three that start markup and the hidden ones. */
const TEXT_SPECIAL = new RegExp(`[&<>${HIDDEN_CHARS}]`, 'u');
const TEXT_SPECIAL_ALL = new RegExp(TEXT_SPECIAL.source, 'gu');

/**
 * An escaped value for text between tags (a cell, a list item, a <pre>),
 * hidden characters marked so that they stand out. Never for an attribute's
 * value: quotes are left as they are (between tags they are only text, and
 * the audit log's JSON is full of them); `esc` writes those.
 */
export const shown = (v: unknown): string => {
  const s = typeof v === 'string' ? v : String(v ?? '');
  const plain = onePass(s, false);
  if (plain !== null) return plain === s ? s : marked(plain);
  return TEXT_SPECIAL.test(s) ? marked(s.replace(TEXT_SPECIAL_ALL, written)) : s;
};

const clocks = {
  ja: new Intl.DateTimeFormat('ja-JP', { timeZone: 'Asia/Tokyo', dateStyle: 'medium', timeStyle: 'medium' }),
  en: new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Tokyo', dateStyle: 'medium', timeStyle: 'medium' }),
};

const JST = 9 * 3_600_000;
const DAY = 86_400_000;
/** From here on Japan's clock is UTC+9 all year (no summer time since 1951). */
const FIXED_FROM = Date.parse('1952-01-01T00:00:00+09:00');
const FIXED_UNTIL = Date.parse('9999-01-01T00:00:00+09:00');
/** Per language, the days met lately: what Intl writes before the hour, and whether it writes the hour in two digits. */
const days = { ja: new Map<number, { before: string; twoDigitHour: boolean }>(), en: new Map<number, { before: string; twoDigitHour: boolean }>() };

/** Intl's words for the day (formatted once a day), the time of day in digits: the same text as Intl's, a fraction of the cost. */
const clockOf = (t: number, lang: 'ja' | 'en'): string => {
  if (t < FIXED_FROM || t >= FIXED_UNTIL) return clocks[lang].format(t);
  const local = t + JST;
  const day = Math.floor(local / DAY);
  const seen = days[lang];
  let d = seen.get(day);
  if (!d) {
    const parts = clocks[lang].formatToParts(day * DAY - JST);
    const hour = parts.findIndex((p) => p.type === 'hour');
    // A form of another kind (another ICU): Intl's own, every time.
    if (
      hour < 0 ||
      parts
        .slice(hour + 1)
        .map((p) => p.type)
        .join() !== 'literal,minute,literal,second' ||
      parts[hour + 1]!.value !== ':' ||
      parts[hour + 3]!.value !== ':'
    )
      return clocks[lang].format(t);
    if (seen.size >= 4096) seen.clear();
    d = {
      before: parts
        .slice(0, hour)
        .map((p) => p.value)
        .join(''),
      twoDigitHour: parts[hour]!.value.length === 2,
    };
    seen.set(day, d);
  }
  const s = Math.floor((local - day * DAY) / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor(s / 60) % 60;
  const sec = s % 60;
  return `${d.before}${d.twoDigitHour && h < 10 ? '0' : ''}${h}:${m < 10 ? '0' : ''}${m}:${sec < 10 ? '0' : ''}${sec}`;
};

/** An ISO time as Japan reads it (JST, whatever the server's zone). */
export const when = (iso: string, lang: 'ja' | 'en'): string => {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `${clockOf(t, lang)} JST`;
};

/** A cell that is already HTML (a form with a button). */
export class Raw {
  constructor(readonly html: string) {}
}

/** A table: one header row, then the rows, each cell escaped (unless Raw). */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[], empty: string): string {
  if (rows.length === 0) return `<p class="none">${esc(empty)}</p>`;
  let out = '<table><thead><tr>';
  for (const h of headers) out += `<th>${esc(h)}</th>`;
  out += '</tr></thead><tbody>\n';
  for (const r of rows) {
    out += '<tr>';
    for (const c of r) out += c instanceof Raw ? `<td>${c.html}</td>` : `<td>${shown(c)}</td>`;
    out += '</tr>\n';
  }
  return `${out}</tbody></table>`;
}

export function page(o: { lang: string; title: string; body: string }): string {
  return `<!doctype html>
<html lang="${esc(o.lang)}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(o.title)}</title><link rel="stylesheet" href="/console.css"></head>
<body>
${o.body}
</body>
</html>
`;
}

export const STYLESHEET = `
body { font-family: "Noto Sans CJK JP", "Hiragino Sans", "Yu Gothic", sans-serif; margin: 2rem; color: #1a1a1a; }
header { display: flex; gap: 1rem; align-items: baseline; border-bottom: 1px solid #ccc; padding-bottom: .5rem; }
header h1 { font-size: 1.2rem; margin: 0; flex: 1; }
form.login { max-width: 22rem; display: grid; gap: .6rem; }
label { display: grid; gap: .2rem; }
input { font-size: 1rem; padding: .3rem; }
button { font-size: 1rem; padding: .3rem .8rem; }
.error { color: #a00; }
.notice { color: #060; }
table { border-collapse: collapse; margin-top: .5rem; }
th, td { border: 1px solid #ccc; padding: .2rem .5rem; text-align: left; font-size: .9rem; }
th { white-space: nowrap; }
.audit-log td:nth-child(2), .audit-log td:nth-child(4), .audit-log td:nth-child(8) { white-space: nowrap; }
.audit-log td:last-child { word-break: break-all; min-width: 16rem; }
.hidden-char { background: #fde68a; color: #7c2d12; font-family: monospace; border: 1px solid #d97706; border-radius: 2px; }
nav { display: flex; gap: 1rem; margin: .5rem 0; }
.qr { background: #fff; padding: .5rem; display: inline-block; border: 1px solid #ccc; }
.secret, .codes { font-family: monospace; font-size: 1.1rem; letter-spacing: .05em; }
.codes li { margin: .2rem 0; }
form.inline { display: inline; }
section { margin-top: 1.5rem; }
pre.original, pre.policy { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f6f6; border: 1px solid #ccc; padding: .5rem; max-height: 40rem; overflow: auto; }
`;
