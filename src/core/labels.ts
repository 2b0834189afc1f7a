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
import type { SenderAssessment } from '../model/sender-trust.js';
import { en } from './labels-en.js';
import { ja } from './labels-ja.js';

/**
 * What a recipient can open in the console with the password (src/unlock/):
 * a password-protected zip or PDF attached to the mail itself.
 */
export type UnlockableCode = Extract<FindingCode, 'archive-encrypted' | 'document-encrypted'>;

/** Something never legitimate in mail, warned about before anything else. */
export type Danger =
  /** An executable, script, shortcut or disk image; `claimed` is what its name pretends it is. */
  | { what: 'file'; kind: string; claimed: string | null; name: string; removed: boolean }
  /** A file whose name hides its extension with bidi controls (what it is, is harmless). */
  | { what: 'disguised-name'; name: string; removed: boolean }
  /** A document with macros. */
  | { what: 'macro'; kind: string; name: string; removed: boolean }
  /** A link whose text names another host than its target. */
  | { what: 'link' }
  /** A file the malware scanner recognised (always removed); `signature` is the name it gave. */
  | { what: 'malware'; signature: string; name: string };

/** A calendar date and, for a date-time, its hour and minute, as written. */
export interface WallTime {
  y: number;
  mo: number;
  d: number;
  h?: number;
  mi?: number;
}

export interface Labels {
  image(alt: string): string;
  linkMismatch(claimed: string, actual: string): string;
  /** The line left where a file encoded in text (uuencode, yEnc, BinHex, base64) was. */
  encodedFileRemoved(name: string | null): string;

  // The notice, in the order it is written.
  /** The first line: who sent it, as far as it could be checked (sender-assessment.ts), and for a suspicious one what to do. */
  senderLine(assessment: SenderAssessment, contact: string): string;
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
  /** A password-protected zip or PDF whose password the recipient can enter on the item page below (with web.publicUrl). */
  findingUnlockable: Record<UnlockableCode, string>;
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
  /** A workbook: its image-only PDF and its sheets' values as CSV files. */
  deliveredWithValues(pdf: string, csvs: readonly string[]): string;
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
  /** The same, where the page also takes the password of a protected zip or PDF (and the original can be asked for). */
  itemPageUnlock: string;
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

export { spaced } from './label-words.js';

export const labelsFor = (language: 'ja' | 'en'): Labels => (language === 'en' ? en : ja);
