// The English sentences: the same things as labels-ja.ts says.
import type { Danger, Labels } from './labels.js';
import { senderLineEn } from './sender-words.js';
import { two, bracketed } from './label-words.js';
import { jstLongEn } from './jst.js';

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
    case 'malware':
      return `Malware (${d.signature}) was found in a file (${d.name}); it was removed.`;
  }
}

const article = (noun: string, capital = false): string => {
  const a = /^[aeiou]/i.test(noun) ? 'an' : 'a';
  return `${capital ? a[0]!.toUpperCase() + a.slice(1) : a} ${noun}`;
};

export const en: Labels = {
  image: (alt) => `[image: ${alt}]`,
  linkMismatch: (claimed, actual) => `[WARNING] This link shows "${bracketed(claimed)}" but leads to "${bracketed(actual)}" (possible phishing).`,
  encodedFileRemoved: (name) => (name ? `[An embedded file (${name}) was removed here]` : '[An embedded file was removed here]'),

  senderLine: senderLineEn,
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
    'dmarc-reject': "The sender's domain asks receivers to refuse mail that fails its DMARC check, and this message failed it, so its body and attachments cannot be delivered.",
    'sender-blocked': 'Under the settings for this sender, the body and attachments cannot be delivered.',
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
    'document-converted-searchable': 'Rebuilt as a PDF of page images (text can be searched and copied; no links).',
    'document-text-partial': 'Some pages have too much text: part of their text cannot be searched or copied.',
    'document-ocr': 'Pages without text (such as scans) were read by OCR so that their text can be searched and copied; it may contain misreadings.',
    'document-ocr-partial': 'Some pages without text were not read by OCR (time or page limit): their text cannot be searched or copied.',
    'document-macro': 'It contained macros (they cannot run in a PDF of page images).',
    'document-encrypted': 'Password-protected documents cannot be converted; removed. If you need it, ask the sender to send it again without a password.',
    'document-too-large': 'It has more pages, or larger pages, than allowed; removed.',
    'document-unconvertible': 'It could not be read or converted; removed.',
    'sheet-values-csv': 'The values of the sheets, as saved with the workbook, are attached as CSV files (Excel opens them).',
    'sheet-hidden-omitted': 'There were hidden sheets, rows or columns. They are not in the CSV files (the original has them).',
    'sheet-hidden-included': 'There were hidden sheets, rows or columns. They are in the CSV files (not in the PDF).',
    'sheet-values-truncated': 'A sheet had more cells than the limit: its CSV file holds the first rows only (the original has them all).',
    'sheet-values-left-out': 'Some of the CSV files of the values were not attached, for the size limit of the mail or similar (the original has them).',
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
    'malware-found': 'The virus scan found malware in it; removed.',
    'malware-scan-limit': 'Too large for the virus scan to check; removed.',
    'malware-scan-unavailable': 'The virus scan could not be done, so the body and attachments cannot be delivered.',
    'sender-quarantined': 'Under the settings for this sender, the original is kept.',
    'image-as-pdf': 'Under the settings for this sender, the image was rebuilt as a PDF page (location and other metadata removed).',
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
  findingUnlockable: {
    'archive-encrypted': 'Password-protected archives cannot be inspected; removed. If you know the password, enter it on the page below and the contents will be sanitized and delivered to you.',
    'document-encrypted': 'Password-protected PDFs cannot be converted; removed. If you know the password, enter it on the page below and the PDF will be sanitized and delivered to you.',
  },
  counted: {
    'document-ocr': (n) =>
      `${n === 1 ? '1 page' : `${n} pages`} without text (such as scans) ${n === 1 ? 'was' : 'were'} read by OCR so that their text can be searched and copied; it may contain misreadings.`,
    'document-ocr-partial': (n) => `${n === 1 ? '1 page' : `${n} pages`} without text ${n === 1 ? 'was' : 'were'} not read by OCR (time or page limit): their text cannot be searched or copied.`,
    'sheet-values-left-out': (n) => `${n} CSV file(s) of the values were not attached, for the size limit of the mail or similar (the original has them).`,
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
  deliveredWithValues: (pdf, csvs) => `Attached as "${pdf}" (the pages as images, PDF) and ${csvs.map((n) => `"${n}"`).join(', ')} (the values of the sheets, CSV).`,
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
  itemPageUnlock: 'The password can be entered, what was changed seen and the original asked for on this page:',
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
