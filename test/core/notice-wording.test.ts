// Every finding has its sentence in both languages, written as
// /work/shared/writing-ja.md asks (です・ます, no MIME types or codes, no 転送,
// no stray spaces), and docs/notice.md's wording table is the current one.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findingCodes } from '../../src/core/findings.js';
import { labelsFor, spaced } from '../../src/core/labels.js';
import { DOC, withTable } from '../../scripts/notice-wording.js';

const ja = labelsFor('ja');
const en = labelsFor('en');

/** Every Japanese sentence a finding can put in a notice. */
const jaSentences = (): Array<[string, string]> =>
  findingCodes.flatMap((code) => [
    [code, ja.finding[code]] as [string, string],
    ...(ja.findingInAttachment[code] ? [[`${code} (attachment)`, ja.findingInAttachment[code]!] as [string, string]] : []),
    ...(ja.counted[code] ? [[`${code} (counted)`, ja.counted[code]!(3)] as [string, string]] : []),
    ...(code in ja.findingUnlockable ? [[`${code} (unlockable)`, (ja.findingUnlockable as Record<string, string>)[code]!] as [string, string]] : []),
  ]);

describe('finding wording', () => {
  it('every finding has a sentence in Japanese and in English', () => {
    for (const code of findingCodes) {
      expect(ja.finding[code], code).toMatch(/\S/);
      expect(en.finding[code], code).toMatch(/\S/);
      expect(Boolean(ja.findingInAttachment[code]), code).toBe(Boolean(en.findingInAttachment[code]));
      expect(Boolean(ja.counted[code]), code).toBe(Boolean(en.counted[code]));
    }
  });

  it('the Japanese is polite and plain: full sentences, です・ます, no 転送, no MIME types, no stray spaces', () => {
    for (const [what, s] of jaSentences()) {
      expect(s, what).toMatch(/。$/);
      expect(s, what).toMatch(/(ました|ません|ます|です|ください)(（[^）]*）)?。$/);
      expect(s, what).not.toMatch(/転送|application\/|text\/|image\/|[!！]/);
      // A half-width space only between Japanese and Latin words, never next to Japanese punctuation.
      expect(s, what).not.toMatch(/ [、。（）「」]|[、。（）「」] | {2}/);
    }
  });

  it('the English ends its sentences', () => {
    for (const code of findingCodes) expect(en.finding[code], code).toMatch(/[.)]$/);
  });

  it('spaced() puts one half-width space between Japanese and Latin words only', () => {
    expect(spaced('PDF', 'を装った', '実行ファイル')).toBe('PDF を装った実行ファイル');
    expect(spaced('マクロ付きの', 'Excel ファイル')).toBe('マクロ付きの Excel ファイル');
    expect(spaced('画像', 'を装った', 'スクリプト')).toBe('画像を装ったスクリプト');
  });

  it('docs/notice.md has the current wording table (npx tsx scripts/notice-wording.ts rewrites it)', () => {
    const doc = readFileSync(DOC, 'utf8');
    expect(doc).toBe(withTable(doc));
    for (const code of findingCodes) {
      expect(doc).toContain(`| \`${code}\` | ${ja.finding[code]}`);
      expect(doc).toContain(en.finding[code]);
    }
  });
});
