// composeMessage writes the MIME tree nodemailer builds without its streams
// (serializeMime). The bytes must be exactly what nodemailer's own build()
// streams for the same tree, whatever the headers, body and parts.
import { describe, expect, it } from 'vitest';
import type { DeliveredPart } from '../../src/core/attachments.js';
import { composeMessage, mimeTree, serializeMime, type ComposeInput } from '../../src/core/compose.js';
import { violations } from '../helpers/conformance.js';

const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const binary = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 37) % 256));

const base: ComposeInput = {
  headers: {
    from: { name: '見本 花子', address: 'hanako@example.jp' },
    to: [{ name: '', address: 'soumu@city.example.lg.jp' }],
    cc: [],
    subject: '[無害化] 窓口受付時間の変更について',
    date: new Date('2026-11-26T01:02:03Z'),
    originalMessageId: '<orig@example.jp>',
    inReplyTo: [],
    references: [],
    replyTo: [],
  },
  body: '市民課からのお知らせです。\n来週の窓口受付時間は変更になります。\n',
  parts: [],
  verdict: 'sanitized',
  quarantineId: 'Q-20261126-ABCDEFGHJK',
  messageId: '<new-1@mugaika.invalid>',
};

const part = (filename: string, contentType: DeliveredPart['contentType'], bytes: Uint8Array): DeliveredPart => ({ filename, contentType, bytes });

const cases: Array<[string, ComposeInput]> = [
  ['a text-only message', base],
  ['no quarantine id, no original Message-ID, an empty body', { ...base, body: '', quarantineId: null, verdict: 'clean', headers: { ...base.headers, originalMessageId: null } }],
  [
    'long folded headers and many recipients',
    {
      ...base,
      headers: {
        ...base.headers,
        subject: `[無害化] ${'令和8年度 保育所入所申込みの受付開始と必要書類のご案内 '.repeat(6)}`,
        to: Array.from({ length: 40 }, (_, i) => ({ name: `職員${i} 太郎`, address: `staff${i}@city.example.lg.jp` })),
        cc: [{ name: 'Kōhō "Office"', address: 'kouhou@city.example.lg.jp' }],
      },
    },
  ],
  [
    'a thread: In-Reply-To, a long References, a Japanese Reply-To',
    {
      ...base,
      headers: {
        ...base.headers,
        inReplyTo: ['<answer.2@mail.city.example.lg.jp>'],
        references: Array.from({ length: 20 }, (_, i) => `<CAJx${i}Yq=kq+AbC${'z'.repeat(30)}@mail.gmail.com>`),
        replyTo: [{ name: '見本 花子（総務課）', address: 'soumu@example.jp' }],
      },
    },
  ],
  ['a body with long lines, CRLF, CR and emoji', { ...base, body: `${'あ'.repeat(3000)}\r\nline\rtwo 😀\n\n${'x'.repeat(2000)}` }],
  [
    'attachments: an image, a PDF-sized binary, Japanese names',
    {
      ...base,
      parts: [part('写真.jpg.png', 'image/png', png), part('報告書.docx.pdf', 'application/pdf', binary), part('名簿.csv.txt', 'text/plain; charset=utf-8', Buffer.from('氏名,住所\n', 'utf8'))],
    },
  ],
  ['one attachment whose bytes are a view into a larger buffer', { ...base, parts: [part('a.png', 'image/png', binary.subarray(100, 1300))] }],
];

describe('composing the message that crosses', () => {
  it.each(cases)('%s: the same bytes as nodemailer build() streams', async (_name, input) => {
    const tree = mimeTree(input);
    const ours = serializeMime(tree);
    const theirs = await tree.build();
    expect(ours.toString('latin1')).toBe(theirs.toString('latin1'));
    expect(await violations(ours)).toEqual([]);
  });

  it('composeMessage is serializeMime of the tree', async () => {
    const input = cases[4]![1];
    const composed = await composeMessage(input);
    // Boundaries are random per tree: compare with them masked.
    const mask = (b: Buffer): string => b.toString('latin1').replace(/--_NmP-[0-9a-f-]+-Part_\d+/g, 'BOUNDARY');
    expect(mask(composed)).toBe(mask(await mimeTree(input).build()));
  });
});
