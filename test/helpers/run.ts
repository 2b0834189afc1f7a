// Runs the real core with real adapters (local encrypted quarantine in a fresh
// temporary data dir, sharp) and reads back what it produced.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { simpleParser, type ParsedMail } from 'mailparser';
import { expect } from 'vitest';
import { NOTICE_RULE } from '../../src/core/notice.js';
import { createSharpTranscoder } from '../../src/converters/image-sharp.js';
import { noDocuments } from '../../src/converters/unavailable.js';
import { defaultPolicy, policySchema, type Policy, type PolicyInput } from '../../src/core/policy.js';
import type { SanitizeDeps } from '../../src/core/ports.js';
import { sanitize, type SanitizeInput, type SanitizeResult } from '../../src/core/sanitize.js';
import { openAuditLog } from '../../src/audit/log.js';
import { loadOrCreateSigner } from '../../src/audit/signer.js';
import { openVault, type Vault } from '../../src/quarantine/vault.js';
import { openSqliteStore } from '../../src/store/sqlite.js';

export const tempDir = (prefix = 'mugaika-test-'): string => mkdtempSync(path.join(tmpdir(), prefix));

export interface Harness {
  deps: SanitizeDeps;
  /** The real quarantine vault (SQLite, audit log, master key) in `dataDir`. */
  store: Vault;
  dataDir: string;
  /** Where the vault keeps sealed originals. */
  quarantineDir: string;
}

export async function harness(overrides: Partial<SanitizeDeps> = {}): Promise<Harness> {
  const dataDir = tempDir();
  const db = await openSqliteStore(dataDir);
  const audit = openAuditLog(db, await loadOrCreateSigner(dataDir), { dataDir, autoCheckpoint: false });
  const store = await openVault({ dataDir, store: db, audit, env: {} });
  return {
    dataDir,
    store,
    quarantineDir: path.join(dataDir, 'quarantine'),
    deps: { quarantine: store, images: createSharpTranscoder(), documents: noDocuments, now: () => new Date(), randomToken: () => randomUUID(), ...overrides },
  };
}

export const policyWith = (input: PolicyInput): Policy => policySchema.parse(input);

export interface Outcome {
  result: SanitizeResult;
  /** The delivered message parsed back, when something was delivered. */
  mail: ParsedMail | null;
  raw: Buffer | null;
  codes: string[];
  h: Harness;
}

let shared: Promise<Harness> | null = null;

/** Sanitizes `raw` with the default policy (or `policy`) and parses the output. */
export async function run(raw: string | Uint8Array, policy: Policy = defaultPolicy, h?: Harness, extra: Omit<SanitizeInput, 'raw'> = {}): Promise<Outcome> {
  const hh = h ?? (await (shared ??= harness()));
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  const result = await sanitize({ raw: bytes, ...extra }, policy, hh.deps);
  const mail = result.message ? await simpleParser(result.message) : null;
  return { result, mail, raw: result.message, codes: result.findings.map((f) => f.code), h: hh };
}

/** Joins header lines and a body with CRLF into a raw message. */
export const eml = (headers: string[], body: string | Buffer): Buffer =>
  Buffer.concat([Buffer.from(`${headers.join('\r\n')}\r\n\r\n`, 'latin1'), typeof body === 'string' ? Buffer.from(body.replace(/\r?\n/g, '\r\n'), 'utf8') : body]);

export const b64 = (data: Uint8Array | string): string => (typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data)).toString('base64').replace(/.{76}/g, '$&\r\n');

export interface PartSpec {
  type: string;
  body: Uint8Array | string;
  filename?: string;
  /** Raw extra header lines. */
  headers?: string[];
}

/** A multipart/mixed message with a UTF-8 text body and base64 parts. */
export function withAttachments(text: string, parts: PartSpec[], top: string[] = []): Buffer {
  const boundary = 'mugaika-test-boundary';
  const chunks: string[] = [`--${boundary}`, 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64', '', b64(text)];
  for (const p of parts) {
    chunks.push(`--${boundary}`, `Content-Type: ${p.type}`, 'Content-Transfer-Encoding: base64');
    if (p.filename !== undefined) chunks.push(`Content-Disposition: attachment; filename*=utf-8''${encodeURIComponent(p.filename)}`);
    chunks.push(...(p.headers ?? []), '', b64(p.body));
  }
  chunks.push(`--${boundary}--`, '');
  return eml(
    [
      'From: =?UTF-8?B?' + Buffer.from('送信者').toString('base64') + '?= <sender@example.jp>',
      'To: staff@city.example.lg.jp',
      'Subject: test',
      'Date: Thu, 26 Nov 2026 10:00:00 +0900',
      'Message-ID: <test@example.jp>',
      'MIME-Version: 1.0',
      ...top,
      `Content-Type: multipart/mixed; boundary="${boundary}"`,
    ],
    chunks.join('\r\n'),
  );
}

export const plain = (body: string, extraHeaders: string[] = []): Buffer =>
  eml(
    [
      'From: sender@example.jp',
      'To: staff@city.example.lg.jp',
      'Subject: hello',
      'Date: Thu, 26 Nov 2026 10:00:00 +0900',
      'Message-ID: <plain@example.jp>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      ...extraHeaders,
    ],
    body,
  );

/** The delivered body below our notice (which opens and closes with NOTICE_RULE). */
export const bodyOf = (o: Outcome): string => {
  const text = o.mail?.text ?? '';
  const end = text.indexOf(NOTICE_RULE, NOTICE_RULE.length);
  expect(end).toBeGreaterThan(0);
  return text
    .slice(end + NOTICE_RULE.length)
    .replace(/^\n+/, '')
    .replace(/\n+$/, '');
};
