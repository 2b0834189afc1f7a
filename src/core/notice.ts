// The notice at the top of every delivered body: what was done to the message
// and to each attachment, and how to ask for the original.
import type { AttachmentOutcome, Disposition } from './attachments.js';
import { defangText } from './defang.js';
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

/** A file name is text we deliver: "www.evil.example.pdf" must not become a link either. */
const inert = (name: string): string => defangText(name).text;

const fate = (d: Disposition, labels: Labels): string => {
  switch (d.as) {
    case 'delivered':
      return labels.deliveredAs(inert(d.part.filename));
    case 'opened':
      if (!d.part) return labels.opened(d.members);
      return d.members > 0 ? `${labels.deliveredAs(inert(d.part.filename))}\n   ${labels.opened(d.members)}` : labels.deliveredAs(inert(d.part.filename));
    case 'in-body':
      return labels.shownInBody;
    case 'removed':
      return labels.removed;
  }
};

/** The first finding of each code, in order. */
const firstOfEach = (findings: readonly Finding[]): Finding[] => {
  const seen = new Set<string>();
  return findings.filter((f) => !seen.has(f.code) && seen.add(f.code));
};

const counted = (f: Finding, labels: Labels): string | undefined => (f.count === undefined ? undefined : labels.counted[f.code]?.(f.count));

export function buildNotice(input: NoticeInput, labels: Labels): string {
  const lines: string[] = [NOTICE_RULE, labels.noticeTitle, labels.noticeIntro];
  const messageLines = firstOfEach(input.messageFindings).map((f) => `  ・${counted(f, labels) ?? labels.finding[f.code]}`);
  if (messageLines.length > 0) lines.push('', labels.messageHeading, ...messageLines);
  if (input.attachments.length > 0) {
    lines.push('', labels.attachmentsHeading(input.attachments.length));
    for (const a of input.attachments) {
      const kind = `${labels.kind[a.kind]}, ${a.sniffedType}`;
      const name = inert(a.shownName);
      lines.push(a.parent === null ? labels.attachmentLine(a.index, name, kind) : labels.memberLine(a.index, name, kind, a.parent));
      for (const f of firstOfEach(a.findings)) lines.push(`   ・${counted(f, labels) ?? labels.findingInAttachment[f.code] ?? labels.finding[f.code]}`);
      lines.push(`   ${fate(a.disposition, labels)}`);
    }
  }
  lines.push('');
  if (input.quarantineId) lines.push(labels.quarantined(input.quarantineId), labels.howToAsk(input.contact));
  else lines.push(labels.noOriginalKept);
  lines.push(NOTICE_RULE, '');
  return lines.join('\n');
}
