// A real vault on a real store (SQLite under a temp data dir, or a fresh
// PostgreSQL database), with the real audit log, for the vault tests.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { openAuditLog, type AuditLog } from '../../src/audit/log.js';
import { loadOrCreateSigner } from '../../src/audit/signer.js';
import type { QuarantineMeta } from '../../src/core/ports.js';
import { openVault, type Vault } from '../../src/quarantine/vault.js';
import type { AuditAction } from '../../src/model/audit-actions.js';
import type { Store } from '../../src/store/types.js';
import type { Backend, Opened } from '../store/backends.js';

export interface VaultFixture {
  opened: Opened;
  store: Store;
  dataDir: string;
  audit: AuditLog;
  vault: Vault;
  /** Another vault on the same data dir and database with other keys (env), e.g. a wrong master key. */
  vaultWith(env: NodeJS.ProcessEnv): Promise<Vault>;
  /** The actions and objects audited so far, in order. */
  actions(): Promise<{ action: AuditAction; object: string | null; actor: string; details: Record<string, unknown> }[]>;
  close(): Promise<void>;
}

export async function vaultFixture(backend: Backend, env: NodeJS.ProcessEnv = {}): Promise<VaultFixture> {
  const opened = await backend.fresh();
  const { store, dataDir } = opened;
  const audit = openAuditLog(store, await loadOrCreateSigner(dataDir), { dataDir });
  const vault = await openVault({ dataDir, store, audit, env, gateway: 'gw-test' });
  return {
    opened,
    store,
    dataDir,
    audit,
    vault,
    vaultWith: (other) => openVault({ dataDir, store, audit, env: other, gateway: 'gw-test' }),
    async actions() {
      return (await store.readAudit(0, 10_000)).map((r) => ({ action: r.action, object: r.object, actor: r.actor, details: JSON.parse(r.details) as Record<string, unknown> }));
    },
    async close() {
      await audit.close();
      await opened.close();
    },
  };
}

export const b64key = (): string => randomBytes(32).toString('base64');

export const metaOf = (over: Partial<QuarantineMeta> = {}): QuarantineMeta => ({
  receivedAt: new Date(),
  envelopeFrom: 'sender@example.jp',
  envelopeTo: ['staff@city.example.lg.jp'],
  from: '"差出人" <sender@example.jp>',
  to: ['staff@city.example.lg.jp'],
  subject: '件名のテスト',
  findings: [{ code: 'attachment-removed', attachment: 1, detail: 'executable' }],
  ...over,
});

export const original = (tag: string): Buffer =>
  Buffer.from(
    [
      'From: sender@example.jp',
      'To: staff@city.example.lg.jp',
      `Subject: original ${tag}`,
      'Date: Thu, 26 Nov 2026 10:00:00 +0900',
      `Message-ID: <${tag}@example.jp>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `本文 ${tag}`,
      '',
    ].join('\r\n'),
  );

export const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : e.isFile() ? [path.join(dir, e.name)] : []));

/** Files under `dir` that contain any of `needles`. */
export const filesContaining = (dir: string, needles: readonly Buffer[]): string[] =>
  filesUnder(dir).filter((f) => {
    const bytes = readFileSync(f);
    return needles.some((n) => bytes.includes(n));
  });
