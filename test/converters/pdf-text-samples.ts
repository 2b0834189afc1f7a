// PDFs for the text-layer tests, made with pdf-lib and an embedded Japanese
// font: sentences a reader sees, and text planted where nobody can see it.
import { existsSync, readFileSync } from 'node:fs';
import fontkit from '@pdf-lib/fontkit';
import { PDFDict, PDFDocument, PDFName, type PDFFont, type PDFPage, PDFString, rgb, StandardFonts } from 'pdf-lib';
import { A4 } from './pdf-samples.js';

export const JAPANESE_FONT = ['/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf', '/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf'].find((f) => existsSync(f));

/** What the page shows: every sentence must be found in our output's text. */
export const VISIBLE = ['本日の会議は午後三時から第二会議室で行います。', '入札金額は金一千二百三十四万円です。', 'Tender number 2026-0415 closes on Friday.'];
export const VISIBLE_SMALL = '小さな文字の注記もあります。';
export const VISIBLE_RED = '赤い文字の重要なお知らせ';

/** Text the page does not show: none may be found in our output's text. */
export const HIDDEN = {
  whiteOnWhite: '白地に白い文字の振込先変更',
  outsidePage: 'ページの外にある口座番号',
  underImage: '画像の下に隠した暗証番号',
  underShape: '図形の下に隠した合言葉',
  zeroSize: '大きさゼロの秘密の指示',
  invisibleMode: '描画されない透明な文字',
  clippedAway: '切り抜きで消えた文字列',
  hiddenLayer: '非表示レイヤーの隠し文',
} as const;

async function japaneseDoc(): Promise<{ doc: PDFDocument; jp: PDFFont; page: PDFPage }> {
  if (!JAPANESE_FONT) throw new Error('no IPAex font: apt-get install fonts-ipaexfont');
  const doc = await PDFDocument.create();
  doc.registerFontkit(fontkit);
  const jp = await doc.embedFont(readFileSync(JAPANESE_FONT), { subset: true });
  return { doc, jp, page: doc.addPage(A4) };
}

/** Raw content appended to the page, with `jp` as /JP in its resources. */
function raw(doc: PDFDocument, page: PDFPage, jp: PDFFont, content: string): void {
  page.node.setFontDictionary(PDFName.of('JP'), jp.ref);
  const stream = doc.context.register(doc.context.stream(content));
  page.node.addContentStream(stream);
}

const hex = (jp: PDFFont, text: string): string => jp.encodeText(text).toString();

/** One A4 page of Japanese and English sentences, and every kind of hidden text. */
export async function plantedPdf(): Promise<Uint8Array> {
  const { doc, jp, page } = await japaneseDoc();
  const helvetica = await doc.embedFont(StandardFonts.Helvetica);
  const top = A4[1];
  page.drawText(VISIBLE[0]!, { x: 50, y: top - 80, size: 16, font: jp });
  page.drawText(VISIBLE[1]!, { x: 50, y: top - 120, size: 16, font: jp });
  page.drawText(VISIBLE[2]!, { x: 50, y: top - 160, size: 14, font: helvetica });
  page.drawText(VISIBLE_SMALL, { x: 50, y: top - 190, size: 8, font: jp });
  page.drawText(VISIBLE_RED, { x: 50, y: top - 230, size: 20, font: jp, color: rgb(0.85, 0.1, 0.1) });

  page.drawText(HIDDEN.whiteOnWhite, { x: 50, y: top - 300, size: 16, font: jp, color: rgb(1, 1, 1) });
  page.drawText(HIDDEN.outsidePage, { x: -400, y: top - 340, size: 16, font: jp });
  page.drawText(HIDDEN.underImage, { x: 50, y: top - 380, size: 16, font: jp });
  // A solid grey picture over the text above.
  const grey = await doc.embedPng(Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNoaGgAAAMEAYFL09IQAAAAAElFTkSuQmCC', 'base64'));
  page.drawImage(grey, { x: 40, y: top - 390, width: 400, height: 30 });
  page.drawText(HIDDEN.underShape, { x: 50, y: top - 420, size: 16, font: jp });
  page.drawRectangle({ x: 40, y: top - 430, width: 400, height: 30, color: rgb(0.2, 0.5, 0.2) });
  // (pdf-lib's drawText takes size 0 for its default of 24.)
  raw(doc, page, jp, `BT /JP 0 Tf 50 ${top - 460} Td ${hex(jp, HIDDEN.zeroSize)} Tj ET`);
  page.drawText(HIDDEN.zeroSize, { x: 50, y: top - 470, size: 0.05, font: jp });
  raw(doc, page, jp, `BT 3 Tr /JP 16 Tf 50 ${top - 500} Td ${hex(jp, HIDDEN.invisibleMode)} Tj ET`);
  raw(doc, page, jp, `q 300 0 5 5 re W n BT /JP 16 Tf 50 ${top - 540} Td ${hex(jp, HIDDEN.clippedAway)} Tj ET Q`);

  // An optional content group that is off: viewers and mupdf do not draw it.
  const ocg = doc.context.register(doc.context.obj({ Type: 'OCG', Name: PDFString.of('hidden') }));
  doc.catalog.set(PDFName.of('OCProperties'), doc.context.obj({ OCGs: [ocg], D: { OFF: [ocg], Order: [ocg] } }));
  const props = doc.context.obj({ oc1: ocg });
  page.node.Resources()!.set(PDFName.of('Properties'), props);
  raw(doc, page, jp, `/OC /oc1 BDC BT /JP 16 Tf 50 ${top - 580} Td ${hex(jp, HIDDEN.hiddenLayer)} Tj ET EMC`);
  return doc.save();
}

/** One page with more than `chars` characters (tiny Helvetica, all on the page). */
export async function crowdedPdf(chars: number): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const page = doc.addPage(A4);
  const perLine = 900;
  const lines = Math.ceil(chars / perLine);
  const ops = ['BT /F1 1 Tf 1 TL 20 800 Td'];
  for (let i = 0; i < lines; i++) ops.push(`(${'x'.repeat(perLine)}) '`);
  ops.push('ET');
  const font = await doc.embedFont(StandardFonts.Helvetica);
  page.node.setFontDictionary(PDFName.of('F1'), font.ref);
  page.node.set(PDFName.of('Contents'), doc.context.register(doc.context.flateStream(ops.join('\n'))));
  return doc.save();
}

/**
 * A page of Japanese text whose font's ToUnicode map lies: every glyph maps
 * to a right-to-left override, one to a long string with controls, one
 * outside Unicode.
 */
export async function bogusToUnicodePdf(): Promise<Uint8Array> {
  const { doc, jp, page } = await japaneseDoc();
  page.drawText('嘘の対応表を持つ文字', { x: 50, y: A4[1] - 100, size: 24, font: jp });
  await doc.flush();
  const long = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? '0007' : i % 3 === 1 ? '202E' : '0041')).join('');
  const cmap = [
    '/CIDInit /ProcSet findresource begin 12 dict begin begincmap',
    '/CMapName /Bogus def /CMapType 2 def',
    '1 begincodespacerange <0000> <FFFF> endcodespacerange',
    '2 beginbfchar',
    `<0001> <${long}>`,
    '<0002> <DBFFDFFF>',
    'endbfchar',
    '1 beginbfrange <0003> <FFFF> <202E> endbfrange',
    'endcmap CMapName currentdict /CMap defineresource pop end end',
  ].join('\n');
  doc.context.lookup(jp.ref, PDFDict).set(PDFName.of('ToUnicode'), doc.context.register(doc.context.stream(cmap)));
  return doc.save();
}
