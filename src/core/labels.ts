// Every sentence the sanitizer writes into a delivered message, in Japanese
// (the default) and English. Code elsewhere never spells out user-facing text.
//
// The Japanese is written as a colleague in the 情報政策担当 would write to a
// clerk (/work/shared/writing-ja.md): です・ます, short, only what happened to
// this mail, file kinds in words, a half-width space between Japanese and
// Latin words ("PDF に変換"), full-width punctuation. The English says the
// same things. docs/notice.md shows the sentences of every finding in both
// languages; a municipality replaces any of them with notice.findings in its
// policy file.
import type { FileKind } from './file-kinds.js';
import type { FindingCode } from './findings.js';
import { jstLong, jstLongEn } from './jst.js';

/** Something never legitimate in mail, warned about before anything else. */
export type Danger =
  /** An executable, script, shortcut or disk image; `claimed` is what its name pretends it is. */
  | { what: 'file'; kind: string; claimed: string | null; name: string; removed: boolean }
  /** A file whose name hides its extension with bidi controls (what it is, is harmless). */
  | { what: 'disguised-name'; name: string; removed: boolean }
  /** A document with macros. */
  | { what: 'macro'; kind: string; name: string; removed: boolean }
  /** A link whose text names another host than its target. */
  | { what: 'link' };

/** A calendar date and, for a date-time, its hour and minute, as written. */
export interface WallTime {
  y: number;
  mo: number;
  d: number;
  h?: number;
  mi?: number;
}

const two = (n: number): string => String(n).padStart(2, '0');

export interface Labels {
  image(alt: string): string;
  linkMismatch(claimed: string, actual: string): string;
  /** The line left where a file encoded in text (uuencode, yEnc, BinHex, base64) was. */
  encodedFileRemoved(name: string | null): string;

  // The notice, in the order it is written.
  /** The one line of a message with nothing changed. */
  noticeClean: string;
  /** The first line of the notice of a changed message; the changes follow as a list. */
  noticeChanged: string;
  /** The first line of the notice of a blocked message; `why` is its cause's sentence. */
  noticeBlocked(why: string): string;
  /** One danger, as the notice's first line, with what to do. */
  dangerLine(danger: Danger, contact: string): string;
  /** Several dangers: the first line, then each as an item (dangerItem). */
  dangersLine(count: number, contact: string): string;
  dangerItem(danger: Danger): string;
  /** Starts an item of the notice's list. */
  bullet: string;
  /** Between two sentences. */
  sentenceGap: string;
  /** One sentence per finding code (the console shows these too). */
  finding: Record<FindingCode, string>;
  /** Where a finding's sentence reads differently about one attachment. */
  findingInAttachment: Partial<Record<FindingCode, string>>;
  /** Sentences that say a finding's count (Finding.count); `finding` is the fallback. */
  counted: Partial<Record<FindingCode, (n: number) => string>>;
  /** The Reply-To addresses left out (reply-to-other-domain), named. */
  replyToOther(addresses: string[]): string;
  attachmentsHeading(count: number): string;
  attachmentLine(index: number, name: string, kind: string): string;
  /** A file found inside attachment `parent` (an archive, attached message or TNEF). */
  memberLine(index: number, name: string, kind: string, parent: number): string;
  /** What a file is, in words. */
  kind: Record<FileKind, string>;
  /** The name shown for an attachment the sender did not name. */
  unnamed: string;
  deliveredAs(name: string): string;
  /** An attached message's or winmail.dat's text, delivered as a file. */
  textDeliveredAs(name: string): string;
  /** A container's files, listed after it. */
  membersFollow(count: number): string;
  shownInBody: string;
  removed: string;
  /** The original is kept; what was removed or converted can be asked for. */
  quarantinedAsk(id: string, contact: string): string;
  /** The original is kept; dangers were removed, and other things can be asked for. */
  quarantinedAskOthers(id: string, contact: string): string;
  /** The original is kept; nothing in it needs asking for (only dangers, or nothing lost). */
  quarantinedOnly(id: string, dangers: boolean): string;
  /** The policy keeps no original of a message whose only changes lose nothing. */
  notKept: string;
  /** Before the quarantined item's address in the console (its own line follows). */
  itemPage: string;
  /** The same, where nothing of the original is worth asking for. */
  itemPageOnly: string;
  /** The contact with its phone (内線) and mail address, as the policy gives them. */
  contact(name: string, phone: string, mail: string): string;
  /** The line put at the top of a released original's text: who released it and when (JST); `actor` may be empty. */
  releasedNote(actor: string, at: Date): string;
  /** The first line of a mail made from a password-protected attachment its recipient opened in the console. */
  unlockedContents(id: string): string;

  /** Fallback name of an attached message with no file name. */
  forwardedMessageName: string;
  /** Header labels of an attached message rendered as text. */
  messageFields: { from: string; to: string; cc: string; date: string; subject: string };
  calendarHeading(name: string): string;
  /** A date and time as written somewhere (a calendar): `zone` 'JST' for Japan time, another zone's name, or null for none. */
  when(t: WallTime, zone: string | null): string;
  /** A moment, in Japan time. */
  moment(d: Date): string;
  calendarFields: { summary: string; start: string; end: string; location: string; organizer: string; description: string; url: string };
  bodyOmitted: string;
  /** Ends a body cut short at limits.maxOutputBytes. */
  bodyCut: string;
  unknownSender: string;
}

const bracketed = (host: string): string => host.replace(/\./g, '[.]');

const ja: Labels = {
  image: (alt) => `[画像: ${alt}]`,
  linkMismatch: (claimed, actual) => `[警告] このリンクは表示上「${bracketed(claimed)}」ですが、実際のリンク先は「${bracketed(actual)}」です（フィッシングのおそれがあります）。`,
  encodedFileRemoved: (name) => (name ? `[ここにあった埋め込みファイル（${name}）を削除しました]` : '[ここにあった埋め込みファイルを削除しました]'),

  noticeClean: '【無害化通知】インターネットから届いたメールです。変更した箇所はありません。',
  noticeChanged: '【無害化通知】インターネットから届いたメールです。安全のため、次の点を変更しました。',
  noticeBlocked: (why) => `【無害化通知】インターネットから届いたメールです。${why}`,
  dangerLine: (d, contact) => `【注意】${dangerSentence(d)}本文の指示に従わず、${contact}へご相談ください。`,
  dangersLine: (n, contact) => `【注意】危険なものが${n}件含まれていました。本文の指示に従わず、${contact}へご相談ください。`,
  dangerItem: (d) => `・${dangerSentence(d)}`,
  bullet: '・',
  sentenceGap: '',
  finding: {
    'message-too-large': 'メールのサイズが上限を超えているため、本文と添付ファイルをお届けできません。',
    'mime-too-deep': 'メールの構造の入れ子が深すぎるため、本文と添付ファイルをお届けできません。',
    'too-many-parts': 'メールの構成要素が多すぎるため、本文と添付ファイルをお届けできません。',
    'header-too-large': 'メールのヘッダーが大きすぎるため、本文と添付ファイルをお届けできません。',
    'parse-error': 'メールの形式を読み取れないため、本文と添付ファイルをお届けできません。',
    timeout: '無害化の処理が制限時間内に終わらなかったため、本文と添付ファイルをお届けできません。',
    'internal-error': '無害化の処理中にエラーが起きたため、本文と添付ファイルをお届けできません。',
    'encoded-file-blocked': '本文に文字の形で埋め込まれたファイルがあったため、本文と添付ファイルをお届けできません。',
    'mime-ambiguous': 'このメールには同じ指定が2回書かれていて、読み方によって内容が変わります。最初の指定に従って読んだ内容をお届けしています。',
    'parts-truncated': '添付ファイルなどの数が上限を超えていたため、超えた分はお届けしていません（原本には含まれています）。',
    'depth-truncated': '入れ子が深すぎる部分はお届けしていません（原本には含まれています）。',
    'missing-from': '差出人（From）が書かれていないメールです。',
    'missing-date': '送信日時が書かれていないため、受信した日時を表示しています。',
    'invalid-address': '正しくないメールアドレスがあったため、宛先などの表示から除きました。',
    'reply-to-other-domain': '返信先（Reply-To）に差出人と別のドメインのアドレスが指定されていたため、返信先にしていません。',
    'html-converted': 'HTML 形式の本文をテキストに変換しました。',
    'alternative-mismatch': '本文のテキスト版と HTML 版の内容が違っていたため、HTML 版を表示しています。',
    'active-content-removed': 'スクリプトやフォームなど、動きのある部分を削除しました。',
    'remote-image-removed': '外部から読み込む画像（開封の確認に使われることがあります）は表示していません。',
    'link-defanged': 'リンクは無効にしています。開く必要があるときは、インターネット接続系の端末で hxxp を http に、[.] を . に直して入力してください。',
    'link-text-mismatch': '表示と実際のリンク先が違うリンクがあります。本文中の [警告] の行をご確認ください。',
    'control-chars-removed': '表示できない制御文字を削除しました。',
    'undecodable-characters': '読み取れない文字がありました（� と表示しています）。',
    'encoded-file-removed': '本文に文字の形で埋め込まれていたファイルを削除しました。',
    'image-reencoded': '画像を作り直しました（撮影場所などの付加情報は削除）。',
    'image-too-large': '画像が大きすぎるため、削除しました。',
    'image-undecodable': '画像として読み取れないため、削除しました。',
    'text-reencoded': 'テキストとして作り直しました（文字コードは UTF-8）。',
    'csv-formula-neutralised': "数式として動くおそれのあるセルは、先頭に ' を付けて文字にしました。",
    'text-undecodable': '文字コードを判別できないため、削除しました。',
    'type-mismatch': '名前や申告された種類と、実際の中身が違います。',
    'name-bidi-control': '名前に、文字の向きを変えて拡張子を偽装する制御文字がありました（取り除いて表示しています）。',
    'name-double-extension': '名前に拡張子が二重に付いていました（ファイルの種類を偽装する手口です）。',
    'name-path': '名前にフォルダーの指定が含まれていました（取り除いています）。',
    'attachment-removed': 'この種類のファイルは受け取れないため、削除しました。',
    'output-limit': 'メールの大きさの上限に達したため、本文の続きと残りの添付ファイルを省きました。',
    'document-converted': 'ページを画像にした PDF に作り直しました（文字の検索・コピーやリンクは使えません）。',
    'document-macro': 'マクロが含まれていました（画像の PDF にするため、マクロは動きません）。',
    'document-encrypted': 'パスワード付きの文書は変換できないため、削除しました。必要なときは、差出人にパスワードを付けずに送り直してもらってください。',
    'document-too-large': 'ページ数またはページの大きさが上限を超えているため、削除しました。',
    'document-unconvertible': '文書を読み取れない、または変換できなかったため、削除しました。',
    'archive-opened': '展開して、中のファイルを一つずつ無害化しました。',
    'archive-encrypted': 'パスワード付きの圧縮ファイルは中身を確認できないため、削除しました。必要なときは、差出人にパスワードを付けずに送り直してもらってください。',
    'archive-limit': '展開後の大きさ・圧縮率・ファイル数・入れ子のいずれかが上限を超えたため（zip 爆弾のおそれ）、圧縮ファイル全体を削除しました。',
    'archive-corrupt': '圧縮ファイルが壊れているため、削除しました。',
    'archive-unsupported': 'この形式の圧縮ファイル（rar、7z、lzh など）は中身を確認できないため、削除しました。必要なときは、差出人に zip 形式で送り直してもらってください。',
    'archive-path-unsafe': '名前に、フォルダーの外を指す指定（../ やドライブ名）がありました（取り除いています）。',
    'archive-overlap': '同じデータを重ねて指すファイルがありました。重なったものは展開していません。',
    'message-sanitized': '添付されたメールを無害化しました。',
    'nesting-too-deep': '添付の入れ子（メールの中のメールなど）が深すぎるため、削除しました。',
    'tnef-opened': 'Outlook の添付データを展開して、中のファイルを一つずつ無害化しました。',
    'tnef-corrupt': 'Outlook の添付データ（winmail.dat）を読み取れないため、削除しました。',
    'calendar-as-text': '予定表の内容を本文の最後に表示しました（ファイルは添付していません）。',
    'html-attachment-converted': 'HTML ファイルをテキストに変換しました。',
  },
  findingInAttachment: {
    'output-limit': 'メールの大きさの上限に達したため、削除しました。',
    timeout: '制限時間内に処理が終わらなかったため、削除しました。',
    'mime-too-deep': '添付の入れ子が深すぎるため、削除しました。',
    'too-many-parts': '添付されたメールの構成要素が多すぎるため、削除しました。',
    'header-too-large': '添付されたメールのヘッダーが大きすぎるため、削除しました。',
    'parse-error': '添付されたメールの形式を読み取れないため、削除しました。',
    'encoded-file-removed': '文字の形で埋め込まれていたファイルを削除しました。',
    'mime-ambiguous': '同じ指定が2回書かれていて、読み方によって内容が変わります。最初の指定に従って読んでいます。',
    'control-chars-removed': '表示できない制御文字を削除しました。',
    'link-defanged': 'リンクは無効にしています。',
    'link-text-mismatch': '表示と実際のリンク先が違うリンクがあります（[警告] の行をご確認ください）。',
  },
  counted: {
    'parts-truncated': (n) => `添付ファイルなどの数が上限を超えていたため、残りの${n}個はお届けしていません（原本には含まれています）。`,
    'depth-truncated': (n) => `入れ子が深すぎる部分（${n}か所）はお届けしていません（原本には含まれています）。`,
  },
  replyToOther: (a) => `返信先（Reply-To）に差出人と別のドメインのアドレス（${a.join('、')}）が指定されていたため、返信先にしていません。返信するときは宛先をご確認ください。`,
  attachmentsHeading: (n) => `・添付ファイル（${n}件）`,
  attachmentLine: (i, name, kind) => `  ${i}. ${name}（${kind}）`,
  memberLine: (i, name, kind, parent) => `  ${i}. ${name}（${parent}. の中、${kind}）`,
  kind: {
    image: '画像',
    text: 'テキストファイル',
    csv: 'CSV ファイル',
    pdf: 'PDF',
    word: 'Word ファイル',
    excel: 'Excel ファイル',
    powerpoint: 'PowerPoint ファイル',
    rtf: 'RTF 文書',
    odt: 'OpenDocument 文書',
    ods: 'OpenDocument 表計算',
    odp: 'OpenDocument プレゼンテーション',
    office: 'Office ファイル',
    archive: '圧縮ファイル',
    executable: '実行ファイル',
    script: 'スクリプト',
    html: 'HTML ファイル',
    svg: 'SVG 画像',
    calendar: '予定表',
    message: '添付されたメール',
    tnef: 'Outlook の添付データ（winmail.dat）',
    shortcut: 'ショートカット',
    'disk-image': 'ディスクイメージ',
    unknown: '種類の分からないファイル',
  },
  unnamed: '名前のないファイル',
  deliveredAs: (name) => `「${name}」として添付しました。`,
  textDeliveredAs: (name) => `本文を「${name}」として添付しました。`,
  membersFollow: (n) => (n > 0 ? `中のファイル${n}件は次のとおりです。` : '中にファイルはありませんでした。'),
  shownInBody: '内容を本文の最後に表示しました。',
  removed: '削除しました。',
  quarantinedAsk: (id, contact) => `原本は隔離しています。元の本文や添付ファイルが必要なときは、隔離ID（${id}）を添えて、${contact}へ申請してください。`,
  quarantinedAskOthers: (id, contact) => `原本は隔離しています（隔離ID: ${id}）。【注意】のもの以外で元の本文や添付ファイルが必要なときは、隔離IDを添えて、${contact}へ申請してください。`,
  quarantinedOnly: (id, dangers) => `原本は隔離しています（隔離ID: ${id}）。${dangers ? 'ご相談の際にお伝えください。' : ''}`,
  notKept: '変更はリンクの無効化などに限られるため、原本は保管していません。',
  itemPage: '変更した内容の確認と原本の申請は、次のページでできます。',
  itemPageOnly: '変更した内容は、次のページで確認できます。',
  contact: (name, phone, mail) => {
    const reach = [phone, mail].map((s) => s.trim()).filter(Boolean);
    return reach.length > 0 ? `${name.trim()}（${reach.join('、')}）` : name.trim();
  },
  releasedNote: (actor, at) => `【原本】隔離していた原本を解放したものです。無害化していません（解放: ${actor || '管理者'}、${jstLong(at)}）。`,
  unlockedContents: (id) => `【パスワード付きファイルの中身】隔離ID（${id}）のメールに添付されていたパスワード付きファイルを、受信者が入力したパスワードで開き、中身を無害化したものです。`,

  forwardedMessageName: '転送メッセージ',
  messageFields: { from: '差出人', to: '宛先', cc: 'CC', date: '日時', subject: '件名' },
  calendarHeading: (name) => `■ 予定表（${name}）`,
  when: (t, zone) => `${t.y}年${t.mo}月${t.d}日${t.h === undefined ? '' : ` ${two(t.h)}:${two(t.mi ?? 0)}`}${zone && zone !== 'JST' ? `（${zone}）` : ''}`,
  moment: (d) => jstLong(d),
  calendarFields: { summary: '件名', start: '開始', end: '終了', location: '場所', organizer: '主催者', description: '説明', url: 'URL' },
  bodyOmitted: '（本文はありません）',
  bodyCut: '\n\n（メールの大きさの上限に達したため、本文はここまでです。）',
  unknownSender: '差出人不明',
};

/** Joins Japanese and Latin words with one half-width space between them ("PDF を装った"), none between Japanese ones. */
export function spaced(...words: string[]): string {
  let out = '';
  for (const w of words) {
    if (!w) continue;
    const latinEnd = /[A-Za-z0-9)]$/.test(out);
    const latinStart = /^[A-Za-z0-9(]/.test(w);
    out += out && latinEnd !== latinStart ? ` ${w}` : w;
  }
  return out;
}

function dangerSentence(d: Danger): string {
  const fate = (removed: boolean): string => (removed ? 'を削除しました。' : 'が添付されていました。');
  switch (d.what) {
    case 'file':
      return `${d.claimed ? spaced(d.claimed, 'を装った', d.kind) : d.kind}（${d.name}）${fate(d.removed)}`;
    case 'disguised-name':
      return `名前を偽装したファイル（${d.name}）${fate(d.removed)}`;
    case 'macro':
      return `${spaced('マクロ付きの', d.kind)}（${d.name}）${fate(d.removed)}`;
    case 'link':
      return '表示と実際のリンク先が違うリンクがありました（フィッシングのおそれがあります）。';
  }
}

function dangerSentenceEn(d: Danger): string {
  const verb = (removed: boolean): string => (removed ? 'was removed.' : 'was attached.');
  switch (d.what) {
    case 'file':
      return `${article(d.kind, true)}${d.claimed ? ` disguised as ${article(d.claimed)}` : ''} (${d.name}) ${verb(d.removed)}`;
    case 'disguised-name':
      return `A file with a disguised name (${d.name}) ${verb(d.removed)}`;
    case 'macro':
      return `${article(d.kind, true)} with macros (${d.name}) ${verb(d.removed)}`;
    case 'link':
      return 'Some links lead elsewhere than their text says (possible phishing).';
  }
}

const article = (noun: string, capital = false): string => {
  const a = /^[aeiou]/i.test(noun) ? 'an' : 'a';
  return `${capital ? a[0]!.toUpperCase() + a.slice(1) : a} ${noun}`;
};

const en: Labels = {
  image: (alt) => `[image: ${alt}]`,
  linkMismatch: (claimed, actual) => `[WARNING] This link shows "${bracketed(claimed)}" but leads to "${bracketed(actual)}" (possible phishing).`,
  encodedFileRemoved: (name) => (name ? `[An embedded file (${name}) was removed here]` : '[An embedded file was removed here]'),

  noticeClean: '[Sanitization notice] This message came from the Internet. Nothing in it was changed.',
  noticeChanged: '[Sanitization notice] This message came from the Internet. For safety, the following was changed:',
  noticeBlocked: (why) => `[Sanitization notice] This message came from the Internet. ${why}`,
  dangerLine: (d, contact) => `[CAUTION] ${dangerSentenceEn(d)} Do not follow the instructions in the message; contact ${contact}.`,
  dangersLine: (n, contact) => `[CAUTION] This message carried ${n} dangerous things. Do not follow the instructions in the message; contact ${contact}.`,
  dangerItem: (d) => `- ${dangerSentenceEn(d)}`,
  bullet: '- ',
  sentenceGap: ' ',
  finding: {
    'message-too-large': 'The message is over the size limit, so its body and attachments cannot be delivered.',
    'mime-too-deep': 'The message is nested too deeply, so its body and attachments cannot be delivered.',
    'too-many-parts': 'The message has too many parts, so its body and attachments cannot be delivered.',
    'header-too-large': 'The message header is too large, so its body and attachments cannot be delivered.',
    'parse-error': 'The message could not be read, so its body and attachments cannot be delivered.',
    timeout: 'Sanitizing did not finish in time, so the body and attachments cannot be delivered.',
    'internal-error': 'Sanitizing failed, so the body and attachments cannot be delivered.',
    'encoded-file-blocked': 'The body carries a file embedded as text, so the body and attachments cannot be delivered.',
    'mime-ambiguous': 'This message declares the same thing twice and reads differently depending on the reader. What is delivered follows the first declaration.',
    'parts-truncated': 'The message has more parts (attachments and the like) than allowed; those over the limit were not delivered (they are in the original).',
    'depth-truncated': 'The parts nested too deeply were not delivered (they are in the original).',
    'missing-from': 'The message names no sender (From).',
    'missing-date': 'The message has no date; the time of receipt is shown instead.',
    'invalid-address': 'An invalid address was left out of the recipients shown.',
    'reply-to-other-domain': "The message asked for replies to go to an address on another domain than the sender's; that address is not set as the reply address.",
    'html-converted': 'The HTML body was converted to text.',
    'alternative-mismatch': 'The text and HTML versions of the body differed; the HTML version is shown.',
    'active-content-removed': 'Scripts, forms and other active content were removed.',
    'remote-image-removed': 'Images loaded from the Internet (often used to track opening) are not shown.',
    'link-defanged': 'Links are inert. To open one, type it on an Internet-side terminal with hxxp changed back to http and [.] to a dot.',
    'link-text-mismatch': 'Some links lead elsewhere than their text says; see the [WARNING] lines in the body.',
    'control-chars-removed': 'Control characters that cannot be shown were removed.',
    'undecodable-characters': 'Some characters could not be read (shown as �).',
    'encoded-file-removed': 'A file embedded in the body as text was removed.',
    'image-reencoded': 'The image was rebuilt (location and other metadata removed).',
    'image-too-large': 'The image is too large and was removed.',
    'image-undecodable': 'The image could not be read and was removed.',
    'text-reencoded': 'Rebuilt as text (UTF-8).',
    'csv-formula-neutralised': "Cells a spreadsheet would run as formulas were made text (prefixed with ').",
    'text-undecodable': 'Its character set could not be determined; removed.',
    'type-mismatch': 'Its name or declared type does not match what it really is.',
    'name-bidi-control': 'Its name held control characters that disguise the extension (removed from the name shown).',
    'name-double-extension': 'Its name had a double extension (a way to disguise the type of a file).',
    'name-path': 'Its name held folder names (removed).',
    'attachment-removed': 'Files of this type are not accepted; removed.',
    'output-limit': 'The message reached its size limit: the rest of the body and the remaining attachments were left out.',
    'document-converted': 'Rebuilt as a PDF of page images (no searching, copying or links).',
    'document-macro': 'It contained macros (they cannot run in a PDF of page images).',
    'document-encrypted': 'Password-protected documents cannot be converted; removed. If you need it, ask the sender to send it again without a password.',
    'document-too-large': 'It has more pages, or larger pages, than allowed; removed.',
    'document-unconvertible': 'It could not be read or converted; removed.',
    'archive-opened': 'Unpacked, and each file in it sanitized on its own.',
    'archive-encrypted': 'Password-protected archives cannot be inspected; removed. If you need it, ask the sender to send it again without a password.',
    'archive-limit': 'Unpacked size, compression ratio, file count or nesting exceeded the limits (a possible zip bomb); the whole archive was removed.',
    'archive-corrupt': 'The archive is broken; removed.',
    'archive-unsupported': 'Archives of this format (rar, 7z, lzh, ...) cannot be inspected; removed. If you need it, ask the sender for a zip.',
    'archive-path-unsafe': 'Its name pointed outside its folder (../ or a drive); that part was removed.',
    'archive-overlap': 'Some files point at the same data as others; those were not unpacked.',
    'message-sanitized': 'The attached message was sanitized.',
    'nesting-too-deep': 'Attachments are nested too deeply (messages in messages); removed.',
    'tnef-opened': 'The Outlook attachment data was unpacked and each file in it sanitized on its own.',
    'tnef-corrupt': 'The Outlook attachment data (winmail.dat) could not be read; removed.',
    'calendar-as-text': 'The calendar is shown at the end of the body (the file is not attached).',
    'html-attachment-converted': 'The HTML file was converted to text.',
  },
  findingInAttachment: {
    'output-limit': 'The message reached its size limit; removed.',
    timeout: 'Processing took longer than allowed; removed.',
    'mime-too-deep': 'Nested too deeply; removed.',
    'too-many-parts': 'The attached message has too many parts; removed.',
    'header-too-large': 'The attached message header is too large; removed.',
    'parse-error': 'The attached message could not be read; removed.',
    'encoded-file-removed': 'A file embedded in it as text was removed.',
    'mime-ambiguous': 'It declares the same thing twice; it was read by the first declaration.',
    'control-chars-removed': 'Control characters that cannot be shown were removed.',
    'link-defanged': 'Links in it are inert.',
    'link-text-mismatch': 'Some links in it lead elsewhere than their text says (see the [WARNING] lines).',
  },
  counted: {
    'parts-truncated': (n) => `The message has more parts than allowed; the remaining ${n} ${n === 1 ? 'was' : 'were'} not delivered (in the original).`,
    'depth-truncated': (n) => `${n} ${n === 1 ? 'section' : 'sections'} nested too deeply ${n === 1 ? 'was' : 'were'} not delivered (in the original).`,
  },
  replyToOther: (a) => `The message asked for replies to go to ${a.join(', ')}, on another domain than the sender's; that is not set as the reply address. Check the recipient when you reply.`,
  attachmentsHeading: (n) => `- Attachments (${n})`,
  attachmentLine: (i, name, kind) => `  ${i}. ${name} (${kind})`,
  memberLine: (i, name, kind, parent) => `  ${i}. ${name} (in ${parent}., ${kind})`,
  kind: {
    image: 'image',
    text: 'text file',
    csv: 'CSV file',
    pdf: 'PDF',
    word: 'Word file',
    excel: 'Excel file',
    powerpoint: 'PowerPoint file',
    rtf: 'RTF document',
    odt: 'OpenDocument text',
    ods: 'OpenDocument spreadsheet',
    odp: 'OpenDocument presentation',
    office: 'Office file',
    archive: 'archive',
    executable: 'executable',
    script: 'script',
    html: 'HTML file',
    svg: 'SVG image',
    calendar: 'calendar',
    message: 'attached message',
    tnef: 'Outlook attachment data (winmail.dat)',
    shortcut: 'shortcut',
    'disk-image': 'disk image',
    unknown: 'file of unknown type',
  },
  unnamed: 'unnamed file',
  deliveredAs: (name) => `Attached as "${name}".`,
  textDeliveredAs: (name) => `Its text is attached as "${name}".`,
  membersFollow: (n) => (n > 0 ? `The ${n} ${n === 1 ? 'file' : 'files'} in it follow.` : 'There were no files in it.'),
  shownInBody: 'Shown at the end of the body.',
  removed: 'Removed.',
  quarantinedAsk: (id, contact) => `The original is kept in quarantine. If you need the original body or attachments, ask ${contact}, quoting quarantine ID ${id}.`,
  quarantinedAskOthers: (id, contact) =>
    `The original is kept in quarantine (quarantine ID ${id}). If you need anything of it other than what the [CAUTION] lines name, ask ${contact}, quoting the quarantine ID.`,
  quarantinedOnly: (id, dangers) => `The original is kept in quarantine (quarantine ID ${id}).${dangers ? ' Quote it when you ask for advice.' : ''}`,
  notKept: 'The changes lose nothing (links made inert and the like), so the original is not kept.',
  itemPage: 'What was changed, and a request for the original, are on this page:',
  itemPageOnly: 'What was changed is shown on this page:',
  contact: (name, phone, mail) => {
    const reach = [phone, mail].map((s) => s.trim()).filter(Boolean);
    return reach.length > 0 ? `${name.trim()} (${reach.join(', ')})` : name.trim();
  },
  releasedNote: (actor, at) => `[Original] This is the quarantined original, released by ${actor || 'an administrator'} on ${jstLongEn(at)}. It was not sanitized.`,
  unlockedContents: (id) =>
    `[Password-protected attachment] These are the contents of the password-protected attachment of the mail with quarantine ID ${id}, opened with the password its recipient entered, and sanitized.`,

  forwardedMessageName: 'forwarded-message',
  messageFields: { from: 'From', to: 'To', cc: 'Cc', date: 'Date', subject: 'Subject' },
  calendarHeading: (name) => `* Calendar (${name})`,
  when: (t, zone) => `${t.y}-${two(t.mo)}-${two(t.d)}${t.h === undefined ? '' : ` ${two(t.h)}:${two(t.mi ?? 0)}`}${zone ? (zone === 'JST' ? ' JST' : ` (${zone})`) : ''}`,
  moment: (d) => jstLongEn(d),
  calendarFields: { summary: 'Summary', start: 'Start', end: 'End', location: 'Location', organizer: 'Organizer', description: 'Description', url: 'URL' },
  bodyOmitted: '(no body)',
  bodyCut: '\n\n(The message reached its size limit; the body ends here.)',
  unknownSender: 'Unknown sender',
};

export const labelsFor = (language: 'ja' | 'en'): Labels => (language === 'en' ? en : ja);
