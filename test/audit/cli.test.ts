// `mugaika audit verify|search|export` through the real binary (dist/).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openAuditLog } from '../../src/audit/log.js';
import { loadOrCreateSigner } from '../../src/audit/signer.js';
import type { AuditEntry } from '../../src/store/types.js';
import { postgresBackend, sqliteBackend, type Opened } from '../store/backends.js';

const mugaika = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, ['bin/mugaika.js', ...args], { encoding: 'utf8', env: { ...process.env, MUGAIKA_DATABASE_URL: '', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const entries: AuditEntry[] = [
  { actor: 'relay', action: 'received', object: 'Q1', time: new Date('2026-04-01T01:00:00Z'), details: { from: 'taro@ext.example.jp', to: ['soumu@city.example.lg.jp'] } },
  { actor: 'relay', action: 'verdict', object: 'Q1', time: new Date('2026-04-01T01:00:01Z'), details: { from: 'taro@ext.example.jp', to: ['soumu@city.example.lg.jp'], verdict: 'quarantined' } },
  {
    actor: 'relay',
    action: 'received',
    object: 'Q2',
    time: new Date('2026-04-02T01:00:00Z'),
    details: { from: '=HYPERLINK("http://evil")@x.jp', to: ['kikaku@city.example.lg.jp'], note: '件名: 請求書, "至急"' },
  },
  { actor: 'admin', action: 'release-approved', object: 'Q1', time: new Date('2026-04-03T01:00:00Z'), details: {} },
];

async function seeded(o: Opened): Promise<void> {
  const log = openAuditLog(o.store, await loadOrCreateSigner(o.dataDir), { dataDir: o.dataDir });
  await log.appendMany(entries);
  await log.close();
}

describe('mugaika audit (SQLite in the data dir)', () => {
  it('verify: exit 0 and an audit-verified record when intact; exit 1 naming the first bad seq when not', async () => {
    const o = await sqliteBackend.fresh();
    try {
      await seeded(o);
      const ok = mugaika(['audit', 'verify', '--data-dir', o.dataDir]);
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/監査ログは正常です \/ audit log intact: 4 records/);
      const [rec] = await o.store.searchAudit({ actions: ['audit-verified'] });
      expect(rec?.seq).toBe(5);
      expect(JSON.parse(rec?.details ?? '')).toEqual({ ok: true, records: 4, checkpoints: 2, unsignedTail: 0 });
      expect(rec?.actor).toMatch(/^cli:/);

      await o.sql("UPDATE audit_records SET details = replace(details, 'quarantined', 'sanitized') WHERE seq = 2");
      await o.sql("UPDATE audit_records SET verdict = 'sanitized' WHERE seq = 2");
      const bad = mugaika(['audit', 'verify', '--data-dir', o.dataDir]);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toContain('first bad record seq 2');
      expect(bad.stdout).toMatch(/連番 2 の記録が変更されています/);
      const json = mugaika(['audit', 'verify', '--json', '--data-dir', o.dataDir]);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, firstBadSeq: 2, kind: 'edited-record' });
      const verified = await o.store.searchAudit({ actions: ['audit-verified'] });
      expect(verified.map((r) => JSON.parse(r.details).ok)).toEqual([true, false, false]);
    } finally {
      await o.close();
    }
  });

  it('search and export filter by time, sender, recipient, verdict, action and actor', async () => {
    const o = await sqliteBackend.fresh();
    try {
      await seeded(o);
      const seqs = (args: string[], env: Record<string, string> = {}): number[] => {
        const r = mugaika(['audit', 'search', '--json', '--data-dir', o.dataDir, ...args], env);
        expect(r.stderr).toBe('');
        return r.stdout
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as { seq: number }).seq);
      };
      expect(seqs([])).toEqual([1, 2, 3, 4]);
      expect(seqs(['--since', '2026-04-02T00:00:00Z', '--until', '2026-04-03T00:00:00Z'])).toEqual([3]);
      // A bare date is midnight in Japan (01:00Z is 10:00 JST, the same day), whatever TZ the machine has;
      // a time without an offset is Japan time too.
      expect(seqs(['--since', '2026-04-02', '--until', '2026-04-03'], { TZ: 'America/New_York' })).toEqual([3]);
      expect(seqs(['--since', '2026-04-01T10:00:01', '--until', '2026-04-02'])).toEqual([2]);
      expect(seqs(['--sender', 'TARO@ext.example.jp'])).toEqual([1, 2]);
      expect(seqs(['--recipient', 'kikaku@city.example.lg.jp'])).toEqual([3]);
      expect(seqs(['--verdict', 'quarantined'])).toEqual([2]);
      expect(seqs(['--action', 'received,release-approved'])).toEqual([1, 3, 4]);
      expect(seqs(['--actor', 'admin'])).toEqual([4]);
      expect(seqs(['--limit', '2'])).toEqual([1, 2]);
      const text = mugaika(['audit', 'search', '--data-dir', o.dataDir, '--object', 'Q1']);
      // In JST for a person; --json keeps the stored ISO 8601 time.
      expect(text.stdout).toMatch(/^ +2 {2}2026\/04\/01 10:00:01 {2}relay +verdict +Q1 {2}taro@ext\.example\.jp -> soumu@city\.example\.lg\.jp {2}quarantined$/m);
      expect(text.stdout).toMatch(/3 件 \/ records/);
      const badAction = mugaika(['audit', 'search', '--data-dir', o.dataDir, '--action', 'nope']);
      expect(badAction.code).toBe(2);
      expect(badAction.stderr).toMatch(/unknown action nope/);

      const csvFile = path.join(o.dataDir, 'audit.csv');
      const exp = mugaika(['audit', 'export', '--data-dir', o.dataDir, '--format', 'csv', '-o', csvFile, '--action', 'received']);
      expect(exp.code).toBe(0);
      expect(exp.stderr).toMatch(/2 件を .*audit\.csv に出力しました/);
      const csv = readFileSync(csvFile, 'utf8');
      expect(csv.startsWith('\uFEFF連番,日時,操作者,操作,対象,差出人,宛先,判定,詳細,ハッシュ\r\n')).toBe(true);
      const lines = csv.trimEnd().split('\r\n');
      expect(lines).toHaveLength(3);
      // Excel reads "2026/04/01 10:00:00" as a date and time (JST).
      expect(lines[1]).toMatch(/^1,2026\/04\/01 10:00:00,relay,received,Q1,taro@ext\.example\.jp,soumu@city\.example\.lg\.jp,,"\{""from"":/);
      // A sender that looks like a formula stays text in Excel.
      expect(lines[2]).toContain(`,"'=HYPERLINK(""http://evil"")@x.jp",`);
      expect(lines[2]).toContain('件名: 請求書');
      const en = mugaika(['audit', 'export', '--data-dir', o.dataDir, '--headers', 'en', '--verdict', 'quarantined']);
      expect(en.stdout.split('\r\n')[0]).toBe('\uFEFFseq,time (JST),actor,action,object,from,to,verdict,details,hash');
      const jsonl = mugaika(['audit', 'export', '--data-dir', o.dataDir, '--format', 'jsonl', '--actor', 'admin']);
      expect(
        jsonl.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)),
      ).toEqual([expect.objectContaining({ seq: 4, time: '2026-04-03T01:00:00.000Z', action: 'release-approved', object: 'Q1', details: {}, hash: expect.stringMatching(/^[0-9a-f]{64}$/) })]);
      expect(mugaika(['audit', 'export', '--data-dir', o.dataDir, '--format', 'xml']).code).toBe(2);
    } finally {
      await o.close();
    }
  });
});

describe('mugaika audit (PostgreSQL via MUGAIKA_DATABASE_URL)', () => {
  it('verifies and searches the shared database', async () => {
    const o = await postgresBackend.fresh();
    try {
      await seeded(o);
      const env = { MUGAIKA_DATABASE_URL: o.databaseUrl ?? '' };
      const ok = mugaika(['audit', 'verify', '--data-dir', o.dataDir], env);
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      expect((await o.store.head()).seq).toBe(5);
      const r = mugaika(['audit', 'search', '--json', '--recipient', 'soumu@city.example.lg.jp', '--data-dir', o.dataDir], env);
      expect(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { seq: number }).seq),
      ).toEqual([1, 2]);
      // The gateway's configuration names the database and the data dir just as well.
      const config = path.join(o.dataDir, 'gateway.yaml');
      writeFileSync(config, `dataDir: ${o.dataDir}\ndatabase:\n  url: ${o.databaseUrl}\n`);
      const viaConfig = mugaika(['audit', 'search', '--json', '--recipient', 'soumu@city.example.lg.jp', '-c', config]);
      expect(viaConfig.stderr).toBe('');
      expect(
        viaConfig.stdout
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { seq: number }).seq),
      ).toEqual([1, 2]);
      await o.sql('DELETE FROM audit_records WHERE seq = 3');
      const bad = mugaika(['audit', 'verify', '--data-dir', o.dataDir], env);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toContain('first bad record seq 3');
    } finally {
      await o.close();
    }
  });
});
