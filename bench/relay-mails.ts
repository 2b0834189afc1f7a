// The relay benchmark's mails (bench/relay.ts), generated deterministically,
// ~10 KB on the wire: Japanese business text (ISO-2022-JP 7bit and UTF-8
// base64; half of them with a URL, which mugaika defangs and so quarantines
// the original) and one in 20 an HTML newsletter (multipart/alternative with
// script, tracking pixel, lying link). Apart from the bench itself so that a
// profile of the core can run on the same mix.
import Encoding from 'encoding-japanese';
import { b64lines, pick, prng } from './inputs.js';

/** The one recipient every bench mail is addressed to. */
export const RCPT = 'soumu@city.example.lg.jp';

const utf8Word = (text: string): string => `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
const jisWord = (text: string): string => `=?ISO-2022-JP?B?${Buffer.from(Encoding.convert(Encoding.stringToCode(text), { to: 'JIS', from: 'UNICODE' })).toString('base64')}?=`;

const SENTENCES = [
  'いつも大変お世話になっております。',
  '先日ご依頼いただきました件につきまして、下記のとおりご報告いたします。',
  '本年度の事業計画に関する資料を取りまとめましたので、ご確認のほどよろしくお願いいたします。',
  '会議の日程につきましては、来週火曜日の午後二時からを予定しております。',
  'ご不明な点がございましたら、担当までお気軽にお問い合わせください。',
  '見積書の金額に一部誤りがございましたので、訂正したものを改めてお送りいたします。',
  '恐れ入りますが、今月末までにご回答をいただけますと幸いです。',
  '納品予定日は十二月十五日となっておりますが、天候により前後する可能性がございます。',
  '説明会の会場は市民会館第二会議室を予定しており、定員は三十名でございます。',
  '引き続きどうぞよろしくお願い申し上げます。',
  '添付の様式に必要事項をご記入のうえ、ご提出くださいますようお願いいたします。',
  '年末年始の休業期間は十二月二十九日から一月三日まででございます。',
] as const;
const COMPANIES = ['株式会社例示システム', '例示建設株式会社', '有限会社サンプル印刷', '一般社団法人例示協会', '例示コンサルティング合同会社'] as const;

export interface Mail {
  key: string;
  kind: 'text' | 'html';
  raw: Buffer;
}

const head = (key: string, from: string, subject: string, type: string[]): string =>
  [`From: ${from}`, `To: ${RCPT}`, `Subject: ${subject}`, 'Date: Thu, 26 Nov 2026 10:00:00 +0900', `Message-ID: <${key}>`, 'MIME-Version: 1.0', ...type, '', ''].join('\r\n');

function textMail(seq: number, key: string): Mail {
  const rnd = prng(0xbe4c + seq * 7919);
  const company = pick(rnd, COMPANIES);
  const lines = [`例示市 総務課 御中`, '', `${company}の営業部 担当の山田でございます。`];
  // ~10 KB on the wire either way: ISO-2022-JP is 7bit (escape sequences add a little), UTF-8 is base64.
  const jis = seq % 2 === 0;
  const chars = jis ? 4300 : 2350;
  while (lines.join('').length < chars) {
    let line = '';
    while (line.length < 34) line += pick(rnd, SENTENCES);
    lines.push(line, '');
  }
  if (seq % 4 < 2) lines.push('詳細は弊社ホームページをご覧ください。', `https://www.example.co.jp/news/${seq}`, '');
  lines.push('──────────', `${company}　営業部　山田太郎`, '電話 03-0000-0000');
  const subject = `【ご連絡】事業計画資料の送付について（${seq}）`;
  const from = (word: (t: string) => string): string => `${word(`${company} 山田太郎`)} <yamada@example.co.jp>`;
  if (jis) {
    const body = Buffer.from(Encoding.convert(Encoding.stringToCode(lines.join('\r\n')), { to: 'JIS', from: 'UNICODE' }));
    return {
      key,
      kind: 'text',
      raw: Buffer.concat([
        Buffer.from(head(key, from(jisWord), jisWord(subject), ['Content-Type: text/plain; charset=ISO-2022-JP', 'Content-Transfer-Encoding: 7bit']), 'latin1'),
        body,
        Buffer.from('\r\n'),
      ]),
    };
  }
  const body = b64lines(Buffer.from(lines.join('\r\n'), 'utf8'));
  return {
    key,
    kind: 'text',
    raw: Buffer.from(head(key, from(utf8Word), utf8Word(subject), ['Content-Type: text/plain; charset=UTF-8', 'Content-Transfer-Encoding: base64']) + body + '\r\n', 'latin1'),
  };
}

function htmlMail(seq: number, key: string): Mail {
  const rnd = prng(0x47a1 + seq * 104729);
  const items: string[] = [];
  while (items.join('').length < 1500) items.push(pick(rnd, SENTENCES));
  const text = items.join('\n');
  const html = [
    '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>メールマガジン</title>',
    '<style>body{font-family:Meiryo,sans-serif}</style><script>window.track&&track()</script></head><body>',
    `<p><img src="https://track.example.com/open/${seq}.gif" width="1" height="1" alt=""></p>`,
    ...items.map((s, i) => (i % 5 === 0 ? `<h2>お知らせ ${i / 5 + 1}</h2><p><a href="https://www.example.com/n/${seq}/${i}">${s}</a></p>` : `<p>${s}</p>`)),
    '<p><a href="https://evil.example.net/login">https://www.city.example.lg.jp/login</a></p>',
    '</body></html>',
  ].join('\r\n');
  const boundary = `bench-${seq}`;
  const body = [
    `--${boundary}`,
    'Content-Type: text/plain; charset=UTF-8',
    'Content-Transfer-Encoding: base64',
    '',
    b64lines(Buffer.from(text, 'utf8')),
    `--${boundary}`,
    'Content-Type: text/html; charset=UTF-8',
    'Content-Transfer-Encoding: base64',
    '',
    b64lines(Buffer.from(html, 'utf8')),
    `--${boundary}--`,
    '',
  ].join('\r\n');
  return {
    key,
    kind: 'html',
    raw: Buffer.from(
      head(key, `${utf8Word('例示メール通信')} <news@mail.example.com>`, utf8Word(`例示メール通信 第${seq}号`), [`Content-Type: multipart/alternative; boundary="${boundary}"`]) + body,
      'latin1',
    ),
  };
}

/** `count` mails for one phase of one target; every key is unique in the run. */
export function mails(target: string, phase: string, count: number): Mail[] {
  return Array.from({ length: count }, (_, i) => {
    const key = `${target}.${phase}.${i}@bench.example.jp`;
    return i % 20 === 19 ? htmlMail(i, key) : textMail(i, key);
  });
}
