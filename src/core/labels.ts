// Every sentence the sanitizer writes into a delivered message, in Japanese
// (the default) and English. Code elsewhere never spells out user-facing text.
import type { AttachmentKind, FindingCode } from './findings.js';

export interface Labels {
  image(alt: string): string;
  linkMismatch(claimed: string, actual: string): string;
  /** The line left where a file encoded in text (uuencode, yEnc, BinHex, base64) was. */
  encodedFileRemoved(name: string | null): string;
  noticeTitle: string;
  noticeIntro: string;
  kind: Record<AttachmentKind, string>;
  /** One-line explanation per finding code, shown in the notice. */
  finding: Record<FindingCode, string>;
  messageHeading: string;
  attachmentsHeading(count: number): string;
  attachmentLine(index: number, name: string, kind: string): string;
  deliveredAs(name: string): string;
  removed: string;
  /** A container whose contents are listed after it. */
  opened(members: number): string;
  /** A calendar shown in the body. */
  shownInBody: string;
  /** A file found inside attachment `parent` (an archive, attached message or TNEF). */
  memberLine(index: number, name: string, kind: string, parent: number): string;
  /** Sentences that say a finding's count (Finding.count); `finding` is the fallback. */
  counted: Partial<Record<FindingCode, (n: number) => string>>;
  /** Findings whose message-level sentence would mislead under an attachment. */
  findingInAttachment: Partial<Record<FindingCode, string>>;
  /** Fallback name of an attached message with no file name. */
  forwardedMessageName: string;
  /** Header labels of an attached message rendered as text. */
  messageFields: { from: string; to: string; cc: string; date: string; subject: string };
  calendarHeading(name: string): string;
  calendarFields: { summary: string; start: string; end: string; location: string; organizer: string; description: string; url: string };
  quarantined(id: string): string;
  howToAsk(contact: string): string;
  noOriginalKept: string;
  bodyOmitted: string;
  /** Ends a body cut short at limits.maxOutputBytes. */
  bodyCut: string;
  unknownSender: string;
}

const ja: Labels = {
  image: (alt) => `[画像: ${alt}]`,
  linkMismatch: (claimed, actual) =>
    `[警告] このリンクは表示上「${claimed.replace(/\./g, '[.]')}」ですが、実際のリンク先は「${actual.replace(/\./g, '[.]')}」です（フィッシングの可能性があります）。`,
  encodedFileRemoved: (name) => (name ? `[ここにあった埋め込みファイル（${name}）を削除しました]` : '[ここにあった埋め込みファイルを削除しました]'),
  noticeTitle: '【無害化通知】',
  noticeIntro:
    'このメールはインターネットから届いたため、無害化処理（本文のテキスト化、添付ファイルの画像化・再作成、リンクの無効化）を行ってから転送しています。',
  kind: {
    image: '画像',
    text: 'テキスト',
    csv: 'CSV',
    pdf: 'PDF文書',
    office: 'Office文書',
    archive: '圧縮ファイル',
    executable: '実行ファイル',
    script: 'スクリプト',
    html: 'HTMLファイル',
    svg: 'SVG画像',
    calendar: '予定表（カレンダー）',
    message: '添付メール',
    shortcut: 'ショートカット',
    'disk-image': 'ディスクイメージ',
    tnef: 'Outlook形式のデータ（winmail.dat）',
    unknown: '不明な形式',
  },
  finding: {
    'message-too-large': 'メールのサイズが上限を超えているため、本文と添付ファイルを転送できません。',
    'mime-too-deep': 'メールの構造の入れ子が深すぎるため、本文と添付ファイルを転送できません。',
    'too-many-parts': 'メールの構成要素が多すぎるため、本文と添付ファイルを転送できません。',
    'header-too-large': 'メールのヘッダーが大きすぎるため、本文と添付ファイルを転送できません。',
    'parse-error': 'メールの形式を解釈できないため、本文と添付ファイルを転送できません。',
    timeout: '無害化処理が制限時間内に終わらなかったため、本文と添付ファイルを転送できません。',
    'internal-error': '無害化処理中にエラーが発生したため、本文と添付ファイルを転送できません。',
    'encoded-file-blocked': '文字の形で埋め込まれたファイルがあったため、本文と添付ファイルを転送できません。',
    'mime-ambiguous': 'このメールには同じ指定が2回書かれていて、読み方によって内容が変わります。最初の指定に従って読んだ内容を転送しています。',
    'parts-truncated': '添付ファイルなどの数が上限を超えていたため、超えた分は転送していません。隔離した原本には含まれています。',
    'depth-truncated': 'メールの入れ子が深すぎる部分は転送していません。隔離した原本には含まれています。',
    'missing-from': '元のメールに差出人（From）がありませんでした。',
    'missing-date': '元のメールに送信日時（Date）がなかったため、受信日時を表示しています。',
    'invalid-address': '元のメールに不正なメールアドレスがあったため、表示から除きました。',
    'reply-to-other-domain': '返信先（Reply-To）に、差出人と別のドメインのアドレスが指定されていました。このアドレスは返信先にしていません。',
    'html-converted': 'HTML形式の本文をテキストに変換しました。',
    'alternative-mismatch':
      '本文のテキスト版とHTML版の内容が異なっていました。HTML版から変換した内容を表示しています。',
    'active-content-removed': 'スクリプト、フォームなどの動的な内容を削除しました。',
    'remote-image-removed': '外部から読み込まれる画像（開封確認に使われることがあります）を削除しました。',
    'link-defanged': 'リンクは無効化して表示しています（例: hxxps://example[.]jp/）。必要な場合は手で入力してください。',
    'link-text-mismatch': '表示と実際のリンク先が異なるリンクがあります。本文中の[警告]をご確認ください。',
    'control-chars-removed': '表示を偽装できる制御文字を削除しました。',
    'undecodable-characters': '解読できない文字（�）がありました。文字化けしている場合は、元のメールを申請してください。',
    'encoded-file-removed': '本文に文字の形で埋め込まれていたファイルを削除しました。',
    'image-reencoded': '画像を画素から作り直しました（位置情報などのメタデータは削除）。',
    'image-too-large': '画像の画素数が上限を超えているため削除しました。',
    'image-undecodable': '画像として読み取れないため削除しました。',
    'text-reencoded': 'UTF-8 のテキストとして作り直しました。',
    'csv-formula-neutralised': '数式として実行されるおそれのあるセルを無効化しました（先頭に \' を付加）。',
    'text-undecodable': '文字コードを判別できないため削除しました。',
    'type-mismatch': '拡張子または申告された形式と、実際の内容が一致しません。',
    'name-bidi-control': 'ファイル名に表示を偽装する制御文字が含まれていました。',
    'name-double-extension': 'ファイル名に二重の拡張子がありました。',
    'name-path': 'ファイル名にフォルダーの指定が含まれていました。',
    'attachment-removed': 'この形式は安全に転送できないため削除しました。',
    'output-limit': 'メールの大きさの上限に達したため、本文の続きと添付ファイルを省きました。',
    'document-converted': '文書を画像だけのPDFに作り直しました（文字の検索・コピー、リンク、マクロ、埋め込みファイルはありません）。',
    'document-encrypted':
      'パスワードで保護された文書は変換できないため削除しました。必要な場合は、差出人にパスワードのない文書を送ってもらうか、隔離IDを添えて管理者に申請してください。',
    'document-too-large': 'ページ数またはページの大きさが上限を超えているため削除しました。',
    'document-unconvertible': '文書を読み取れない、または変換できなかったため削除しました。',
    'archive-opened': '圧縮ファイルを展開し、中のファイルを1つずつ無害化しました（下に一覧があります）。',
    'archive-encrypted':
      'パスワード付きの圧縮ファイルは中身を検査できないため削除しました。中身が必要な場合は、隔離IDを添えて管理者にパスワード解除を申請してください（パスワードは差出人から別に届いたものを管理者に伝えてください）。',
    'archive-limit': '展開後のサイズ・圧縮率・ファイル数・入れ子の深さのいずれかが上限を超えたため（zip爆弾の疑い）、圧縮ファイル全体を削除しました。',
    'archive-corrupt': '圧縮ファイルが壊れている（または内容と記載が一致しない）ため削除しました。',
    'archive-unsupported': 'この圧縮形式（rar、7z、lzh など）は展開して検査できないため削除しました。zip 形式で送ってもらってください。',
    'archive-path-unsafe': '圧縮ファイル内のファイル名に、フォルダーの外を指す指定（../ やドライブ名）がありました。無効にしています。',
    'archive-overlap': '圧縮ファイルの中に、同じデータを重ねて指すファイルがありました。重なったものは展開していません。',
    'message-sanitized': '添付されたメールを無害化し、本文をテキストファイルにしました。その添付ファイルは下に一覧があります。',
    'nesting-too-deep': '添付の入れ子（メールの中のメールなど）が深すぎるため削除しました。',
    'tnef-opened': 'Outlook形式のデータ（winmail.dat）を展開し、中のファイルを1つずつ無害化しました。',
    'tnef-corrupt': 'Outlook形式のデータ（winmail.dat）を読み取れないため削除しました。',
    'calendar-as-text': '予定表（会議の招待）の内容を本文の末尾にテキストで表示し、ファイルは削除しました。',
    'html-attachment-converted': 'HTMLファイルをテキストに変換しました。',
  },
  counted: {
    'parts-truncated': (n) => `添付ファイルなどの数が上限を超えていたため、残りの${n}個は転送していません。隔離した原本には含まれています。`,
    'depth-truncated': (n) => `メールの入れ子が深すぎる部分（${n}か所）は転送していません。隔離した原本には含まれています。`,
  },
  opened: (n) => `→ 展開しました（中のファイル${n}件は以下のとおり）。`,
  shownInBody: '→ 内容を本文の末尾に表示しました。',
  memberLine: (i, name, kind, parent) => `${i}. ${name}（${parent}. の中、種類: ${kind}）`,
  findingInAttachment: {
    'output-limit': 'メールの大きさの上限に達したため、削除しました。',
    timeout: '制限時間内に処理が終わらなかったため削除しました。',
    'mime-too-deep': '添付の入れ子が深すぎるため削除しました。',
    'too-many-parts': '添付されたメールの構成要素が多すぎるため削除しました。',
    'header-too-large': '添付されたメールのヘッダーが大きすぎるため削除しました。',
    'parse-error': '添付されたメールの形式を解釈できないため削除しました。',
    'encoded-file-removed': '文字の形で埋め込まれていたファイルを削除しました。',
    'mime-ambiguous': '添付されたメールには同じ指定が2回書かれていて、読み方によって内容が変わります。最初の指定に従って読んでいます。',
  },
  forwardedMessageName: '転送メッセージ',
  messageFields: { from: '差出人', to: '宛先', cc: 'CC', date: '日時', subject: '件名' },
  calendarHeading: (name) => `■ 予定表（${name}）`,
  calendarFields: { summary: '件名', start: '開始', end: '終了', location: '場所', organizer: '主催者', description: '説明', url: 'URL' },
  messageHeading: '■ 本文',
  attachmentsHeading: (n) => `■ 添付ファイル（${n}件）`,
  attachmentLine: (i, name, kind) => `${i}. ${name}（種類: ${kind}）`,
  deliveredAs: (name) => `→ 「${name}」として添付しています。`,
  removed: '→ 削除しました。',
  quarantined: (id) => `■ 元のメールは隔離保管しています。隔離ID: ${id}`,
  howToAsk: (contact) => `  元のメールが必要な場合は、この隔離IDを添えて ${contact} へ申請してください。`,
  noOriginalKept: '■ 元のメールから変更した箇所はありません。',
  bodyOmitted: '（本文はありません）',
  bodyCut: '\n\n（メールの大きさの上限に達したため、本文はここまでです。）',
  unknownSender: '差出人不明',
};

const en: Labels = {
  image: (alt) => `[image: ${alt}]`,
  linkMismatch: (claimed, actual) =>
    `[WARNING] This link shows "${claimed.replace(/\./g, '[.]')}" but leads to "${actual.replace(/\./g, '[.]')}" (possible phishing).`,
  encodedFileRemoved: (name) => (name ? `[An embedded file (${name}) was removed here]` : '[An embedded file was removed here]'),
  noticeTitle: '[Sanitization notice]',
  noticeIntro:
    'This message came from the Internet and was sanitized before delivery: the body turned into text, attachments rebuilt from pixels, links made inert.',
  kind: {
    image: 'image',
    text: 'text',
    csv: 'CSV',
    pdf: 'PDF document',
    office: 'Office document',
    archive: 'archive',
    executable: 'executable',
    script: 'script',
    html: 'HTML file',
    svg: 'SVG image',
    calendar: 'calendar',
    message: 'attached message',
    shortcut: 'shortcut',
    'disk-image': 'disk image',
    tnef: 'Outlook data (winmail.dat)',
    unknown: 'unknown format',
  },
  finding: {
    'message-too-large': 'The message is over the size limit: its body and attachments cannot be delivered.',
    'mime-too-deep': 'The message is nested too deeply: its body and attachments cannot be delivered.',
    'too-many-parts': 'The message has too many parts: its body and attachments cannot be delivered.',
    'header-too-large': 'The message header is too large: its body and attachments cannot be delivered.',
    'parse-error': 'The message could not be parsed: its body and attachments cannot be delivered.',
    timeout: 'Sanitizing took longer than allowed: the body and attachments cannot be delivered.',
    'internal-error': 'Sanitizing failed: the body and attachments cannot be delivered.',
    'encoded-file-blocked': 'The message carries a file embedded as text: its body and attachments cannot be delivered.',
    'mime-ambiguous': 'This message declares the same thing twice and reads differently depending on the reader. What is delivered follows the first declaration.',
    'parts-truncated': 'The message has more parts (attachments and the like) than allowed; those over the limit were not delivered. They are in the quarantined original.',
    'depth-truncated': 'The parts nested too deeply were not delivered; they are in the quarantined original.',
    'missing-from': 'The original message had no sender (From).',
    'missing-date': 'The original message had no date; the time of receipt is shown instead.',
    'invalid-address': 'An invalid address in the original message was left out.',
    'reply-to-other-domain': "The message asked for replies to go to an address on another domain than the sender's; that address is not set as the reply address.",
    'html-converted': 'The HTML body was converted to text.',
    'alternative-mismatch': 'The text and HTML versions of the body differed; the text shown comes from the HTML.',
    'active-content-removed': 'Scripts, forms and other active content were removed.',
    'remote-image-removed': 'Remote images (often used to track opening) were removed.',
    'link-defanged': 'Links are shown inert (e.g. hxxps://example[.]jp/); type them by hand if you need them.',
    'link-text-mismatch': 'Some links lead elsewhere than their text says; see [WARNING] in the body.',
    'control-chars-removed': 'Control characters that can disguise text were removed.',
    'undecodable-characters': 'Some characters could not be decoded (shown as �); ask for the original if the text is garbled.',
    'encoded-file-removed': 'A file embedded in the body as text was removed.',
    'image-reencoded': 'The image was rebuilt from its pixels (location and other metadata removed).',
    'image-too-large': 'The image has more pixels than allowed and was removed.',
    'image-undecodable': 'The image could not be decoded and was removed.',
    'text-reencoded': 'Rebuilt as UTF-8 text.',
    'csv-formula-neutralised': "Cells that a spreadsheet would run as formulas were neutralised (prefixed with ').",
    'text-undecodable': 'The character set could not be determined; removed.',
    'type-mismatch': 'The name or declared type does not match the actual content.',
    'name-bidi-control': 'The file name contained characters that disguise its extension.',
    'name-double-extension': 'The file name had a double extension.',
    'name-path': 'The file name contained folder names.',
    'attachment-removed': 'This type cannot be delivered safely and was removed.',
    'output-limit': 'The message reached its size limit: the rest of the body and the remaining attachments were left out.',
    'document-converted': 'The document was rebuilt as an image-only PDF (no searchable text, links, macros or embedded files).',
    'document-encrypted':
      'Password-protected documents cannot be converted and are removed. To get it, ask the sender for a copy without a password, or ask the administrator, quoting the quarantine ID.',
    'document-too-large': 'The document has more pages, or larger pages, than allowed and was removed.',
    'document-unconvertible': 'The document could not be read or converted and was removed.',
    'archive-opened': 'The archive was unpacked and each file in it sanitized on its own (listed below).',
    'archive-encrypted':
      'Password-protected archives cannot be inspected and are removed. To get the contents, ask the administrator to unlock it, quoting the quarantine ID (and passing on the password the sender sent you separately).',
    'archive-limit': 'Unpacked size, compression ratio, file count or nesting exceeded the limits (a possible zip bomb); the whole archive was removed.',
    'archive-corrupt': 'The archive is broken (or its contents do not match its directory) and was removed.',
    'archive-unsupported': 'This archive format (rar, 7z, lzh, ...) cannot be unpacked for inspection and was removed; ask for a zip.',
    'archive-path-unsafe': 'A file name in the archive pointed outside its folder (../ or a drive); that part was made harmless.',
    'archive-overlap': 'Some files in the archive point at the same data as others; those were not unpacked.',
    'message-sanitized': 'The attached message was sanitized and its text delivered as a text file; its attachments are listed below.',
    'nesting-too-deep': 'Attachments are nested too deeply (messages in messages) and were removed.',
    'tnef-opened': 'The Outlook data (winmail.dat) was unpacked and each file in it sanitized on its own.',
    'tnef-corrupt': 'The Outlook data (winmail.dat) could not be read and was removed.',
    'calendar-as-text': 'The calendar invitation is shown as text at the end of the body; the file was removed.',
    'html-attachment-converted': 'The HTML file was converted to text.',
  },
  counted: {
    'parts-truncated': (n) =>
      `The message has more parts (attachments and the like) than allowed; the remaining ${n} ${n === 1 ? 'was' : 'were'} not delivered; ${n === 1 ? 'it is' : 'they are'} in the quarantined original.`,
    'depth-truncated': (n) => `${n} ${n === 1 ? 'section' : 'sections'} nested too deeply ${n === 1 ? 'was' : 'were'} not delivered; ${n === 1 ? 'it is' : 'they are'} in the quarantined original.`,
  },
  opened: (n) => `-> unpacked (${n} files, listed below).`,
  shownInBody: '-> shown at the end of the body.',
  memberLine: (i, name, kind, parent) => `${i}. ${name} (in ${parent}., type: ${kind})`,
  findingInAttachment: {
    'output-limit': 'The message reached its size limit; removed.',
    timeout: 'Processing took longer than allowed; removed.',
    'mime-too-deep': 'Nested too deeply; removed.',
    'too-many-parts': 'The attached message has too many parts; removed.',
    'header-too-large': 'The attached message header is too large; removed.',
    'parse-error': 'The attached message could not be parsed; removed.',
    'encoded-file-removed': 'A file embedded in it as text was removed.',
    'mime-ambiguous': 'The attached message declares the same thing twice; it was read by the first declaration.',
  },
  forwardedMessageName: 'forwarded-message',
  messageFields: { from: 'From', to: 'To', cc: 'Cc', date: 'Date', subject: 'Subject' },
  calendarHeading: (name) => `* Calendar (${name})`,
  calendarFields: { summary: 'Summary', start: 'Start', end: 'End', location: 'Location', organizer: 'Organizer', description: 'Description', url: 'URL' },
  messageHeading: '* Body',
  attachmentsHeading: (n) => `* Attachments (${n})`,
  attachmentLine: (i, name, kind) => `${i}. ${name} (type: ${kind})`,
  deliveredAs: (name) => `-> attached as "${name}".`,
  removed: '-> removed.',
  quarantined: (id) => `* The original message is kept in quarantine. Quarantine ID: ${id}`,
  howToAsk: (contact) => `  To obtain the original, ask ${contact}, quoting this quarantine ID.`,
  noOriginalKept: '* Nothing in the original message was changed.',
  bodyOmitted: '(no body)',
  bodyCut: '\n\n(The message reached its size limit; the body ends here.)',
  unknownSender: 'Unknown sender',
};

export const labelsFor = (language: 'ja' | 'en'): Labels => (language === 'en' ? en : ja);
