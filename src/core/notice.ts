// The notice at the top of every delivered body: what was done to the message
// and to each attachment, and how to ask for the original.
import type { AttachmentOutcome } from './attachments.js';
import type { Finding } from './findings.js';
import type { Labels } from './labels.js';

export interface NoticeInput {
  messageFindings: readonly Finding[];
  attachments: readonly AttachmentOutcome[];
  quarantineId: string | null;
  contact: string;
}

/** The line that opens and closes the notice. */
export const NOTICE_RULE = '─'.repeat(30);

export function buildNotice(input: NoticeInput, labels: Labels): string {
  const lines: string[] = [NOTICE_RULE, labels.noticeTitle, labels.noticeIntro];
  const seen = new Set<string>();
  const messageLines = input.messageFindings
    .filter((f) => !seen.has(f.code) && seen.add(f.code))
    .map((f) => `  ・${labels.finding[f.code]}`);
  if (messageLines.length > 0) lines.push('', labels.messageHeading, ...messageLines);
  if (input.attachments.length > 0) {
    lines.push('', labels.attachmentsHeading(input.attachments.length));
    for (const a of input.attachments) {
      lines.push(labels.attachmentLine(a.index, a.shownName, `${labels.kind[a.kind]}, ${a.sniffedType}`));
      const codes = new Set(a.findings.map((f) => f.code));
      for (const code of codes) lines.push(`   ・${labels.finding[code]}`);
      lines.push(`   ${a.delivered ? labels.deliveredAs(a.delivered.filename) : labels.removed}`);
    }
  }
  lines.push('');
  if (input.quarantineId) lines.push(labels.quarantined(input.quarantineId), labels.howToAsk(input.contact));
  else lines.push(labels.noOriginalKept);
  lines.push(NOTICE_RULE, '');
  return lines.join('\n');
}
