// PPAP: a recipient opens the password-protected attachments of a quarantined
// message with the password the sender sent them apart. Zips are decrypted
// here (zip-decrypt.ts), PDFs in the document sandbox (pdf-decrypt.ts); the
// opened files become a new message in the spool, addressed to that recipient
// alone and marked (in its spool envelope, never a header) as the unlocked
// contents of the item, and the relay sanitizes and delivers it like any mail:
// retries, bounces (none: it has the null sender) and audit records included.
//
// The password is never written anywhere: not in the audit log, the log, the
// database, the spool or an error. Each attempt, right or wrong, is audited;
// after LOCK_AFTER wrong ones the item is locked for that user until an
// administrator resets it. Attempts of one user at one item run one at a time.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { parseMessage, type ParsedMessage } from '../core/parse.js';
import type { Policy } from '../core/policy.js';
import type { PdfDecryptResult } from '../converters/pdf/pdf-decrypt.js';
import type { AuditAppender, Vault } from '../quarantine/vault.js';
import type { ReceivedEnvelope as Envelope } from '../model/envelope.js';
import type { QueueId } from '../spool/types.js';
import { ownAddresses } from '../users/own-addresses.js';
import type { UnlockState } from '../store/types.js';
import { unlockedMessage, type OpenedFile } from './unlocked-message.js';
import { decryptZip, isEncryptedZip } from './zip-decrypt.js';

/** Wrong passwords a user may give for one item before it locks for them. */
export const LOCK_AFTER = 5;

export interface UnlockUser {
  name: string;
  email: string | null;
  /** Other addresses an admin recorded for the user: their mail too. */
  aliases?: readonly string[];
}

export interface UnlockDeps {
  vault: Pick<Vault, 'get' | 'store'>;
  audit: AuditAppender;
  policy: Policy;
  /** The gateway's spool door (Spool.accept) and the engine's `accepted`. */
  spool: { accept(envelope: Envelope, data: Readable, maxBytes: number): Promise<QueueId | 'too-big'> };
  accepted(id: QueueId, receivedAt: Date): void;
  /** Decrypts a PDF in the document sandbox. */
  pdf(bytes: Buffer, password: string): Promise<PdfDecryptResult>;
  now?: () => Date;
}

export interface EncryptedPart {
  kind: 'zip' | 'pdf';
  untrustedName: string | null;
  bytes: Buffer;
}

export type UnlockView = { kind: 'not-found' } | { kind: 'expired' } | { kind: 'ok'; parts: { kind: 'zip' | 'pdf'; untrustedName: string | null }[]; failures: number; locked: boolean };

export type UnlockOutcome =
  | { kind: 'not-found' }
  | { kind: 'expired' }
  | { kind: 'nothing-to-unlock' }
  | { kind: 'locked' }
  | { kind: 'wrong-password'; left: number; locked: boolean }
  | { kind: 'unopenable' }
  | { kind: 'sent'; queueId: QueueId; files: number };

export interface UnlockService {
  view(itemId: string, user: UnlockUser): Promise<UnlockView>;
  attempt(itemId: string, user: UnlockUser, password: string, client: string): Promise<UnlockOutcome>;
  /** Every user's failed attempts at an item (for an administrator). */
  locks(itemId: string): Promise<UnlockState[]>;
  /** Lifts a user's lock on an item; false when there was nothing to lift. */
  reset(itemId: string, userName: string, admin: string, client: string): Promise<boolean>;
}

const isPdf = (b: Buffer): boolean => b.subarray(0, 1024).includes('%PDF-');

/** Attachments a password opens: zips with an encrypted file, PDFs with an /Encrypt dictionary. */
export async function encryptedParts(parsed: ParsedMessage): Promise<EncryptedPart[]> {
  const out: EncryptedPart[] = [];
  for (const a of parsed.attachments) {
    if (a.bytes.length >= 4 && (await isEncryptedZip(a.bytes))) out.push({ kind: 'zip', untrustedName: a.untrustedName, bytes: a.bytes });
    else if (isPdf(a.bytes) && a.bytes.includes('/Encrypt')) out.push({ kind: 'pdf', untrustedName: a.untrustedName, bytes: a.bytes });
  }
  return out;
}

export function createUnlockService(d: UnlockDeps): UnlockService {
  const now = d.now ?? (() => new Date());
  const store = d.vault.store;
  const running = new Map<string, Promise<unknown>>();

  /** The recipient address under which the user may see the item, or null (absent, or not theirs). */
  async function recipientOf(itemId: string, user: UnlockUser): Promise<{ address: string; state: string } | null> {
    const mine = ownAddresses(user);
    if (mine.length === 0 || !/^Q-\d{8}-[0-9A-Z]{10}$/.test(itemId)) return null;
    const item = await store.getItem(itemId);
    if (!item) return null;
    const address = item.recipients.find((r) => mine.includes(r.toLowerCase()));
    return address ? { address, state: item.state } : null;
  }

  /** One at a time per item and user, so that concurrent posts cannot exceed the count. */
  function serial<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = running.get(key) ?? Promise.resolve();
    const mine = before.then(work, work);
    const tail = mine.catch(() => undefined);
    running.set(key, tail);
    void tail.then(() => {
      if (running.get(key) === tail) running.delete(key);
    });
    return mine;
  }

  async function tryParts(parts: readonly EncryptedPart[], password: string): Promise<{ opened: OpenedFile[]; wrong: number; failed: string[] }> {
    const opened: OpenedFile[] = [];
    let wrong = 0;
    const failed: string[] = [];
    for (const p of parts) {
      const r = p.kind === 'zip' ? await decryptZip(p.bytes, password, d.policy.archives) : await d.pdf(p.bytes, password);
      if (r.ok) opened.push({ untrustedName: p.untrustedName, bytes: 'zip' in r ? r.zip : r.pdf });
      else if (r.reason === 'wrong-password') wrong++;
      else if (r.reason !== 'not-encrypted') failed.push(`${p.kind}: ${r.reason}: ${r.detail}`.slice(0, 300));
    }
    return { opened, wrong, failed };
  }

  return {
    async view(itemId, user) {
      const who = await recipientOf(itemId, user);
      if (!who) return { kind: 'not-found' };
      if (who.state === 'expired') return { kind: 'expired' };
      const original = await d.vault.get(itemId);
      const parts = await encryptedParts(await parseMessage(original.raw));
      const state = await store.getUnlockState(itemId, user.name);
      return { kind: 'ok', parts: parts.map((p) => ({ kind: p.kind, untrustedName: p.untrustedName })), failures: state?.failures ?? 0, locked: Boolean(state?.lockedAt) };
    },

    attempt(itemId, user, password, client) {
      return serial(`${itemId}\n${user.name}`, async (): Promise<UnlockOutcome> => {
        const who = await recipientOf(itemId, user);
        if (!who) return { kind: 'not-found' };
        if (who.state === 'expired') return { kind: 'expired' };
        const actor = `console:${user.name}`;
        const base = { to: [who.address], client };
        const t = now();
        const record = (action: 'unlock-succeeded' | 'unlock-failed', details: Record<string, unknown>, outcome?: 'failed' | 'succeeded') =>
          d.audit.append(
            { actor, action, object: itemId, details: { ...base, ...details }, time: t },
            outcome ? { unlockAttempts: [{ item: itemId, user: user.name, outcome, at: t.toISOString(), lockAfter: LOCK_AFTER }] } : undefined,
          );
        const state = await store.getUnlockState(itemId, user.name);
        if (state?.lockedAt) {
          await record('unlock-failed', { reason: 'locked', failures: state.failures });
          return { kind: 'locked' };
        }
        const original = await d.vault.get(itemId);
        const parsed = await parseMessage(original.raw);
        const parts = await encryptedParts(parsed);
        if (parts.length === 0) {
          await record('unlock-failed', { reason: 'no-encrypted-attachment' });
          return { kind: 'nothing-to-unlock' };
        }
        const { opened, wrong, failed } = await tryParts(parts, password);
        if (opened.length === 0) {
          if (failed.length > 0) {
            // Not the password's fault (a limit, the sandbox): not counted against the user.
            await record('unlock-failed', { reason: 'unopenable', detail: failed.join('; ').slice(0, 1000) });
            return { kind: 'unopenable' };
          }
          const failures = (state?.failures ?? 0) + 1;
          await record('unlock-failed', { reason: 'wrong-password', failures, locked: failures >= LOCK_AFTER }, 'failed');
          return { kind: 'wrong-password', left: Math.max(0, LOCK_AFTER - failures), locked: failures >= LOCK_AFTER };
        }
        const raw = await unlockedMessage(parsed, opened, `<${randomUUID()}@${d.policy.output.messageIdDomain}>`);
        const envelope: Envelope = {
          mailFrom: '',
          rcptTo: [who.address],
          clientAddress: client,
          heloName: 'console-unlock',
          receivedAt: t.toISOString(),
          unlockOf: { quarantineId: itemId, user: user.name },
        };
        const id = await d.spool.accept(envelope, Readable.from([raw]), d.policy.limits.maxMessageBytes);
        if (id === 'too-big') {
          await record('unlock-failed', { reason: 'too-large', size: raw.length });
          return { kind: 'unopenable' };
        }
        // In the spool (durable) before it is recorded: a crash in between still delivers it,
        // and its own records (received, verdict, delivered) name the item it came from.
        try {
          await record('unlock-succeeded', { queueId: id, files: opened.length, notOpened: wrong + failed.length }, 'succeeded');
        } finally {
          d.accepted(id, t);
        }
        return { kind: 'sent', queueId: id, files: opened.length };
      });
    },

    locks: (itemId) => store.listUnlockStates(itemId),

    async reset(itemId, userName, admin, client) {
      const state = await store.getUnlockState(itemId, userName);
      if (!state) return false;
      await d.audit.append(
        { actor: `console:${admin}`, action: 'unlock-reset', object: itemId, details: { user: userName, failures: state.failures, wasLocked: Boolean(state.lockedAt), client } },
        { unlockResets: [{ item: itemId, user: userName }] },
      );
      return true;
    },
  };
}
