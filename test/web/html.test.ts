// The console's escaping and JST times, against the plain forms they replace:
// esc() and shown() write exactly what escaping every character one by one
// writes (hidden characters as <U+XXXX>; shown(), for text between tags,
// leaves quotes as they are), and when() exactly what
// Intl.DateTimeFormat in Asia/Tokyo writes, in both languages.
import { describe, expect, it } from 'vitest';
import { visible } from '../../src/audit/visible.js';
import { esc, shown, when } from '../../src/web/console/html.js';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** The reference: hidden characters written out first, then every one of the five, a character at a time. */
const plainEsc = (v: unknown): string => [...visible(String(v ?? ''))].map((c) => ENTITIES[c] ?? c).join('');
/** Text between tags: the three that start markup, quotes as they are. */
const plainText = (v: unknown): string => [...visible(String(v ?? ''))].map((c) => (c === '"' || c === "'" ? c : (ENTITIES[c] ?? c))).join('');
const plainShown = (v: unknown): string => plainText(v).replace(/&lt;U\+([0-9A-F]{4,6})&gt;/g, '<span class="hidden-char">&lt;U+$1&gt;</span>');

describe('esc and shown', () => {
  it('write every string exactly as escaping each character does, hidden ones marked', () => {
    const pieces = [
      'a',
      '予算',
      '&',
      '<',
      '>',
      '"',
      "'",
      '\u202E',
      '\u200B',
      '\u0000',
      '\u0007',
      '\n',
      '\u2028',
      '\u2029',
      '\uD800',
      '\uDC00',
      '😀',
      '\uE000',
      '\u115F',
      '\u3164',
      '\uFFA0',
      '<U+202E>',
      'ｱ',
      '会議',
      'ー',
      '　',
      '＜',
      '\u30FF',
      '\uFF9F',
      '\uFFA0',
      ' ',
      '~',
      '\u007F',
      '\t',
      '\u0080',
      '\u00AD',
      'é',
    ];
    const samples: unknown[] = [null, undefined, 0, 42, '', ...pieces, JSON.stringify({ from: 'a@example.jp', to: ['b@example.jp'], verdict: 'sanitized' })];
    // Every pair and a few thousand mixes of the pieces.
    for (const a of pieces) for (const b of pieces) samples.push(a + b);
    let seed = 7;
    const next = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648);
    for (let i = 0; i < 3000; i++) samples.push(Array.from({ length: 1 + (next() % 12) }, () => pieces[next() % pieces.length]).join(''));
    for (const s of samples) {
      expect(esc(s)).toBe(plainEsc(s));
      expect(shown(s)).toBe(plainShown(s));
    }
    // Every ASCII character alone, and all of them in one string (the one-pass path for printable ASCII and its way out).
    const ascii = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i));
    for (const s of [...ascii, ascii.join(''), ascii.slice(32, 127).join('')]) {
      expect(esc(s)).toBe(plainEsc(s));
      expect(shown(s)).toBe(plainShown(s));
    }
    expect(esc('a<b>"c"&\'d\'')).toBe('a&lt;b&gt;&quot;c&quot;&amp;&#39;d&#39;');
    // Every character of the Japanese ranges shown and escaped as it is (the one-pass path for them): none is hidden or starts markup.
    for (const [from, to] of [
      [0x3000, 0x30ff],
      [0x3400, 0x4dbf],
      [0x4e00, 0x9fff],
      [0xff01, 0xff9f],
    ] as const) {
      let all = '';
      for (let c = from; c <= to; c++) all += String.fromCharCode(c);
      expect(shown(all)).toBe(plainShown(all));
      expect(shown(all)).toBe(all);
      expect(esc(all)).toBe(plainEsc(all));
    }
    expect(shown('会議<資料>＆予算')).toBe('会議&lt;資料&gt;＆予算');
    expect(shown(`予算\u202E資料`)).toBe('予算<span class="hidden-char">&lt;U+202E&gt;</span>資料');
    expect(shown('a<b>"c"&\'d\'')).toBe('a&lt;b&gt;"c"&amp;\'d\'');
    expect(shown('x\u202Ey')).toBe('x<span class="hidden-char">&lt;U+202E&gt;</span>y');
    // Nothing to write out: the same string.
    expect(esc('会議資料 No.3')).toBe('会議資料 No.3');
  });
});

describe('when', () => {
  const intl = {
    ja: new Intl.DateTimeFormat('ja-JP', { timeZone: 'Asia/Tokyo', dateStyle: 'medium', timeStyle: 'medium' }),
    en: new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Tokyo', dateStyle: 'medium', timeStyle: 'medium' }),
  };
  it('writes what Intl writes in JST, in both languages, at every time of day and across the years', () => {
    const times: number[] = [];
    // Each month's edges (the hour 0 and 23 of JST, the minute and second 59, midnight UTC) from 1940 (summer time 1948-1951) to 2100.
    for (let y = 1940; y <= 2100; y += 1) {
      for (let m = 0; m < 12; m++) {
        const first = Date.UTC(y, m, 1) - 9 * 3_600_000;
        times.push(first, first - 1000, first + 1000, first + 23 * 3_600_000 + 59 * 60_000 + 59_000, first + 9 * 3_600_000, first + 15 * 86_400_000 + 3_723_456);
      }
    }
    let seed = 11;
    const next = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648);
    for (let i = 0; i < 20_000; i++) times.push(Date.UTC(1900, 0, 1) + next() * 2_000 + (next() % 1000));
    times.push(Date.parse('0999-06-01T00:00:00Z'), Date.parse('9999-12-31T23:59:59Z'), 0, -1);
    for (const t of times) {
      const iso = new Date(t).toISOString();
      expect(when(iso, 'ja')).toBe(`${intl.ja.format(t)} JST`);
      expect(when(iso, 'en')).toBe(`${intl.en.format(t)} JST`);
    }
    expect(when('2026-12-07T15:04:05.000Z', 'ja')).toBe('2026/12/08 0:04:05 JST');
    expect(when('2026-12-07T15:04:05.000Z', 'en')).toBe('8 Dec 2026, 00:04:05 JST');
  });

  it('leaves what is not a time as it is', () => {
    expect(when('not a time', 'ja')).toBe('not a time');
    expect(when('', 'en')).toBe('');
  });
});
