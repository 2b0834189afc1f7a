// `mugaika policy senders export|import` through the real binary, on a policy
// file in a temporary folder, with the audit log in a real SQLite store.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { policyFingerprint } from '../../src/relay/lifecycle.js';
import { readPolicyFile } from '../../src/policy/sender-lists.js';
import { openStore } from '../../src/store/open.js';
import { mugaika } from '../helpers/cli.js';
import { tempDir } from '../helpers/run.js';
import { BOM, EDITED, EXPORTED, expectEditedLists, malformed, policyFile, POLICY, REEXPORTED } from '../helpers/sender-lists.js';

async function policyChanges(dataDir: string) {
  const store = await openStore({ dataDir });
  try {
    return await store.searchAudit({ actions: ['policy-changed'] });
  } finally {
    await store.close();
  }
}

describe('mugaika policy senders', () => {
  it('exports, imports a CSV edited in Excel (audited, comments kept) and exports the same lists back', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    const policy = policyFile(dir);
    const out = path.join(dir, 'senders.csv');

    const exported = await mugaika(['policy', 'senders', 'export', '--policy', policy, '--file', out]);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(EXPORTED);

    const before = policyFingerprint(await readPolicyFile(policy));
    const edited = path.join(dir, 'edited.csv');
    writeFileSync(edited, `${BOM}${EDITED}`);
    const imported = await mugaika(['policy', 'senders', 'import', edited, '--policy', policy, '--data-dir', dataDir, '--actor', '情報政策担当 山田', '--reason', '年度替わりの見直し']);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain('許可リストを 2 件、除外リストを 2 件にしました');

    const now = await expectEditedLists(policy);
    expect(now.release.approvals).toBe(1);

    const [record, ...more] = await policyChanges(dataDir);
    expect(more).toEqual([]);
    expect(record).toMatchObject({ actor: '情報政策担当 山田', action: 'policy-changed', object: policy });
    expect(JSON.parse(record!.details)).toMatchObject({ section: 'senders', reason: '年度替わりの見直し', before, after: policyFingerprint(now), allow: 2, exclude: 2 });
    expect(before).not.toBe(policyFingerprint(now));

    const again = path.join(dir, 'again.csv');
    expect((await mugaika(['policy', 'senders', 'export', '--policy', policy, '--file', again])).code).toBe(0);
    expect(readFileSync(again, 'utf8')).toBe(REEXPORTED);
  });

  it('rejects a malformed CSV with the line of each mistake, in Japanese first, and changes nothing', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    const policy = policyFile(dir);
    const bad = path.join(dir, 'bad.csv');
    writeFileSync(bad, malformed('\n'));
    const r = await mugaika(['policy', 'senders', 'import', bad, '--policy', policy, '--data-dir', dataDir, '--actor', 'yamada', '--reason', 'test']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ポリシーは変更していません');
    expect(r.stderr).toMatch(/3 行目: list は allow（許可）か exclude（除外）です: "block" \/ line 3: list must be allow or exclude/);
    expect(r.stderr).toContain('4 行目: sender はメールアドレス');
    expect(r.stderr).toContain('5 行目: ok.example.jp は 2 行目で allow にも入っています');
    expect(readFileSync(policy, 'utf8')).toBe(POLICY);
    expect(await policyChanges(dataDir)).toEqual([]);

    // Shift_JIS (Excel's plain "CSV") is refused, and so is a file without the header.
    const sjis = path.join(dir, 'sjis.csv');
    writeFileSync(sjis, iconv.encode('list,sender,note\r\nallow,a.example.jp,取引先\r\n', 'cp932'));
    const r2 = await mugaika(['policy', 'senders', 'import', sjis, '--policy', policy, '--data-dir', dataDir, '--actor', 'yamada', '--reason', 'test']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('UTF-8 ではありません');
    const noHeader = path.join(dir, 'nohead.csv');
    writeFileSync(noHeader, 'allow,a.example.jp,\n');
    const r3 = await mugaika(['policy', 'senders', 'import', noHeader, '--policy', policy, '--data-dir', dataDir, '--actor', 'yamada', '--reason', 'test']);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain('1 行目は見出し「list,sender,note」にしてください');
    expect(readFileSync(policy, 'utf8')).toBe(POLICY);

    // --actor and --reason are required.
    const r4 = await mugaika(['policy', 'senders', 'import', bad, '--policy', policy, '--data-dir', dataDir, '--actor', 'yamada']);
    expect(r4.code).not.toBe(0);
    expect(r4.stderr).toContain('--reason');
  });
});
