// Property tests over hostile input: whatever bytes arrive, sanitize() resolves
// with a decision, never rejects (the quarantine here always works), delivers
// only conformant mail made of text/plain, image/png and image/jpeg parts, and
// keeps the exact original whenever it reports a finding.
//
// Three generators: (a) random bytes and MIME-token soup, (b) structured MIME
// built from arbitraries (headers, multipart trees, types, transfer encodings,
// charsets, all of them sometimes wrong), (c) mutations of samples/*.eml.
//
// "Resolves" is checked with a bound: every policy here has a 3 s message
// deadline, and no verdict within 10 s counts as a hang.
//
// Each property prints its seed. Reproduce a run with FC_SEED=<seed>; run
// longer with FC_RUNS=<runs per property> (default 300). On failure
// fast-check also prints the seed, the path and the shrunk counterexample.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Encoding from 'encoding-japanese';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { simpleParser } from 'mailparser';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../src/core/policy.js';
import { sanitize, type SanitizeResult } from '../../src/core/sanitize.js';
import { ALLOWED_LEAF_TYPES, violations } from '../helpers/conformance.js';
import { harness, policyWith, type Harness } from '../helpers/run.js';

// ---------------------------------------------------------------------------
// Run settings
// ---------------------------------------------------------------------------

const RUNS = Number(process.env.FC_RUNS ?? 300);
const FIXED_SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
// Time for a whole property, shrinking included (~30 ms a run, with room for a slow machine).
const TIME_LIMIT = Math.max(60_000, RUNS * 200);

function settings(label: string): fc.Parameters<unknown> {
  const seed = FIXED_SEED ?? (Date.now() ^ Math.floor(Math.random() * 0x1_0000_0000)) | 0;
  console.log(`[property] ${label}: seed ${seed}, ${RUNS} runs (reproduce with FC_SEED=${seed})`);
  return {
    seed,
    numRuns: RUNS,
    // Bound the whole property, shrinking included; an interruption is a failure.
    interruptAfterTimeLimit: TIME_LIMIT,
    markInterruptAsFailure: true,
  };
}

const PROPERTY_TIMEOUT = TIME_LIMIT + 30_000;

// ---------------------------------------------------------------------------
// The check every generated message goes through
// ---------------------------------------------------------------------------

let h: Harness;

beforeAll(async () => {
  h = await harness();
});

afterAll(() => {
  if (h) rmSync(h.dataDir, { recursive: true, force: true });
});

// Every policy has a short message deadline, so that "a verdict for any input"
// can be checked with a bound: no verdict within VERDICT_WITHIN_MS (several
// times the policy's own deadline) means sanitize() hangs.
const TIMEOUT_MS = 3000;
const VERDICT_WITHIN_MS = 10_000;
// The default policy, then limits small enough that generated messages hit
// them (the structure-limit and oversize paths, quarantining and rejecting),
// then the English notice without a subject tag.
const POLICIES: readonly Policy[] = [
  policyWith({ limits: { timeoutMs: TIMEOUT_MS } }),
  policyWith({ limits: { timeoutMs: TIMEOUT_MS, maxMimeDepth: 3, maxParts: 8, maxHeaderBytes: 1024, maxMessageBytes: 6000 }, actions: { oversize: 'quarantine' } }),
  policyWith({ limits: { timeoutMs: TIMEOUT_MS, maxMimeDepth: 2, maxParts: 4, maxMessageBytes: 2500 }, actions: { oversize: 'reject', structureLimit: 'reject' } }),
  policyWith({ language: 'en', output: { subjectTag: '' }, limits: { timeoutMs: TIMEOUT_MS } }),
];
const policyArb = fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constant(2) }, { weight: 1, arbitrary: fc.constant(3) });

const show = (raw: Uint8Array): string => JSON.stringify(Buffer.from(raw).toString('latin1').slice(0, 3000));

async function check(raw: Buffer, policyIndex = 0): Promise<void> {
  const policy = POLICIES[policyIndex]!;
  const original = Buffer.from(raw);
  let result: SanitizeResult;
  let timer: NodeJS.Timeout | undefined;
  try {
    result = await Promise.race([
      sanitize({ raw }, policy, h.deps),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no verdict within ${VERDICT_WITHIN_MS} ms (policy timeoutMs ${policy.limits.timeoutMs})`)), VERDICT_WITHIN_MS);
      }),
    ]).finally(() => clearTimeout(timer));
  } catch (err) {
    throw new Error(`sanitize() did not resolve (policy ${policyIndex}): ${err instanceof Error ? err.stack : String(err)}\ninput: ${show(original)}`);
  }
  const context = `policy ${policyIndex}, verdict ${result.verdict}, findings ${JSON.stringify(result.findings)}\ninput: ${show(original)}`;
  expect(raw.equals(original), `the input buffer was modified; ${context}`).toBe(true);
  expect(
    result.findings.every((f) => typeof f.code === 'string'),
    context,
  ).toBe(true);

  if (result.action === 'reject') {
    expect(result.verdict, context).toBe('rejected');
    expect(result.message, context).toBeNull();
    expect(result.quarantineId, context).toBeNull();
    expect(result.findings.length, context).toBeGreaterThan(0);
    return;
  }

  expect(result.action, context).toBe('deliver');
  expect(['clean', 'sanitized', 'blocked'], context).toContain(result.verdict);
  expect(Buffer.isBuffer(result.message), context).toBe(true);
  const out = result.message;

  // Conformance, including "every leaf is text/plain, image/png or image/jpeg" (mailsplit's view).
  expect(await violations(out), `${context}\noutput: ${show(out)}`).toEqual([]);

  // A second opinion on the parts, from mailparser.
  const mail = await simpleParser(out);
  expect(mail.html, `HTML crossed; ${context}`).toBe(false);
  for (const a of mail.attachments) {
    expect(ALLOWED_LEAF_TYPES.has(a.contentType), `delivered part ${a.contentType}; ${context}`).toBe(true);
  }
  expect(mail.headers.get('x-mugaika-verdict'), context).toBe(result.verdict);

  if (result.findings.length > 0) {
    expect(result.verdict, context).not.toBe('clean');
    expect(result.quarantineId, `findings but no quarantine id; ${context}`).toEqual(expect.any(String));
    expect(mail.headers.get('x-mugaika-quarantine-id'), context).toBe(result.quarantineId);
    const stored = await h.store.get(result.quarantineId!);
    expect(stored.raw.equals(original), `quarantine holds ${stored.raw.length} bytes, not the ${original.length}-byte original; ${context}`).toBe(true);
  } else {
    expect(result.verdict, context).toBe('clean');
    expect(result.quarantineId, context).toBeNull();
  }
}

// ---------------------------------------------------------------------------
// Small building blocks
// ---------------------------------------------------------------------------

const CRLF = '\r\n';
const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

const charOf = (min: number, max: number): fc.Arbitrary<string> => fc.integer({ min, max }).map((c) => String.fromCodePoint(c));

/** Hiragana, katakana, CJK ideographs, full-width forms, NEC specials. */
const cjkText = fc.string({
  unit: fc.oneof(charOf(0x3040, 0x30ff), charOf(0x4e00, 0x9fff), charOf(0xff01, 0xff9f), fc.constantFrom('①', '㈱', '髙', '﨑', '〜', '―', '¥', '＼', '…')),
  maxLength: 40,
});
const loneSurrogates = fc.string({ unit: charOf(0xd800, 0xdfff), maxLength: 3 });
const controlText = fc.string({
  unit: fc.constantFrom('\0', '\x01', '\x07', '\x08', '\x0b', '\x0c', '\x1b', '\x7f', '\x85', '\u2028', '\u202e', '\u2066', '\u200b', '\ufeff', '\r', '\n', '\r\n', '\t'),
  maxLength: 6,
});
const anyText = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: 'grapheme-ascii', maxLength: 30 }), cjkText, loneSurrogates);
const mixedText = fc.array(fc.oneof({ weight: 3, arbitrary: anyText }, { weight: 2, arbitrary: cjkText }, { weight: 1, arbitrary: controlText }), { maxLength: 6 }).map((a) => a.join(''));

const CHARSETS = [
  'utf-8',
  'UTF-8',
  'iso-2022-jp',
  'ISO-2022-JP',
  'shift_jis',
  'Shift_JIS',
  'cp932',
  'euc-jp',
  'EUC-JP',
  'utf-16',
  'utf-16le',
  'us-ascii',
  'iso-8859-1',
  'windows-1252',
  'utf-7',
  'gb2312',
  'koi8-r',
  'x-unknown',
  'bogus',
  '',
];
const charsetName = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...CHARSETS) }, { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 12 }) });

/** `text` in `charset`, as a mail client would have written it (UTF-8 for names we do not know). */
function encodeIn(text: string, charset: string): Buffer {
  const cs = charset.trim().toLowerCase();
  if (cs.startsWith('iso-2022-jp')) return Buffer.from(Encoding.convert(Encoding.stringToCode(text), { to: 'JIS', from: 'UNICODE' }) as number[]);
  const name = cs === 'shift_jis' ? 'cp932' : cs === 'euc-jp' ? 'eucjp' : cs;
  if (name && iconv.encodingExists(name)) return iconv.encode(text, name);
  return utf8(text);
}

/** Text in the declared charset, or (sometimes) in another one: a lying charset. */
const textInCharset = (text: fc.Arbitrary<string>) =>
  fc.record({ text, declared: charsetName, actual: fc.option(charsetName, { freq: 4 }) }).map(({ text: t, declared, actual }) => ({
    declared,
    bytes: encodeIn(t, actual ?? declared),
  }));

const qEncode = (bytes: Buffer): string =>
  [...bytes].map((b) => (b > 0x20 && b < 0x7f && b !== 0x3d && b !== 0x3f && b !== 0x5f ? String.fromCharCode(b) : b === 0x20 ? '_' : `=${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');

/** One or more RFC 2047 encoded words, split anywhere (even inside a character), sometimes broken. */
const encodedWords = fc
  .record({
    payload: textInCharset(mixedText),
    q: fc.boolean(),
    cuts: fc.array(fc.nat(), { maxLength: 3 }),
    joiner: fc.constantFrom(' ', '\r\n ', '\r\n\t', '', '\n '),
    breakage: fc.constantFrom('none', 'none', 'none', 'bad-base64', 'no-end', 'no-charset', 'bad-encoding', 'lowercase'),
  })
  .map(({ payload, q, cuts, joiner, breakage }) => {
    const bytes = payload.bytes;
    const points = [...new Set(cuts.map((c) => (bytes.length ? c % bytes.length : 0)))].sort((a, b) => a - b);
    const chunks: Buffer[] = [];
    let last = 0;
    for (const p of [...points, bytes.length]) {
      chunks.push(bytes.subarray(last, p));
      last = p;
    }
    const words = chunks.map((chunk) => {
      let data = q ? qEncode(chunk) : chunk.toString('base64');
      if (breakage === 'bad-base64' && !q) data = data.replace(/=+$/, '') + '!*';
      const enc = breakage === 'bad-encoding' ? 'X' : q ? (breakage === 'lowercase' ? 'q' : 'Q') : breakage === 'lowercase' ? 'b' : 'B';
      const cs = breakage === 'no-charset' ? '' : payload.declared;
      return `=?${cs}?${enc}?${data}${breakage === 'no-end' ? '' : '?='}`;
    });
    return latin1(words.join(joiner));
  });

/** Header text: plain, 8-bit raw bytes in some charset, encoded words, control characters, CR/LF. */
const headerValue = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 30 }).map(latin1) },
      { weight: 3, arbitrary: encodedWords },
      { weight: 2, arbitrary: textInCharset(mixedText).map((t) => t.bytes) },
      { weight: 1, arbitrary: controlText.map(utf8) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b)) },
    ),
    { maxLength: 4 },
  )
  .map((parts) => Buffer.concat(parts));

const localPart = fc.oneof(fc.stringMatching(/^[a-z0-9._+-]{1,20}$/), fc.string({ unit: 'grapheme', maxLength: 10 }), fc.constantFrom('', '"quoted local"', 'a..b', '.x', 'x.'));
const domainPart = fc.oneof(
  fc.domain(),
  fc.constantFrom('example.jp', 'city.example.lg.jp', 'pref.example.jp', '例え.テスト', 'xn--r8jz45g.xn--zckzah', '[192.0.2.1]', 'localhost', '', 'a'.repeat(300), 'evil.example.net.'),
);
const address = fc.tuple(localPart, domainPart).map(([l, d]) => utf8(`${l}@${d}`));
const mailboxValue = fc.oneof(
  address,
  fc.tuple(headerValue, address).map(([name, addr]) => Buffer.concat([name, latin1(' <'), addr, latin1('>')])),
  fc.tuple(headerValue, address).map(([name, addr]) => Buffer.concat([latin1('"'), name, latin1('" <'), addr, latin1('>')])),
  fc.constantFrom('undisclosed-recipients:;', 'Group: a@example.jp, b@example.jp;', '<>', '@', 'a@b@c', '<a@example.jp', 'a@example.jp>').map(latin1),
  headerValue,
);
const addressList = fc.array(mailboxValue, { minLength: 1, maxLength: 4 }).map((list) => Buffer.concat(list.flatMap((m, i) => (i ? [latin1(', '), m] : [m]))));

const headerLine = (name: string, value: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer | null> =>
  fc.option(
    value.map((v) => Buffer.concat([latin1(`${name}: `), v])),
    { freq: 6 },
  );

const dateValue = fc
  .oneof(
    fc.constantFrom('Thu, 26 Nov 2026 10:00:00 +0900', 'Mon, 1 Jan 1900 00:00:00 +0000', '26 Nov 2026', 'yesterday', '', 'Thu, 31 Feb 2026 25:61:61 +9999'),
    fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
    fc.string({ unit: 'grapheme-ascii', maxLength: 30 }),
  )
  .map(latin1);
const messageIdValue = fc
  .oneof(
    fc.tuple(fc.stringMatching(/^[A-Za-z0-9.$_-]{1,30}$/), fc.domain()).map(([l, d]) => `<${l}@${d}>`),
    fc.constantFrom('', '<>', 'no-brackets@example.jp', '<a@b> <c@d>', `<${'x'.repeat(400)}@example.jp>`),
    fc.string({ unit: 'grapheme', maxLength: 30 }),
  )
  .map(utf8);

const extraHeader = fc
  .tuple(
    fc.oneof(
      fc.constantFrom('Reply-To', 'Cc', 'X-Mailer', 'Received', 'Content-Type', 'Subject', 'From', 'Return-Path', 'Content-Transfer-Encoding', 'MIME-Version', 'X-Mugaika-Verdict'),
      fc.stringMatching(/^[!-9;-~]{1,20}$/),
    ),
    headerValue,
  )
  .map(([name, value]) => Buffer.concat([latin1(`${name}: `), value]));

/** The top-level header block, in a random order, any field possibly missing or repeated. */
const topHeaders = fc
  .record({
    fixed: fc.tuple(
      headerLine('From', addressList),
      headerLine('To', addressList),
      headerLine('Cc', addressList),
      headerLine('Subject', headerValue),
      headerLine('Date', dateValue),
      headerLine('Message-ID', messageIdValue),
      headerLine('MIME-Version', fc.constantFrom('1.0', '1.0 (produced by fuzz)', '2.0', '').map(latin1)),
    ),
    extra: fc.array(extraHeader, { maxLength: 3 }),
    rotate: fc.nat(),
  })
  .map(({ fixed, extra, rotate }) => {
    const lines = [...fixed.filter((l): l is Buffer => l !== null), ...extra];
    const r = lines.length ? rotate % lines.length : 0;
    return [...lines.slice(r), ...lines.slice(0, r)];
  });

// ---------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------

/** Boundaries used by multiparts, also sprinkled into bodies so that they collide. */
const BOUNDARY_POOL = ['b', '=_b', 'boundary', '----=_Part_0_1234.5678', "'()+_,-./:=?", 'a b', 'ＢＯＵＮＤ', ''];

const urlArb = fc.oneof(
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.constantFrom(
    'javascript:alert(1)',
    'JaVaScRiPt:void(0)',
    ' javascript:x',
    'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
    'vbscript:msgbox(1)',
    'file:///C:/Windows/system32',
    'mailto:a@example.jp?subject=x',
    '#top',
    '/relative/path',
    '//evil.example.net/x',
    'https://www.city.example.lg.jp/login',
    'https://evil.example.net/login',
    'http://例え.テスト/パス',
    'https://user:pass@host.example:8080/?q=1#f',
    'https://click.example.com/t/abc?u=https%3A%2F%2Fevil.example.net',
    'ftp://files.example.jp/a.zip',
    'http://[::1]/',
    'http://192.0.2.1/',
    'https://',
    '',
  ),
);

const bodyText = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: mixedText },
      { weight: 2, arbitrary: cjkText },
      { weight: 1, arbitrary: urlArb.map((u) => ` ${u} `) },
      { weight: 1, arbitrary: fc.constantFrom(...BOUNDARY_POOL).map((b) => `\r\n--${b}\r\n`) },
      { weight: 1, arbitrary: fc.constantFrom(...BOUNDARY_POOL).map((b) => `\r\n--${b}--\r\n`) },
      { weight: 1, arbitrary: fc.constantFrom('\r\n.\r\n', '\r\nFrom someone\r\n', 'www.example.jp', '\r\n\r\n\r\n', 'あ'.repeat(1200), 'x'.repeat(2000), '=?utf-8?B?5pel5pys?=') },
    ),
    { maxLength: 8 },
  )
  .map((a) => a.join(''));

const HTML_TAGS = [
  'p',
  'div',
  'span',
  'b',
  'a',
  'img',
  'table',
  'tr',
  'td',
  'th',
  'ul',
  'li',
  'h1',
  'h3',
  'br',
  'script',
  'style',
  'noscript',
  'form',
  'input',
  'button',
  'iframe',
  'object',
  'embed',
  'svg',
  'template',
  'head',
  'body',
  'html',
  'meta',
  'title',
  'font',
  'center',
  'blockquote',
  'pre',
  'select',
  'textarea',
  'x-unknown',
];
const htmlAttr = fc.oneof(
  urlArb.map((u) => `href="${u}"`),
  urlArb.map((u) => `src='${u}'`),
  fc.constantFrom(
    'onclick="alert(1)"',
    'onload=alert(1)',
    'style="display:none"',
    'alt="イベント写真"',
    'alt',
    'width=1 height=1',
    'action="https://evil.example.net/post"',
    'bgcolor=#fff',
    'dir=rtl',
    'srcset="a.png 1x"',
  ),
  fc.tuple(fc.stringMatching(/^[a-z-]{1,8}$/), anyText).map(([k, v]) => `${k}="${v}"`),
);
const { html: htmlArb } = fc.letrec<{ html: string; node: string }>((tie) => ({
  html: fc.array(tie('node'), { maxLength: 6 }).map((a) => a.join('')),
  node: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    { weight: 3, arbitrary: fc.oneof(mixedText, cjkText).map((t) => t.replace(/</g, '&lt;')) },
    {
      weight: 3,
      arbitrary: fc
        .record({ tag: fc.constantFrom(...HTML_TAGS), attrs: fc.array(htmlAttr, { maxLength: 3 }), inner: tie('html'), close: fc.boolean() })
        .map(({ tag, attrs, inner, close }) => `<${tag}${attrs.map((a) => ` ${a}`).join('')}>${inner}${close ? `</${tag}>` : ''}`),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '<!-- comment -->',
        '<!--',
        '<![CDATA[x]]>',
        '<br>',
        '<hr/>',
        '<?xml version="1.0"?>',
        '<!DOCTYPE html>',
        '</p>',
        '<',
        '>',
        '&',
        '&#x202e;',
        '&#0;',
        '&nbsp;',
        '&#xD800;',
        '&#1114112;',
        '<script>document.write("<a href=x>")</script>',
        '<a href="https://evil.example.net/login">https://www.city.example.lg.jp/login</a>',
        '<img src="https://tracker.example.com/p.gif" width="1" height="1">',
        '<style>body{background:url(https://x.example/a)}</style>',
        '<meta http-equiv="refresh" content="0;url=https://evil.example.net">',
      ),
    },
  ),
}));

const ics = fc
  .record({ summary: mixedText, url: urlArb, method: fc.constantFrom('REQUEST', 'CANCEL', 'PUBLISH', ''), close: fc.boolean() })
  .map(({ summary, url, method, close }) =>
    [
      'BEGIN:VCALENDAR',
      `METHOD:${method}`,
      'BEGIN:VEVENT',
      `SUMMARY:${summary}`,
      'DTSTART:20261126T100000Z',
      `URL:${url}`,
      `DESCRIPTION:${summary}\\n${url}`,
      ...(close ? ['END:VEVENT', 'END:VCALENDAR'] : []),
    ].join('\r\n'),
  );

// Real tiny images, made once with sharp from seeded noise.
const noise = (w: number, h: number, channels: number): Buffer => {
  const b = Buffer.alloc(w * h * channels);
  let x = 0x9e3779b9;
  for (let i = 0; i < b.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
};
const TINY_PNG = await sharp(noise(4, 3, 4), { raw: { width: 4, height: 3, channels: 4 } })
  .png()
  .toBuffer();
const TINY_JPEG = await sharp(noise(16, 8, 3), { raw: { width: 16, height: 8, channels: 3 } })
  .jpeg({ quality: 80 })
  .withMetadata({ exif: { IFD0: { Make: 'fuzz' } } })
  .toBuffer();
const TINY_GIF = await sharp(noise(5, 5, 3), { raw: { width: 5, height: 5, channels: 3 } })
  .gif()
  .toBuffer();
const REAL_IMAGES = [TINY_PNG, TINY_JPEG, TINY_GIF];

const imageBytes = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...REAL_IMAGES) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...REAL_IMAGES), fc.nat()).map(([img, cut]) => img.subarray(0, cut % img.length)) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(...REAL_IMAGES), fc.nat(), fc.integer({ min: 1, max: 255 })).map(([img, at, x]) => {
      const c = Buffer.from(img);
      const i = at % c.length;
      c[i] = c[i]! ^ x;
      return c;
    }),
  },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...REAL_IMAGES), fc.uint8Array({ maxLength: 64 })).map(([img, tail]) => Buffer.concat([img.subarray(0, 16), tail])) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)) },
);

const randomBytes = fc.uint8Array({ maxLength: 1024, size: 'large' }).map((b) => Buffer.from(b));

interface Content {
  type: string;
  charset: string | null;
  bytes: Buffer;
}

const textContent = (type: string, text: fc.Arbitrary<string>): fc.Arbitrary<Content> =>
  fc.record({ t: textInCharset(text), charsetParam: fc.option(fc.constant(true), { freq: 5 }) }).map(({ t, charsetParam }) => ({
    type,
    charset: charsetParam ? t.declared : null,
    bytes: t.bytes,
  }));

const GARBAGE_TYPES = [
  '',
  'text',
  '/',
  'text/',
  '/plain',
  'TEXT/PLAIN',
  'text/plain/extra',
  'image/svg+xml',
  'application/x-msdownload',
  'application/pdf',
  'application/ms-tnef',
  'message/partial',
  'message/delivery-status',
  'multipart/mixed',
  'x/y',
  'text/x-unknown',
  'image/x-icon',
  'image/webp',
  'audio/wav',
  'video/mp4',
  'テキスト/プレーン',
];

const leafContent: fc.Arbitrary<Content> = fc.oneof(
  { weight: 4, arbitrary: textContent('text/plain', bodyText) },
  { weight: 3, arbitrary: textContent('text/html', htmlArb) },
  {
    weight: 1,
    arbitrary: textContent(
      'text/csv',
      fc
        .array(fc.constantFrom('=HYPERLINK("https://evil.example.net")', '+81-3-0000-0000', "-2+3+cmd|' /C calc'!A0", '@SUM(A1)', '髙橋', '山﨑', '"a,b"', ''), { maxLength: 6 })
        .map((c) => c.join(',')),
    ),
  },
  { weight: 1, arbitrary: textContent('text/calendar', ics) },
  { weight: 2, arbitrary: imageBytes.map((bytes) => ({ type: 'image/png', charset: null, bytes })) },
  { weight: 2, arbitrary: imageBytes.map((bytes) => ({ type: 'image/jpeg', charset: null, bytes })) },
  { weight: 1, arbitrary: imageBytes.map((bytes) => ({ type: 'image/gif', charset: null, bytes })) },
  { weight: 1, arbitrary: randomBytes.map((bytes) => ({ type: 'application/octet-stream', charset: null, bytes })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.oneof(fc.constantFrom(...GARBAGE_TYPES), fc.string({ unit: 'grapheme', maxLength: 20 })), fc.oneof(randomBytes, bodyText.map(utf8), imageBytes))
      .map(([type, bytes]) => ({ type, charset: null, bytes })),
  },
);

// ---------------------------------------------------------------------------
// Transfer encodings
// ---------------------------------------------------------------------------

const base64Lines = (bytes: Buffer, width: number): string => {
  const s = bytes.toString('base64');
  if (width <= 0) return s;
  const lines: string[] = [];
  for (let i = 0; i < s.length; i += width) lines.push(s.slice(i, i + width));
  return lines.join(CRLF);
};

function qpEncode(bytes: Buffer): string {
  let out = '';
  let line = 0;
  for (const b of bytes) {
    const piece = (b >= 0x21 && b <= 0x7e && b !== 0x3d) || b === 0x20 ? String.fromCharCode(b) : b === 0x0a ? '\n' : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
    if (piece === '\n') {
      out += CRLF;
      line = 0;
      continue;
    }
    if (line + piece.length > 75) {
      out += `=${CRLF}`;
      line = 0;
    }
    out += piece;
    line += piece.length;
  }
  return out;
}

interface Encoded {
  label: string | null;
  body: Buffer;
}

const transferEncoding: fc.Arbitrary<(bytes: Buffer) => Encoded> = fc.oneof(
  fc
    .record({ label: fc.constantFrom('base64', 'BASE64', ' Base64 ', 'base64; x=y'), width: fc.constantFrom(76, 76, 0, 4, 60, 1200) })
    .map(({ label, width }) => (bytes: Buffer) => ({ label, body: latin1(base64Lines(bytes, width)) })),
  fc.record({ how: fc.constantFrom('garbage', 'truncate', 'nopad', 'spaces', 'pad-mid', 'urlsafe'), at: fc.nat() }).map(({ how, at }) => (bytes: Buffer) => {
    let s = base64Lines(bytes, 76);
    const p = s.length ? at % s.length : 0;
    if (how === 'garbage') s = `${s.slice(0, p)}!*@\u00ff~${s.slice(p)}`;
    else if (how === 'truncate') s = s.slice(0, p);
    else if (how === 'nopad') s = s.replace(/=/g, '');
    else if (how === 'spaces') s = s.replace(/(.{7})/g, '$1 ');
    else if (how === 'pad-mid') s = `${s.slice(0, p)}==${s.slice(p)}`;
    else s = s.replace(/\+/g, '-').replace(/\//g, '_');
    return { label: 'base64', body: latin1(s) };
  }),
  fc.constantFrom('quoted-printable', 'Quoted-Printable').map((label) => (bytes: Buffer) => ({ label, body: latin1(qpEncode(bytes)) })),
  fc.nat().map((at) => (bytes: Buffer) => {
    const s = qpEncode(bytes);
    const p = s.length ? at % s.length : 0;
    return { label: 'quoted-printable', body: latin1(`${s.slice(0, p)}=ZZ=\r=${s.slice(p)}=`) };
  }),
  fc.constantFrom('7bit', '8bit', 'binary', '8BIT').map((label) => (bytes: Buffer) => ({ label, body: bytes })),
  fc.oneof(fc.constantFrom('x-uuencode', 'gzip', 'uuencode', 'base-64', ''), fc.string({ unit: 'grapheme-ascii', maxLength: 12 })).map((label) => (bytes: Buffer) => ({ label, body: bytes })),
  fc.constant((bytes: Buffer) => ({ label: null, body: bytes })),
);

const filenameArb = fc.oneof(
  fc.constantFrom(
    '現場写真.jpg',
    '請求書.pdf.exe',
    '議事録\u202efdp.scr',
    '../../etc/passwd',
    'C:\\Windows\\a.txt',
    'a'.repeat(300) + '.png',
    '名簿.csv',
    'invite.ics',
    '',
    '.',
    'con',
    'photo.JPG',
    'x.svg',
  ),
  mixedText,
);
const dispositionArb = fc.option(
  fc
    .record({
      kind: fc.constantFrom('attachment', 'inline', 'ATTACHMENT', 'bogus', ''),
      name: fc.option(filenameArb, { freq: 3 }),
      style: fc.constantFrom('quoted', '2231', '2231-split', '2047', 'raw8bit'),
    })
    .map(({ kind, name, style }) => {
      if (name === null) return latin1(`Content-Disposition: ${kind}`);
      const pct = [...utf8(name)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
      switch (style) {
        case 'quoted':
          return Buffer.concat([latin1(`Content-Disposition: ${kind}; filename="`), utf8(name), latin1('"')]);
        case '2231':
          return latin1(`Content-Disposition: ${kind}; filename*=utf-8''${pct}`);
        case '2231-split':
          return latin1(`Content-Disposition: ${kind};\r\n filename*0*=utf-8''${pct.slice(0, 9)};\r\n filename*1*=${pct.slice(9)}`);
        case '2047':
          return latin1(`Content-Disposition: ${kind}; filename="=?utf-8?B?${utf8(name).toString('base64')}?="`);
        default:
          return Buffer.concat([latin1(`Content-Disposition: ${kind}; filename=`), encodeIn(name, 'shift_jis')]);
      }
    }),
  { freq: 2 },
);

// ---------------------------------------------------------------------------
// MIME trees
// ---------------------------------------------------------------------------

/** One entity: its header lines (without line ends) and its body. */
interface Entity {
  head: Buffer[];
  body: Buffer;
}

const renderEntity = (e: Entity): Buffer => Buffer.concat([...e.head.flatMap((l) => [l, latin1(CRLF)]), latin1(CRLF), e.body]);

const leafEntity: fc.Arbitrary<Entity> = fc
  .record({
    content: leafContent,
    cte: transferEncoding,
    disposition: dispositionArb,
    nameParam: fc.option(filenameArb, { freq: 4 }),
    typeHeader: fc.constantFrom('normal', 'normal', 'normal', 'missing', 'folded', 'duplicate'),
  })
  .map(({ content, cte, disposition, nameParam, typeHeader }) => {
    const encoded = cte(content.bytes);
    let ct = `Content-Type: ${content.type}`;
    if (content.charset !== null) ct += `; charset="${content.charset}"`;
    if (nameParam !== null) ct += `; name=${nameParam}`;
    const head: Buffer[] = [];
    if (typeHeader === 'normal') head.push(utf8(ct));
    else if (typeHeader === 'folded') head.push(utf8(ct.replace('; ', ';\r\n\t')));
    else if (typeHeader === 'duplicate') head.push(utf8(ct), latin1('Content-Type: application/octet-stream'));
    if (encoded.label !== null) head.push(latin1(`Content-Transfer-Encoding: ${encoded.label}`));
    if (disposition) head.push(disposition);
    return { head, body: encoded.body };
  });

const boundaryArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...BOUNDARY_POOL) },
  { weight: 2, arbitrary: fc.stringMatching(/^[0-9A-Za-z'()+_,\-./:=?]{1,70}$/) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 80 }) },
);

const MULTIPART_SUBTYPES = ['mixed', 'alternative', 'related', 'signed', 'report', 'digest', 'parallel', 'x-unknown', 'MIXED'];

const entityAt = (() => {
  const memo = new Map<number, fc.Arbitrary<Entity>>();
  const at = (depth: number): fc.Arbitrary<Entity> => {
    const known = memo.get(depth);
    if (known) return known;
    const arb: fc.Arbitrary<Entity> =
      depth <= 0 ? leafEntity : fc.oneof({ weight: 3, arbitrary: leafEntity }, { weight: 2, arbitrary: multipartEntity(depth) }, { weight: 1, arbitrary: messageEntity(depth) });
    memo.set(depth, arb);
    return arb;
  };
  const multipartEntity = (depth: number): fc.Arbitrary<Entity> =>
    fc
      .record({
        subtype: fc.constantFrom(...MULTIPART_SUBTYPES),
        boundary: boundaryArb,
        declared: fc.constantFrom('quoted', 'quoted', 'bare', 'missing', 'other', 'empty'),
        children: fc.array(at(depth - 1), { maxLength: 4 }),
        preamble: fc.option(bodyText, { freq: 3 }),
        epilogue: fc.option(bodyText, { freq: 3 }),
        closing: fc.constantFrom('close', 'close', 'close', 'missing', 'no-crlf', 'twice'),
        glue: fc.constantFrom(CRLF, CRLF, CRLF, '', '\n', `${CRLF}${CRLF}`),
        cte: fc.option(fc.constantFrom('7bit', '8bit', 'base64', 'quoted-printable'), { freq: 5 }),
      })
      .map(({ subtype, boundary, declared, children, preamble, epilogue, closing, glue, cte }) => {
        const param =
          declared === 'quoted'
            ? `; boundary="${boundary}"`
            : declared === 'bare'
              ? `; boundary=${boundary}`
              : declared === 'other'
                ? '; boundary="not-the-one-used"'
                : declared === 'empty'
                  ? '; boundary=""'
                  : '';
        const head = [utf8(`Content-Type: multipart/${subtype}${param}`)];
        if (cte) head.push(latin1(`Content-Transfer-Encoding: ${cte}`));
        const parts: Buffer[] = [];
        if (preamble !== null) parts.push(utf8(preamble), latin1(CRLF));
        for (const child of children) parts.push(utf8(`--${boundary}${CRLF}`), renderEntity(child), latin1(glue));
        if (closing === 'close' || closing === 'twice') parts.push(utf8(`--${boundary}--${CRLF}`));
        if (closing === 'twice') parts.push(utf8(`--${boundary}--${CRLF}`));
        if (closing === 'no-crlf') parts.push(utf8(`--${boundary}--`));
        if (epilogue !== null) parts.push(utf8(epilogue));
        return { head, body: Buffer.concat(parts) };
      });
  const messageEntity = (depth: number): fc.Arbitrary<Entity> =>
    fc
      .record({
        headers: topHeaders,
        inner: at(depth - 1),
        type: fc.constantFrom('message/rfc822', 'message/rfc822', 'message/global', 'MESSAGE/RFC822'),
        cte: fc.constantFrom(null, null, '7bit', '8bit', 'base64'),
        disposition: fc.constantFrom(null, 'attachment; filename="fwd.eml"', 'inline'),
      })
      .map(({ headers, inner, type, cte, disposition }) => {
        const innerRaw = Buffer.concat([...headers.flatMap((l) => [l, latin1(CRLF)]), renderEntity(inner)]);
        const head = [latin1(`Content-Type: ${type}`)];
        if (cte) head.push(latin1(`Content-Transfer-Encoding: ${cte}`));
        if (disposition) head.push(latin1(`Content-Disposition: ${disposition}`));
        return { head, body: cte === 'base64' ? latin1(base64Lines(innerRaw, 76)) : innerRaw };
      });
  return at;
})();

const MAX_DEPTH = 5;

/** Rewrites line ends: all CRLF, all bare LF, or a random mix of CRLF, LF and CR. */
const lineEnds = fc.oneof(
  { weight: 4, arbitrary: fc.constant((raw: Buffer) => raw) },
  { weight: 2, arbitrary: fc.constant((raw: Buffer) => latin1(raw.toString('latin1').replace(/\r\n/g, '\n'))) },
  {
    weight: 1,
    arbitrary: fc.array(fc.constantFrom('\r\n', '\n', '\r', '\n\r'), { minLength: 1, maxLength: 8 }).map((ends) => (raw: Buffer) => {
      let i = 0;
      return latin1(raw.toString('latin1').replace(/\r\n/g, () => ends[i++ % ends.length]!));
    }),
  },
);

const structuredMime = fc.record({ headers: topHeaders, root: entityAt(MAX_DEPTH), ends: lineEnds, noBlankLine: fc.boolean() }).map(({ headers, root, ends, noBlankLine }) => {
  let raw = Buffer.concat([...headers.flatMap((l) => [l, latin1(CRLF)]), renderEntity(root)]);
  if (noBlankLine && root.head.length === 0) raw = Buffer.concat([...headers.flatMap((l) => [l, latin1(CRLF)]), root.body]);
  return ends(raw);
});

// ---------------------------------------------------------------------------
// Random bytes and token soup
// ---------------------------------------------------------------------------

const TOKENS = [
  'From: ',
  'To: ',
  'Subject: ',
  'Date: ',
  'Content-Type: ',
  'Content-Transfer-Encoding: ',
  'Content-Disposition: attachment; filename=',
  'multipart/mixed; boundary=b',
  'multipart/alternative; boundary="b"',
  'message/rfc822',
  'text/html',
  'text/plain; charset=iso-2022-jp',
  'image/png',
  'base64',
  'quoted-printable',
  '8bit',
  '\r\n',
  '\n',
  '\r\n\r\n',
  '--b',
  '--b--',
  '=?utf-8?B?',
  '=?iso-2022-jp?B?GyRC',
  '?=',
  '=\r\n',
  '=3D',
  '<html><body>',
  '<a href="https://evil.example.net">',
  '<script>',
  'a@example.jp',
  ' ',
  ':',
  ';',
  '"',
  '\0',
  '\x1b$B',
  '\x1b(B',
  'あいう',
  '\u202e',
];
const tokenSoup = fc
  .array(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...TOKENS).map(utf8) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b)) }), {
    maxLength: 200,
    size: 'large',
  })
  .map((parts) => Buffer.concat(parts));

const randomMail = fc.oneof({ weight: 2, arbitrary: fc.uint8Array({ maxLength: 4096, size: 'max' }).map((b) => Buffer.from(b)) }, { weight: 1, arbitrary: tokenSoup });

// ---------------------------------------------------------------------------
// Mutations of the real samples
// ---------------------------------------------------------------------------

const SAMPLES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'samples');
const SAMPLES = readdirSync(SAMPLES_DIR)
  .filter((f) => f.endsWith('.eml'))
  .sort()
  .map((name) => ({ name, bytes: readFileSync(path.join(SAMPLES_DIR, name)) }));

type Mutation =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicate-lines'; from: number; count: number; to: number }
  | { kind: 'delete-lines'; from: number; count: number }
  | { kind: 'nul'; at: number; n: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'boundary'; which: number; how: 'drop-close' | 'drop-delimiters' | 'mangle' | 'param' | 'inject' | 'swap'; at: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate-lines' as const), from: fc.nat(), count: fc.integer({ min: 1, max: 30 }), to: fc.nat() }),
  fc.record({ kind: fc.constant('delete-lines' as const), from: fc.nat(), count: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ kind: fc.constant('nul' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 32 }), fc.constantFrom(...TOKENS).map(utf8)) }),
  fc.record({
    kind: fc.constant('boundary' as const),
    which: fc.nat(),
    how: fc.constantFrom('drop-close', 'drop-delimiters', 'mangle', 'param', 'inject', 'swap'),
    at: fc.nat(),
  }),
);

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function splitLines(raw: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x0a) {
      lines.push(raw.subarray(start, i + 1));
      start = i + 1;
    }
  }
  if (start < raw.length) lines.push(raw.subarray(start));
  return lines;
}

function mutate(input: Buffer, m: Mutation): Buffer {
  const len = input.length;
  switch (m.kind) {
    case 'flip': {
      if (!len) return input;
      const out = Buffer.from(input);
      const i = m.at % len;
      out[i] = out[i]! ^ m.xor;
      return out;
    }
    case 'truncate':
      return input.subarray(0, m.at % (len + 1));
    case 'nul': {
      const at = m.at % (len + 1);
      return Buffer.concat([input.subarray(0, at), Buffer.alloc(m.n), input.subarray(at)]);
    }
    case 'insert': {
      const at = m.at % (len + 1);
      return Buffer.concat([input.subarray(0, at), m.bytes, input.subarray(at)]);
    }
    case 'duplicate-lines':
    case 'delete-lines': {
      const lines = splitLines(input);
      if (!lines.length) return input;
      const from = m.from % lines.length;
      const range = lines.slice(from, from + m.count);
      if (m.kind === 'delete-lines') lines.splice(from, m.count);
      else lines.splice(m.to % (lines.length + 1), 0, ...range);
      return Buffer.concat(lines);
    }
    case 'boundary': {
      const text = input.toString('latin1');
      const found = [...text.matchAll(/boundary\s*=\s*"?([^";\r\n]+)"?/gi)].map((x) => x[1]!.trim()).filter(Boolean);
      if (!found.length) return input;
      const b = found[m.which % found.length]!;
      const delim = new RegExp(`^--${escapeRegExp(b)}(--)?[ \\t]*\\r?$`, 'gm');
      let out: string;
      switch (m.how) {
        case 'drop-close':
          out = text.split(`--${b}--`).join(`--${b}`);
          break;
        case 'drop-delimiters':
          out = text.replace(delim, '');
          break;
        case 'mangle':
          out = text.replace(delim, (line) => line.replace(b, b.slice(0, -1) + (b.endsWith('X') ? 'Y' : 'X')));
          break;
        case 'param':
          out = text.replace(b, `${b}-changed`);
          break;
        case 'swap': {
          const other = found[(m.which + 1) % found.length]!;
          out = text.replace(delim, (line) => line.replace(b, other));
          break;
        }
        default: {
          const at = m.at % (text.length + 1);
          out = `${text.slice(0, at)}\r\n--${b}\r\n${text.slice(at)}`;
        }
      }
      return latin1(out);
    }
  }
}

// The counterexample fast-check prints is the sample's name and the mutations, not megabytes of bytes.
const mutatedSample = fc.record({ sample: fc.constantFrom(...SAMPLES.map((s) => s.name)), mutations: fc.array(mutationArb, { minLength: 1, maxLength: 5 }) });
const applyMutations = ({ sample, mutations }: { sample: string; mutations: Mutation[] }): Buffer =>
  mutations.reduce<Buffer>((raw, m) => mutate(raw, m), SAMPLES.find((s) => s.name === sample)!.bytes);

// ---------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------

// Raw bytes travel as latin1 strings (one char per byte), so that a
// counterexample prints as a readable string rather than a byte array.
const asText = (raw: Buffer): string => raw.toString('latin1');

// Shrunk counterexamples the properties found, kept as fixed cases so they
// run every time (policy 0: the default policy with a 3 s message deadline).
const FOUND: { name: string; raw: string }[] = [
  {
    // simpleParser never settles on a header-only message/rfc822 entity marked
    // inline; rebuild() gives up at the deadline, then block() parses the same
    // header block again in headersOnly(), without a deadline, and waits forever.
    name: 'header-only message/rfc822, Content-Disposition: inline (sanitize() never resolves)',
    raw: 'Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n',
  },
  {
    // A display name that is one long word: the composer folds right after
    // "From:", and the delivered From field no longer starts "From: ".
    name: 'a 90-character one-word display name (From folded after the colon)',
    raw: `From: ${'x'.repeat(90)} <a@example.jp>\r\nDate: Thu, 26 Nov 2026 10:00:00 +0900\r\nSubject: s\r\n\r\nhello\r\n`,
  },
  {
    // A local part "=?" (valid atext) and the next mailbox's quoted name "?B??=": the delivered
    // To read "=?@x, "?B??=" …", an encoded word to a lax decoder (FC_SEED=769208980).
    name: 'a local part "=?" before a display name "?B??=" (an encoded word across two addresses)',
    raw: 'From: a@example.jp\r\nTo: =?@example.jp, "?B??=" <b@example.jp>\r\nDate: Thu, 26 Nov 2026 10:00:00 +0900\r\nSubject: s\r\n\r\nhello\r\n',
  },
];

describe('counterexamples found by the properties', () => {
  it.each(FOUND)(
    '$name',
    async ({ raw }) => {
      await check(latin1(raw));
    },
    30_000,
  );
});

describe('sanitize() on hostile input (property)', () => {
  it('the unmutated samples pass the same check', async () => {
    expect(SAMPLES.length).toBeGreaterThan(0);
    for (const s of SAMPLES) await check(s.bytes);
  });

  it(
    '(a) random bytes and MIME-token soup',
    async () => {
      await fc.assert(
        fc.asyncProperty(randomMail.map(asText), policyArb, async (raw, p) => {
          await check(latin1(raw), p);
        }),
        settings('random bytes'),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    '(b) structured MIME: random headers, trees, types, encodings and charsets',
    async () => {
      await fc.assert(
        fc.asyncProperty(structuredMime.map(asText), policyArb, async (raw, p) => {
          await check(latin1(raw), p);
        }),
        settings('structured MIME'),
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    '(c) mutated samples: flips, truncation, duplicated and deleted lines, NULs, broken boundaries',
    async () => {
      await fc.assert(
        fc.asyncProperty(mutatedSample, policyArb, async (m, p) => {
          await check(applyMutations(m), p);
        }),
        settings('mutated samples'),
      );
    },
    PROPERTY_TIMEOUT,
  );
});
