// The policy file and CSVs that the sender-list tests share: the CLI's
// `mugaika policy senders export|import` (test/cli/policy-senders.test.ts) and
// the console's policy page (test/web/admin-policy.test.ts) take the same
// lists in and must give the same lists back.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { readPolicyFile } from '../../src/policy/sender-lists.js';
import type { Policy } from '../../src/core/policy.js';
import { tempDir } from './run.js';

/** A policy with comments (which an import must keep), one allowed sender and a rule. */
export const POLICY = `# 市のポリシー（コメントは残ります）
language: ja
release:
  approvals: 1 # 一人で解放
senders:
  # 取引先
  allow:
    - sender: keiri@partner.example.jp
      note: 経理の窓口
  exclude: []
  rules:
    - name: 初めての相手は画像を PDF に
      when: { firstContact: true }
      then: { images: pdf-page }
`;

export const BOM = '\uFEFF';

/** POLICY's lists as exported. */
export const EXPORTED = `${BOM}list,sender,note\r\nallow,keiri@partner.example.jp,経理の窓口\r\n`;

/** The lists edited in Excel: a domain in capitals, a note with a comma, an empty note. */
export const EDITED = `list,sender,note\r\nallow,keiri@partner.example.jp,経理の窓口\r\nallow,Partner2.example.jp,"協定先, 2026年度"\r\nexclude,spam.example,過去に不審メール\r\nexclude,fake@example.com,\r\n`;

/** EDITED exported back after the import: the domain in lowercase. */
export const REEXPORTED = `${BOM}${EDITED.replace('Partner2', 'partner2')}`;

/** A mistake on each of lines 3 to 5: an unknown list, no address, a sender on both lists. */
export const malformed = (eol: '\n' | '\r\n'): string => ['list,sender,note', 'allow,ok.example.jp,', 'block,x.example.jp,', 'exclude,not an address,', 'exclude,ok.example.jp,', ''].join(eol);

/** POLICY written to policy.yaml in `dir` (a new temporary folder if none): its path. */
export function policyFile(dir = tempDir()): string {
  const file = path.join(dir, 'policy.yaml');
  writeFileSync(file, POLICY);
  return file;
}

/** Checks that `file` now holds EDITED's lists, with POLICY's comments and rule kept; the policy it reads as. */
export async function expectEditedLists(file: string): Promise<Policy> {
  const text = readFileSync(file, 'utf8');
  for (const comment of ['# 市のポリシー（コメントは残ります）', '# 一人で解放', '# 取引先']) expect(text).toContain(comment);
  const now = await readPolicyFile(file);
  expect(now.senders.allow).toEqual([
    { sender: 'keiri@partner.example.jp', note: '経理の窓口' },
    { sender: 'partner2.example.jp', note: '協定先, 2026年度' },
  ]);
  expect(now.senders.exclude).toEqual([
    { sender: 'spam.example', note: '過去に不審メール' },
    { sender: 'fake@example.com', note: '' },
  ]);
  expect(now.senders.rules.map((r) => r.name)).toEqual(['初めての相手は画像を PDF に']);
  return now;
}
