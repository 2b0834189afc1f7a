// PDF and Office attachments cross as image-only PDFs made by the document
// converter, or are removed with the reason. Which format they are comes from
// their bytes (for old Office files, from the streams of the CFB container).
import { PDFDocument } from 'pdf-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { documentKind } from '../../src/core/documents.js';
import type { DocumentConverter } from '../../src/core/ports.js';
import { cfb, zip } from '../helpers/bytes.js';
import { violations } from '../helpers/conformance.js';
import { closeDocuments, realDocuments } from '../helpers/documents.js';
import { harness, policyWith, run, withAttachments, type Harness, type Outcome } from '../helpers/run.js';
import type { Policy } from '../../src/core/policy.js';
import { fileTypeFromBuffer } from 'file-type/core';

const pdf = async (pages: number): Promise<Buffer> => {
  const d = await PDFDocument.create();
  for (let i = 0; i < pages; i++) d.addPage([595, 842]).drawText(`page ${i + 1}`);
  return Buffer.from(await d.save());
};

const ooxml = (main: string, type: string): Promise<Buffer> =>
  zip([
    [
      '[Content_Types].xml',
      `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/${main}" ContentType="${type}"/></Types>`,
    ],
    ['_rels/.rels', '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'],
    [main, '<?xml version="1.0" encoding="UTF-8"?><root/>'],
  ]);
const docx = (): Promise<Buffer> => ooxml('word/document.xml', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml');
const xlsm = (): Promise<Buffer> => ooxml('xl/workbook.xml', 'application/vnd.ms-excel.sheet.macroEnabled.main+xml');

let converting: Promise<Harness> | null = null;
const withConverter = (): Promise<Harness> => (converting ??= harness({ documents: realDocuments() }));

async function send(name: string, type: string, body: Buffer, h?: Harness, policy?: Policy): Promise<Outcome> {
  const o = await run(withAttachments('文書を送ります。', [{ type, filename: name, body }]), policy, h);
  expect(await violations(o.raw!)).toEqual([]);
  return o;
}

const codes = (o: Outcome): string[] => o.result.findings.filter((f) => f.attachment === 1).map((f) => f.code);

afterAll(closeDocuments);

describe('documents become image-only PDFs', () => {
  it('a PDF crosses as a new PDF with as many pages, under its own name', async () => {
    const o = await send('請求書.pdf', 'application/pdf', await pdf(3), await withConverter());
    expect(codes(o)).toEqual(['document-converted-searchable']);
    expect(o.result.findings[0]!.detail).toBe('pdf, 3 pages');
    expect(o.mail!.text).toContain('画像化した PDF に作り直しました（文字の検索・コピーができます。リンクは使えません）。');
    const [a] = o.mail!.attachments;
    expect([a!.filename, a!.contentType]).toEqual(['請求書.pdf', 'application/pdf']);
    expect((await PDFDocument.load(a!.content)).getPageCount()).toBe(3);
    expect(a!.content.toString('latin1')).not.toContain('page 1');
  });

  it('with documents.textLayer off, the PDF has no text and the notice says it cannot be searched', async () => {
    const o = await send('請求書.pdf', 'application/pdf', await pdf(1), await withConverter(), policyWith({ documents: { textLayer: false } }));
    expect(codes(o)).toEqual(['document-converted']);
    expect(o.mail!.text).toContain('文字の検索・コピーやリンクは使えません');
    expect(o.mail!.attachments[0]!.content.toString('latin1')).not.toContain('/Font');
  });

  it('a document with more pages than documents.maxPages is removed', async () => {
    const o = await send('厚い.pdf', 'application/pdf', await pdf(3), await withConverter(), policyWith({ documents: { maxPages: 2 } }));
    expect(codes(o)).toEqual(['document-too-large']);
    expect(o.mail!.attachments).toEqual([]);
  });

  it('a PDF with nothing in it to render is removed as unconvertible', async () => {
    // (A merely truncated PDF is repaired by mupdf and crosses as the pixels it still has.)
    const o = await send('壊れ.pdf', 'application/pdf', Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(600, 0x41)]), await withConverter());
    expect(codes(o)).toEqual(['document-unconvertible']);
  });

  it('without a converter, documents are removed and kept in quarantine', async () => {
    const o = await send('報告書.docx', 'application/octet-stream', await docx());
    expect(codes(o)).toEqual(['document-unconvertible']);
    expect(o.mail!.attachments).toEqual([]);
    expect(o.result.quarantineId).not.toBeNull();
  });

  it('a converter that throws removes the document, not the message', async () => {
    const throwing: DocumentConverter = { toImagePdf: () => Promise.reject(new Error('soffice crashed')) };
    const o = await send('報告書.pdf', 'application/pdf', await pdf(1), await harness({ documents: throwing }));
    expect(codes(o)).toEqual(['document-unconvertible']);
    expect(o.result.verdict).toBe('sanitized');
  });

  it('a password-protected Office file (EncryptedPackage) is removed, saying how to get it', async () => {
    const o = await send('見積書.xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', cfb(['EncryptionInfo', 'EncryptedPackage']));
    expect(codes(o)).toEqual(['document-encrypted']);
    expect(o.mail!.text).toContain(
      '  1. 見積書.xlsx（Excel ファイル）\n     パスワード付きの文書は変換できないため、削除しました。必要なときは、差出人にパスワードを付けずに送り直してもらってください。',
    );
    expect(o.mail!.text).not.toContain('application/');
  });
});

describe('the format comes from the bytes', () => {
  it.each([
    ['docx', 'docx'],
    ['xlsm', 'xlsx'],
  ] as const)('%s -> %s', async (what, format) => {
    const bytes = what === 'docx' ? await docx() : await xlsm();
    const sniffed = await fileTypeFromBuffer(bytes);
    expect(documentKind(bytes, sniffed?.ext ?? null, what)).toEqual({ ok: true, format, lie: null });
  });

  it.each([
    [['WordDocument'], 'doc'],
    [['Workbook'], 'xls'],
    [['PowerPoint Document', 'Current User'], 'ppt'],
  ] as const)('CFB with %j -> %s', async (streams, format) => {
    const bytes = cfb([...streams]);
    expect((await fileTypeFromBuffer(bytes))?.ext).toBe('cfb');
    expect(documentKind(bytes, 'cfb', format)).toEqual({ ok: true, format, lie: null });
  });

  it('reports a Word file named .xls', () => {
    expect(documentKind(cfb(['WordDocument']), 'cfb', 'xls')).toEqual({ ok: true, format: 'doc', lie: 'named .xls, actually doc' });
  });

  it('removes a CFB container that holds no document (an Outlook .msg)', () => {
    expect(documentKind(cfb(['__substg1.0_0037001F']), 'cfb', 'msg')).toMatchObject({ ok: false, code: 'attachment-removed' });
  });
});
