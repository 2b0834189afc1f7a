// What one delivered message may carry is bounded (limits.maxOutputBytes,
// by default the inbound limit): counted as it is produced, body first; what
// does not fit is removed, with everything after it, and the notice says so.
// A 16 KB zip whose directory points 190 times at one 1 MiB file delivered
// 409 MB before this.
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../src/core/policy.js';
import { overlappingZip, zip } from '../helpers/bytes.js';
import { violations } from '../helpers/conformance.js';
import { closeDocuments, realDocuments } from '../helpers/documents.js';
import { harness, plain, policyWith, run, withAttachments, type Outcome } from '../helpers/run.js';

const MiB = 1024 * 1024;
const codesAt = (o: Outcome, i: number): string[] => o.result.findings.filter((f) => f.attachment === i).map((f) => f.code);

afterAll(closeDocuments);

describe('the output budget', () => {
  it('the 16 KB overlapping-entries zip delivers its one file once, far within the budget', async () => {
    const bomb = overlappingZip(Buffer.alloc(MiB, 'a'), 190);
    expect(bomb.length).toBeLessThan(16 * 1024);
    const raw = withAttachments('資料です。', [{ type: 'application/zip', filename: '資料.zip', body: bomb }]);
    const o = await run(raw);
    expect(o.result.verdict).toBe('sanitized');
    expect(codesAt(o, 1)).toEqual(['archive-opened', 'archive-overlap']);
    expect(o.result.findings.find((f) => f.code === 'archive-overlap')?.detail).toBe('189 entries');
    expect(o.mail!.attachments.map((a) => a.filename)).toEqual(['0.txt']);
    expect(o.result.message!.length).toBeLessThan(2 * MiB);
    expect(o.result.message!.length).toBeLessThan(defaultPolicy.limits.maxOutputBytes);
    expect(o.mail!.text).toContain('同じデータを重ねて指すファイルがありました');
    expect(await violations(o.raw!)).toEqual([]);
  });

  it('without overlap, files past the budget are removed and the notice says so; the message stays within it', async () => {
    const files: Array<[string, string]> = Array.from({ length: 12 }, (_, i) => [`名簿${i + 1}.txt`, String.fromCharCode(0x61 + i).repeat(MiB)]);
    const raw = withAttachments('名簿です。', [{ type: 'application/zip', filename: '名簿.zip', body: await zip(files, { level: 9 }) }]);
    const policy = policyWith({ limits: { maxOutputBytes: 5 * MiB } });
    const o = await run(raw, policy);
    expect(o.result.message!.length).toBeLessThan(5 * MiB + 64 * 1024);
    // 1 MiB of text is ~1.37 MiB as base64: three fit in 5 MiB, the fourth does not, nor anything after it.
    expect(o.mail!.attachments.map((a) => a.filename)).toEqual(['名簿1.txt', '名簿2.txt', '名簿3.txt']);
    for (let i = 5; i <= 13; i++) expect(codesAt(o, i)).toEqual(['output-limit']);
    expect(o.mail!.text).toContain('5. 名簿4.txt');
    expect(o.mail!.text).toContain('メールの大きさの上限に達したため、削除しました。');
    expect(await violations(o.raw!)).toEqual([]);
  });

  it('defaults to the inbound size limit', () => {
    expect(defaultPolicy.limits.maxOutputBytes).toBe(defaultPolicy.limits.maxMessageBytes);
    expect(policyWith({ limits: { maxMessageBytes: 10 * MiB } }).limits.maxOutputBytes).toBe(10 * MiB);
  });

  it('counts the body first: a body past the budget is cut at a character, marked, and nothing is attached', async () => {
    const raw = withAttachments('お知らせ。'.repeat(4000), [{ type: 'text/plain', filename: '別紙.txt', body: '別紙です' }]);
    const o = await run(raw, policyWith({ limits: { maxOutputBytes: 20_000 } }));
    expect(o.result.findings.filter((f) => f.attachment === undefined).map((f) => f.code)).toContain('output-limit');
    expect(codesAt(o, 1)).toEqual(['output-limit']);
    expect(o.mail!.attachments).toEqual([]);
    expect(o.mail!.text).toContain('お知らせ。お知');
    expect(o.mail!.text).not.toContain('\uFFFD');
    expect(o.mail!.text).toContain('（メールの大きさの上限に達したため、本文はここまでです。）');
    expect(o.mail!.text).toContain('メールの大きさの上限に達したため、本文の続きと残りの添付ファイルを省きました。');
    expect(o.result.message!.length).toBeLessThan(20_000 + 16 * 1024);
  });

  it('a plain body within the budget is untouched', async () => {
    const o = await run(plain('短い本文です。'), policyWith({ limits: { maxOutputBytes: 20_000 } }));
    expect(o.result.verdict).toBe('clean');
    expect(o.mail!.text).toContain('短い本文です。');
  });

  it('a document whose pages would not fit stops converting, and the attachments after it are removed', async () => {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    for (let i = 0; i < 6; i++) doc.addPage([595, 842]).drawText(`page ${i + 1} `.repeat(40), { x: 20, y: 400, size: 11, font, maxWidth: 550, lineHeight: 14 });
    const pdf = Buffer.from(await doc.save());
    const raw = withAttachments('資料です。', [
      { type: 'application/pdf', filename: '資料.pdf', body: pdf },
      { type: 'text/plain', filename: 'あと.txt', body: 'あとの添付' },
    ]);
    const o = await run(raw, policyWith({ limits: { maxOutputBytes: 60_000 } }), await harness({ documents: realDocuments() }));
    expect(codesAt(o, 1)).toEqual(['output-limit']);
    expect(codesAt(o, 2)).toEqual(['output-limit']);
    expect(o.mail!.attachments).toEqual([]);
  });
});
