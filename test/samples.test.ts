// The samples a new user tries first: each must come out as samples/README.md says.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { violations } from './helpers/conformance.js';
import { run } from './helpers/run.js';
import { NOTICE_RULE } from '../src/core/notice.js';

interface Expect {
  verdict: 'clean' | 'sanitized' | 'blocked';
  codes: string[];
  attachments: string[];
  text: string[];
  subject: string;
}

const expected: Record<string, Expect> = {
  '01-iso2022jp-notice.eml': {
    verdict: 'sanitized',
    codes: ['link-defanged'],
    attachments: [],
    text: ['①　集合', '㈱見本総合研究所', 'hxxps://www[.]pref[.]example[.]jp/kikaku/setsumeikai.html'],
    subject: '[無害化] 【見本県】令和8年度 地域づくり推進補助金 説明会のお知らせ（①会場 ②オンライン）',
  },
  '02-html-newsletter.eml': {
    verdict: 'sanitized',
    codes: ['html-converted', 'alternative-mismatch', 'active-content-removed', 'remote-image-removed', 'link-text-mismatch', 'link-defanged'],
    attachments: [],
    text: ['[画像: イベント写真]', '[警告]'],
    subject: '[無害化] 【見本ライフ通信】自治体DXの最新事例／春のオンラインセミナーのご案内 Vol.128',
  },
  '03-photo-exif-gps.eml': { verdict: 'sanitized', codes: ['image-reencoded'], attachments: ['現場写真.jpg image/jpeg'], text: ['現場写真.jpg'], subject: '' },
  '04-shiftjis-csv.eml': { verdict: 'sanitized', codes: ['text-reencoded', 'csv-formula-neutralised'], attachments: ['名簿.csv text/csv'], text: ['髙橋'], subject: '' },
  // The harness has no document converter yet: documents are removed, as on a gateway whose converters are off.
  '05-pdf-attachment.eml': { verdict: 'sanitized', codes: ['document-unconvertible'], attachments: [], text: ['請求書.pdf'], subject: '' },
  '06-docx-attachment.eml': { verdict: 'sanitized', codes: ['document-unconvertible'], attachments: [], text: ['報告書.docx'], subject: '' },
  '07-zip-attachment.eml': {
    verdict: 'sanitized',
    codes: ['archive-opened', 'text-reencoded', 'image-reencoded'],
    attachments: ['資料一式_説明.txt text/plain', '資料一式_位置図.png image/png'],
    text: [],
    subject: '',
  },
  '08-exe-attachment.eml': { verdict: 'sanitized', codes: ['attachment-removed', 'type-mismatch', 'name-double-extension', 'reply-to-other-domain'], attachments: [], text: [], subject: '' },
  '09-forwarded-mail.eml': {
    verdict: 'sanitized',
    codes: ['message-sanitized', 'link-defanged'],
    attachments: ['【見本県】令和8年度 防災訓練の実施日程について（照会）.eml.txt text/plain'],
    text: [],
    subject: '',
  },
  '10-eucjp-plain.eml': { verdict: 'clean', codes: [], attachments: [], text: [], subject: '' },
  '11-rtlo-filename.eml': { verdict: 'sanitized', codes: ['name-bidi-control', 'attachment-removed'], attachments: [], text: [], subject: '' },
  '12-malformed-mime.eml': { verdict: 'sanitized', codes: ['control-chars-removed', 'image-reencoded'], attachments: ['kunren.gif.png image/png'], text: [], subject: '' },
  '13-calendar-invite.eml': {
    verdict: 'sanitized',
    codes: ['calendar-as-text', 'link-defanged'],
    attachments: [],
    text: ['件名: 【会議】令和8年度 県・市町村合同防災訓練 第1回打合せ', '開始: 2026年5月22日 10:00', 'hxxps://meet[.]example[.]com/'],
    subject: '',
  },
  '14-svg-attachment.eml': { verdict: 'sanitized', codes: ['attachment-removed'], attachments: [], text: [], subject: '' },
  '15-gmail-table.eml': {
    verdict: 'sanitized',
    codes: ['html-converted'],
    attachments: [],
    text: [['場所         見本町3丁目の交差点（郵便局の前）', '大きさ       直径30cmくらい、深さ5cmくらい', '気づいた日   12月5日（土）の朝'].join('\n')],
    subject: '[無害化] お問い合わせ（道路の穴について）',
  },
  '16-gmail-reply.eml': { verdict: 'clean', codes: [], attachments: [], text: ['北に5メートル'], subject: '[無害化] Re: お問い合わせ（道路の穴について）' },
  '17-gmail-reply-again.eml': { verdict: 'clean', codes: [], attachments: [], text: ['穴がふさがっていました'], subject: '[無害化] Re: Re: お問い合わせ（道路の穴について）' },
  '18-infozip-names.eml': {
    verdict: 'sanitized',
    codes: ['archive-opened', 'text-reencoded', 'image-reencoded'],
    attachments: ['工事写真_説明_資料.txt text/plain', '工事写真_位置図.png image/png'],
    text: [],
    subject: '',
  },
  '19-macos-zip.eml': { verdict: 'sanitized', codes: ['archive-opened', 'text-reencoded'], attachments: ['申請書類_ダウンロード手順.txt text/plain'], text: [], subject: '' },
};

// The notice of each sample, line by line, as the recipient reads it ({ID}: its quarantine ID).
const notices: Record<string, string[]> = {
  '01-iso2022jp-notice.eml': [
    '【無害化通知】インターネットから届いたメールです。安全のため、次の点を変更しました。',
    '・リンクは無効にしています。開く必要があるときは、インターネット接続系の端末で hxxp を http に、[.] を . に直して入力してください。',
    '原本は隔離しています（隔離ID: {ID}）。',
  ],
  '02-html-newsletter.eml': [
    '【注意】表示と実際のリンク先が違うリンクがありました（フィッシングのおそれがあります）。本文の指示に従わず、情報政策担当へご相談ください。',
    '【無害化通知】インターネットから届いたメールです。安全のため、次の点を変更しました。',
    '・HTML 形式の本文をテキストに変換しました。',
    '・本文のテキスト版と HTML 版の内容が違っていたため、HTML 版を表示しています。',
    '・スクリプトやフォームなど、動きのある部分を削除しました。',
    '・外部から読み込む画像（開封の確認に使われることがあります）は表示していません。',
    '・表示と実際のリンク先が違うリンクがあります。本文中の [警告] の行をご確認ください。',
    '・リンクは無効にしています。開く必要があるときは、インターネット接続系の端末で hxxp を http に、[.] を . に直して入力してください。',
    '原本は隔離しています（隔離ID: {ID}）。【注意】のもの以外で元の本文や添付ファイルが必要なときは、隔離IDを添えて、情報政策担当へ申請してください。',
  ],
  '03-photo-exif-gps.eml': [
    '【無害化通知】インターネットから届いたメールです。安全のため、次の点を変更しました。',
    '・添付ファイル（1件）',
    '  1. 現場写真.jpg（画像）',
    '     画像を作り直しました（撮影場所などの付加情報は削除）。「現場写真.jpg」として添付しました。',
    '原本は隔離しています。元の本文や添付ファイルが必要なときは、隔離ID（{ID}）を添えて、情報政策担当へ申請してください。',
  ],
  '04-shiftjis-csv.eml': [
    '【無害化通知】インターネットから届いたメールです。安全のため、次の点を変更しました。',
    '・添付ファイル（1件）',
    '  1. 名簿.csv（CSV ファイル）',
    "     テキストとして作り直しました（文字コードは UTF-8）。数式として動くおそれのあるセルは、先頭に ' を付けて文字にしました。リンクは無効にしています。「名簿.csv」として添付しました。",
    '・リンクは無効にしています。開く必要があるときは、インターネット接続系の端末で hxxp を http に、[.] を . に直して入力してください。',
    '原本は隔離しています。元の本文や添付ファイルが必要なときは、隔離ID（{ID}）を添えて、情報政策担当へ申請してください。',
  ],
  '05-pdf-attachment.eml': [
    '【無害化通知】インターネットから届いたメールです。安全のため、次の点を変更しました。',
    '・添付ファイル（1件）',
    '  1. 請求書.pdf（PDF）',
    '     文書を読み取れない、または変換できなかったため、削除しました。',
    '原本は隔離しています。元の本文や添付ファイルが必要なときは、隔離ID（{ID}）を添えて、情報政策担当へ申請してください。',
  ],
  '06-docx-attachment.eml': [
    '【無害化通知】インターネットから届いたメールです。安全のため、次の点を変更しました。',
    '・添付ファイル（1件）',
    '  1. 報告書.docx（Word ファイル）',
    '     文書を読み取れない、または変換できなかったため、削除しました。',
    '原本は隔離しています。元の本文や添付ファイルが必要なときは、隔離ID（{ID}）を添えて、情報政策担当へ申請してください。',
  ],
  '07-zip-attachment.eml': [
    '【無害化通知】インターネットから届いたメールです。安全のため、次の点を変更しました。',
    '・添付ファイル（3件）',
    '  1. 資料一式.zip（圧縮ファイル）',
    '     展開して、中のファイルを一つずつ無害化しました。中のファイル2件は次のとおりです。',
    '  2. 資料一式/説明.txt（1. の中、テキストファイル）',
    '     テキストとして作り直しました（文字コードは UTF-8）。「資料一式_説明.txt」として添付しました。',
    '  3. 資料一式/位置図.png（1. の中、画像）',
    '     画像を作り直しました（撮影場所などの付加情報は削除）。「資料一式_位置図.png」として添付しました。',
    '原本は隔離しています。元の本文や添付ファイルが必要なときは、隔離ID（{ID}）を添えて、情報政策担当へ申請してください。',
  ],
  '08-exe-attachment.eml': [
    '【注意】PDF を装った実行ファイル（請求書.pdf.exe）を削除しました。本文の指示に従わず、情報政策担当へご相談ください。',
    '【無害化通知】インターネットから届いたメールです。安全のため、次の点を変更しました。',
    '・返信先（Reply-To）に差出人と別のドメインのアドレス（billing-support@evil.example.net）が指定されていたため、返信先にしていません。返信するときは宛先をご確認ください。',
    '・添付ファイル（1件）',
    '  1. 請求書.pdf.exe（実行ファイル）',
    '     この種類のファイルは受け取れないため、削除しました。',
    '原本は隔離しています（隔離ID: {ID}）。ご相談の際にお伝えください。',
  ],
  '09-forwarded-mail.eml': [
    '【無害化通知】インターネットから届いたメールです。安全のため、次の点を変更しました。',
    '・添付ファイル（1件）',
    '  1. 【見本県】令和8年度 防災訓練の実施日程について（照会）.eml（添付されたメール）',
    '     添付されたメールを無害化しました。リンクは無効にしています。本文を「【見本県】令和8年度 防災訓練の実施日程について（照会）.eml.txt」として添付しました。',
    '・リンクは無効にしています。開く必要があるときは、インターネット接続系の端末で hxxp を http に、[.] を . に直して入力してください。',
    '原本は隔離しています。元の本文や添付ファイルが必要なときは、隔離ID（{ID}）を添えて、情報政策担当へ申請してください。',
  ],
  '10-eucjp-plain.eml': ['【無害化通知】インターネットから届いたメールです。変更した箇所はありません。'],
  '11-rtlo-filename.eml': [
    '【注意】PDF を装った実行ファイル（議事録fdp.scr）を削除しました。本文の指示に従わず、情報政策担当へご相談ください。',
    '【無害化通知】インターネットから届いたメールです。安全のため、次の点を変更しました。',
    '・添付ファイル（1件）',
    '  1. 議事録fdp.scr（実行ファイル）',
    '     この種類のファイルは受け取れないため、削除しました。',
    '原本は隔離しています（隔離ID: {ID}）。ご相談の際にお伝えください。',
  ],
  '12-malformed-mime.eml': [
    '【無害化通知】インターネットから届いたメールです。安全のため、次の点を変更しました。',
    '・表示できない制御文字を削除しました。',
    '・添付ファイル（1件）',
    '  1. kunren.gif（画像）',
    '     画像を作り直しました（撮影場所などの付加情報は削除）。「kunren.gif.png」として添付しました。',
    '原本は隔離しています。元の本文や添付ファイルが必要なときは、隔離ID（{ID}）を添えて、情報政策担当へ申請してください。',
  ],
  '13-calendar-invite.eml': [
    '【無害化通知】インターネットから届いたメールです。安全のため、次の点を変更しました。',
    '・添付ファイル（1件）',
    '  1. invite.ics（予定表）',
    '     予定表の内容を本文の最後に表示しました（ファイルは添付していません）。リンクは無効にしています。',
    '・リンクは無効にしています。開く必要があるときは、インターネット接続系の端末で hxxp を http に、[.] を . に直して入力してください。',
    '原本は隔離しています。元の本文や添付ファイルが必要なときは、隔離ID（{ID}）を添えて、情報政策担当へ申請してください。',
  ],
  '14-svg-attachment.eml': [
    '【無害化通知】インターネットから届いたメールです。安全のため、次の点を変更しました。',
    '・添付ファイル（1件）',
    '  1. 避難所マップ.svg（SVG 画像）',
    '     この種類のファイルは受け取れないため、削除しました。',
    '原本は隔離しています。元の本文や添付ファイルが必要なときは、隔離ID（{ID}）を添えて、情報政策担当へ申請してください。',
  ],
  '15-gmail-table.eml': [
    '【無害化通知】インターネットから届いたメールです。安全のため、次の点を変更しました。',
    '・HTML 形式の本文をテキストに変換しました。',
    '原本は隔離しています。元の本文や添付ファイルが必要なときは、隔離ID（{ID}）を添えて、情報政策担当へ申請してください。',
  ],
  '16-gmail-reply.eml': ['【無害化通知】インターネットから届いたメールです。変更した箇所はありません。'],
  '17-gmail-reply-again.eml': ['【無害化通知】インターネットから届いたメールです。変更した箇所はありません。'],
  '18-infozip-names.eml': [
    '【無害化通知】インターネットから届いたメールです。安全のため、次の点を変更しました。',
    '・添付ファイル（3件）',
    '  1. 工事写真.zip（圧縮ファイル）',
    '     展開して、中のファイルを一つずつ無害化しました。中のファイル2件は次のとおりです。',
    '  2. 工事写真/説明_資料.txt（1. の中、テキストファイル）',
    '     テキストとして作り直しました（文字コードは UTF-8）。「工事写真_説明_資料.txt」として添付しました。',
    '  3. 工事写真/位置図.png（1. の中、画像）',
    '     画像を作り直しました（撮影場所などの付加情報は削除）。「工事写真_位置図.png」として添付しました。',
    '原本は隔離しています。元の本文や添付ファイルが必要なときは、隔離ID（{ID}）を添えて、情報政策担当へ申請してください。',
  ],
  '19-macos-zip.eml': [
    '【無害化通知】インターネットから届いたメールです。安全のため、次の点を変更しました。',
    '・添付ファイル（2件）',
    '  1. 申請書類.zip（圧縮ファイル）',
    '     展開して、中のファイルを一つずつ無害化しました。中のファイル1件は次のとおりです。',
    '  2. 申請書類/ダウンロード手順.txt（1. の中、テキストファイル）',
    '     テキストとして作り直しました（文字コードは UTF-8）。「申請書類_ダウンロード手順.txt」として添付しました。',
    '原本は隔離しています。元の本文や添付ファイルが必要なときは、隔離ID（{ID}）を添えて、情報政策担当へ申請してください。',
  ],
};

describe('samples/', () => {
  for (const [file, want] of Object.entries(expected)) {
    it(file, async () => {
      const raw = readFileSync(`samples/${file}`);
      const o = await run(raw);
      expect(o.result.verdict).toBe(want.verdict);
      expect(o.codes).toEqual(expect.arrayContaining(want.codes));
      expect(o.mail!.attachments.map((a) => `${a.filename} ${a.contentType}`)).toEqual(want.attachments);
      for (const t of want.text) expect(o.mail!.text).toContain(t);
      const notice = o.mail!.text!.slice(0, o.mail!.text!.indexOf(NOTICE_RULE)).replace(/\n$/, '').split('\n');
      expect(notice).toEqual(notices[file]!.map((l) => l.replace('{ID}', o.result.quarantineId ?? '')));
      if (want.subject) expect(o.mail!.subject).toBe(want.subject);
      expect(await violations(o.raw!)).toEqual([]);
      if (want.verdict !== 'clean') expect(Buffer.compare((await o.h.store.get(o.result.quarantineId!)).raw, raw)).toBe(0);
    });
  }
});

describe('samples/: what the clerk receives, in the delivered bytes', () => {
  /** The top-level header block, unfolded, as [name, value] pairs. */
  const top = (raw: Buffer): Array<[string, string]> => {
    const text = raw.toString('latin1');
    return text
      .slice(0, text.indexOf('\r\n\r\n'))
      .replace(/\r\n[ \t]/g, ' ')
      .split('\r\n')
      .map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]);
  };
  const field = (raw: Buffer, name: string): string | undefined => top(raw).find(([k]) => k === name)?.[1];

  it('the reply chain (15, 16, 17) stays one thread: In-Reply-To and References cross, the tag is never stacked', async () => {
    const [first, second, third] = await Promise.all(['15-gmail-table.eml', '16-gmail-reply.eml', '17-gmail-reply-again.eml'].map((f) => run(readFileSync(`samples/${f}`))));
    expect(field(first!.raw!, 'in-reply-to')).toBeUndefined();
    expect(field(second!.raw!, 'in-reply-to')).toBe('<TY3P286MB0001.tanaka.doboku@mail.city.example.lg.jp>');
    expect(field(second!.raw!, 'references')).toBe('<5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d@mugaika.invalid> <TY3P286MB0001.tanaka.doboku@mail.city.example.lg.jp>');
    expect(field(third!.raw!, 'in-reply-to')).toBe('<TY3P286MB0002.tanaka.doboku@mail.city.example.lg.jp>');
    expect(field(third!.raw!, 'references')).toBe(
      '<5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d@mugaika.invalid> <TY3P286MB0001.tanaka.doboku@mail.city.example.lg.jp> <7f8e9d0c-1b2a-4c3d-9e4f-5a6b7c8d9e0f@mugaika.invalid> <TY3P286MB0002.tanaka.doboku@mail.city.example.lg.jp>',
    );
    expect([first, second, third].map((o) => o!.mail!.subject)).toEqual([
      '[無害化] お問い合わせ（道路の穴について）',
      '[無害化] Re: お問い合わせ（道路の穴について）',
      '[無害化] Re: Re: お問い合わせ（道路の穴について）',
    ]);
  });

  it('08: the Reply-To on another domain does not cross, and the notice names it', async () => {
    const o = await run(readFileSync('samples/08-exe-attachment.eml'));
    expect(field(o.raw!, 'reply-to')).toBeUndefined();
    expect(o.mail!.text).toContain('（billing-support@evil.example.net）が指定されていたため、返信先にしていません。');
  });

  it('04: the Shift_JIS CSV crosses as 名簿.csv, text/csv, UTF-8 with BOM and CRLF, its cells as they were but neutralised', async () => {
    const o = await run(readFileSync('samples/04-shiftjis-csv.eml'));
    const a = o.mail!.attachments[0]!;
    expect([a.filename, a.contentType]).toEqual(['名簿.csv', 'text/csv']);
    expect([...a.content.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = a.content.toString('utf8').slice(1);
    // CRLF records, no bare line end outside quotes, no formula cell: violations() checks every delivered CSV.
    expect(await violations(o.raw!)).toEqual([]);
    expect(text.split('\r\n')[0]).toBe('No,氏名,フリガナ,地区,電話番号,担当,備考');
    expect(text).toContain('髙橋');
    expect(text).toContain('山﨑');
    expect(text).toMatch(/(^|,)'=HYPERLINK\(|"'=HYPERLINK\(/m);
  });

  it('18 and 19: zip member names in UTF-8 without the flag (Info-ZIP, macOS) arrive readable, in the notice too', async () => {
    const infozip = await run(readFileSync('samples/18-infozip-names.eml'));
    expect(infozip.mail!.text).toContain('  2. 工事写真/説明_資料.txt（1. の中、テキストファイル）');
    const mac = await run(readFileSync('samples/19-macos-zip.eml'));
    expect(mac.mail!.attachments.map((a) => a.filename)).toEqual(['申請書類_ダウンロード手順.txt'.normalize('NFC')]);
    expect(mac.mail!.text).toContain('  2. 申請書類/ダウンロード手順.txt（1. の中、テキストファイル）');
    expect(mac.mail!.text).not.toContain('__MACOSX');
  });
});
