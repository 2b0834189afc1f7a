// Whether a sender's domain looks like one of the domains a clerk trusts (the
// municipality's own, a partner's) without being it. Each domain is brought to
// a skeleton first: punycode decoded, NFKC (full-width letters), accents
// dropped, letters that look Latin (Cyrillic а, Greek ο) and runs that read
// as one letter (rn, vv, 1, 0) replaced by what they look like. Then a domain
// resembles a trusted one when their skeletons are the same (a homograph),
// when only the public suffix differs (example.co.jp and example.com) or the
// dots and hyphens (city-yamada.lg.jp), when the trusted domain is its start
// (example.co.jp.evil.example), or when one letter is swapped, missing or
// doubled. Work is bounded: domains are at most 253 characters, and the
// letter comparison only runs on names of about the same length.
import { domainToUnicode } from 'node:url';

// Letters that look like Latin letters in the fonts mail clients use.
const CONFUSABLE: Readonly<Record<string, string>> = {
  // Cyrillic
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  һ: 'h',
  і: 'i',
  ї: 'i',
  ј: 'j',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  ɡ: 'g',
  ӏ: 'l',
  // Greek
  α: 'a',
  β: 'b',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
  // Latin letters and digits that read as others
  ı: 'i',
  ł: 'l',
  ø: 'o',
  đ: 'd',
  '0': 'o',
  '1': 'l',
  '!': 'l',
  '|': 'l',
};
// Runs of two letters that read as one.
const PAIRS: readonly [RegExp, string][] = [
  [/rn/g, 'm'],
  [/vv/g, 'w'],
  [/cl/g, 'd'],
];

/** The domain as it looks: every character replaced by the Latin letter it resembles. */
export function skeleton(domain: string): string {
  const unicode = domain.includes('xn--') ? domainToUnicode(domain) || domain : domain;
  const plain = unicode.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
  let out = '';
  for (const ch of plain) out += CONFUSABLE[ch] ?? ch;
  for (const [from, to] of PAIRS) out = out.replace(from, to);
  return out;
}

// Public suffixes a municipality's correspondents use: Japan's second levels
// and common generic ones. A suffix not listed counts as the last label only.
const SUFFIXES: ReadonlySet<string> = new Set([
  'lg.jp',
  'go.jp',
  'co.jp',
  'ne.jp',
  'or.jp',
  'ac.jp',
  'ad.jp',
  'ed.jp',
  'gr.jp',
  'co.uk',
  'org.uk',
  'ac.uk',
  'gov.uk',
  'com.au',
  'com.cn',
  'com.tw',
  'com.hk',
  'co.kr',
  'com.sg',
]);

/** The domain split into its name and its public suffix (city.yamada | lg.jp). */
export function splitSuffix(domain: string): { name: string; suffix: string } {
  const labels = domain.split('.');
  if (labels.length >= 3 && SUFFIXES.has(labels.slice(-2).join('.'))) return { name: labels.slice(0, -2).join('.'), suffix: labels.slice(-2).join('.') };
  return { name: labels.slice(0, -1).join('.'), suffix: labels.at(-1) ?? '' };
}

/** The name's letters only: dots and hyphens are how it is split, not what it says. */
const letters = (name: string): string => name.replace(/[.\-_]/g, '');

/** One letter swapped with its neighbour, left out, or doubled: nothing else. */
function oneSlip(a: string, b: string): boolean {
  if (a === b) return false;
  if (a.length === b.length) {
    const i = [...a].findIndex((c, k) => c !== b[k]);
    return i >= 0 && i + 1 < a.length && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  const [long, short] = a.length > b.length ? [a, b] : [b, a];
  if (long.length !== short.length + 1) return false;
  let i = 0;
  while (i < short.length && long[i] === short[i]) i++;
  return long.slice(i + 1) === short.slice(i);
}

/** The same domain, or a subdomain of it. */
export const within = (domain: string, of: string): boolean => domain === of || domain.endsWith(`.${of}`);

/** Shorter names than this are not compared letter by letter: too many real names differ by one letter. */
const MIN_SLIP_NAME = 4;

/** The trusted domain `domain` resembles without being it (or a subdomain of it), if any. */
export function lookAlike(domain: string, trusted: readonly string[]): string | null {
  const d = domain.toLowerCase().replace(/\.$/, '');
  if (d.length > 253 || trusted.some((t) => within(d, t) || within(t, d))) return null;
  const ds = skeleton(d);
  const dn = letters(skeleton(splitSuffix(d).name));
  for (const t of trusted) {
    const ts = skeleton(t);
    const tn = letters(skeleton(splitSuffix(t).name));
    if (ds === ts || d.startsWith(`${t}.`) || d.includes(`.${t}.`)) return t;
    if (dn === tn && dn.length > 0) return t;
    // Only the last label differs (city.yamada.lg.com for city.yamada.lg.jp).
    if (ds.slice(0, ds.lastIndexOf('.')) === ts.slice(0, ts.lastIndexOf('.')) && ds.includes('.')) return t;
    if (tn.length >= MIN_SLIP_NAME && Math.abs(dn.length - tn.length) <= 1 && oneSlip(dn, tn)) return t;
  }
  return null;
}
