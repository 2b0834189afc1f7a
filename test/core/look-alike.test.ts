// Look-alike domains: what resembles the municipality's or a partner's domain
// without being it, and what does not.
import { domainToASCII } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lookAlike, skeleton, splitSuffix } from '../../src/core/look-alike.js';

const TRUSTED = ['city.yamada.lg.jp', 'yamada-shinkin.co.jp', 'pref.example.jp'];

describe('look-alike domains', () => {
  it.each([
    ['city.yamada.jp', 'another public suffix'],
    ['city.yamada.lg.com', 'another top-level domain'],
    ['yamada-shinkin.com', 'another top-level domain'],
    ['city-yamada.lg.jp', 'a hyphen for a dot'],
    ['city.yamdaa.lg.jp', 'two letters swapped'],
    ['city.yamda.lg.jp', 'a letter missing'],
    ['city.yammada.lg.jp', 'a letter doubled'],
    ['yarnada-shinkin.co.jp', 'rn for m'],
    ['yamada-shinkin.co.jp.evil.example', 'the trusted domain at the start of another'],
    ['pref.examp1e.jp', 'the digit 1 for l'],
    [domainToASCII('сity.yamada.lg.jp'), 'a Cyrillic с (punycode)'],
    [domainToASCII('yamada-shinkіn.co.jp'), 'a Cyrillic і (punycode)'],
  ])('%s resembles a trusted domain (%s)', (domain) => {
    expect(lookAlike(domain, TRUSTED)).not.toBeNull();
  });

  it.each([
    ['city.yamada.lg.jp', 'the domain itself'],
    ['mail.city.yamada.lg.jp', 'a subdomain of it'],
    ['CITY.YAMADA.LG.JP.', 'the domain in capitals with a root dot'],
    ['city.tanaka.lg.jp', 'another municipality'],
    ['example.com', 'an unrelated domain'],
    ['yamaha.co.jp', 'a different name, one letter replaced (not a slip we look for)'],
    ['ab.jp', 'a short name'],
  ])('%s does not (%s)', (domain) => {
    expect(lookAlike(domain, TRUSTED)).toBeNull();
  });

  it('says which trusted domain it resembles', () => {
    expect(lookAlike('yamada-shinkin.com', TRUSTED)).toBe('yamada-shinkin.co.jp');
    expect(lookAlike(domainToASCII('сity.yamada.lg.jp'), TRUSTED)).toBe('city.yamada.lg.jp');
  });

  it('short names are compared whole, not letter by letter', () => {
    expect(lookAlike('abc.jp', ['abd.jp'])).toBeNull();
    expect(lookAlike('bac.jp', ['abc.jp'])).toBeNull();
    expect(lookAlike('abc.com', ['abc.jp'])).toBe('abc.jp');
  });

  it('skeletons: punycode decoded, confusables mapped, accents dropped', () => {
    expect(skeleton('xn--80ak6aa92e.com')).toBe('apple.com');
    expect(skeleton('exámple.jp')).toBe('example.jp');
    expect(skeleton('ｙａｍａｄａ.jp')).toBe('yamada.jp');
    expect(skeleton('rnicrosoft.com')).toBe('microsoft.com');
    expect(splitSuffix('city.yamada.lg.jp')).toEqual({ name: 'city.yamada', suffix: 'lg.jp' });
    expect(splitSuffix('example.com')).toEqual({ name: 'example', suffix: 'com' });
  });

  it('stays bounded on the longest domains and many trusted ones', () => {
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.jp`;
    const many = Array.from({ length: 1000 }, (_, i) => `partner${i}.co.jp`);
    const t = performance.now();
    for (let i = 0; i < 20; i++) lookAlike(long, many);
    expect(performance.now() - t).toBeLessThan(2000);
    expect(lookAlike('a'.repeat(300), many)).toBeNull();
  });
});
