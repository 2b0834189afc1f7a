// Mails to people when the release workflow needs them: a new release
// request mails every enabled administrator with a mail address (one mail per
// request, or a digest every `digestMinutes`); a decision (released or
// rejected) mails the staff member who asked.
//
// The mailer follows the audit log by seq, so a request made from the
// console, the CLI or another gateway is seen alike. Each mail goes through
// the gateway's next hop (the same carrier as every delivery) and is then
// audited as `notification-sent`, whose `upTo` is where the mailer resumes
// after a restart (and where other gateways on the same database skip
// ahead to, at each tick): a mail the next hop did not take (4xx, no connection) is
// tried again at the next tick, with doubling pauses; a crash between the
// delivery and its record sends it once more rather than never.
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Carrier, RecipientFailure } from '../delivery/types.js';
import type { AuditRecord, Store } from '../store/types.js';
import { decisionMail, requestMail, type MailText, type RequestLine } from './release-mail-words.js';
import type { AuditAppender } from './vault.js';

export interface ReleaseMailerOptions {
  store: Store;
  audit: AuditAppender;
  carrier: Carrier;
  /** Envelope sender and From. */
  from: string;
  /** 0: a mail per request; more: one digest of the requests every this many minutes. */
  digestMinutes: number;
  language: 'ja' | 'en';
  /** Written as the actor of `notification-sent`. */
  actor: string;
  now?: () => Date;
  /** The first pause after the next hop did not take a mail (doubling up to 10 minutes); default 5 s. */
  firstPauseMs?: number;
}

export interface ReleaseMailer {
  /** Sends what is due; resolves when done (failures are retried at a later tick). */
  tick(): Promise<void>;
  /**
   * Takes where the log stands now (at the very first start, what comes after it is mailed), then
   * ticks every `intervalMs` until stop().
   */
  start(intervalMs: number): Promise<void>;
  /** Stops ticking and waits for a tick under way. */
  stop(): Promise<void>;
}

type Kind = 'request' | 'decision';
interface Cursor {
  upTo: number;
  /** When the last request mail (or digest) was sent, for the digest interval. */
  lastSentAt: number;
}

const BATCH = 200;
const MAX_PAUSE_MS = 10 * 60_000;
/** Control characters out, length bounded: a reason is written by a person, still only text. */
const clean = (s: unknown, max = 1000): string =>
  String(s ?? '')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '')
    .slice(0, max);
const userOf = (actor: string): string | null => (actor.startsWith('console:') ? actor.slice('console:'.length) : null);

export function createReleaseMailer(o: ReleaseMailerOptions): ReleaseMailer {
  const now = o.now ?? (() => new Date());
  let cursors: Record<Kind, Cursor> | null = null;
  let pausedUntil = 0;
  let pause = 0;
  let running: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;

  /** Where each kind resumes: the last `notification-sent` of that kind, or the head of the log at the very first start (history is not mailed). */
  async function resume(): Promise<Record<Kind, Cursor>> {
    const head = (await o.store.head()).seq;
    const sent = await o.store.searchAudit({ actions: ['notification-sent'] });
    const last = (kind: Kind): Cursor => {
      const r = sent.findLast((x) => (JSON.parse(x.details) as { kind?: string }).kind === kind);
      if (!r) return { upTo: head, lastSentAt: 0 };
      const d = JSON.parse(r.details) as { upTo?: number; mailed?: boolean };
      return { upTo: typeof d.upTo === 'number' ? d.upTo : head, lastSentAt: Date.parse(r.time) };
    };
    return { request: last('request'), decision: last('decision') };
  }

  const compose = (to: readonly string[], m: MailText): Promise<Buffer> =>
    new MailComposer({ from: o.from, to: [...to], subject: m.subject, text: m.text, headers: { 'Auto-Submitted': 'auto-generated', 'X-Mugaika-Notice': 'release-workflow' } }).compile().build();

  /** Sends one mail; false when it must be tried again later (nothing recorded then). */
  async function send(kind: Kind, upTo: number, to: readonly string[], m: MailText | null, about: Record<string, unknown>): Promise<boolean> {
    let accepted: string[] = [];
    let failed: RecipientFailure[] = [];
    if (m && to.length > 0) {
      const result = await o.carrier.send({ mailFrom: o.from, rcptTo: to }, await compose(to, m));
      if (result.temporary.length > 0) return false;
      accepted = result.accepted;
      failed = result.permanent;
    }
    await o.audit.append({
      actor: o.actor,
      action: 'notification-sent',
      object: typeof about.item === 'string' ? about.item : null,
      details: { kind, upTo, to: accepted, failed, mailed: accepted.length > 0, ...about },
    });
    return true;
  }

  async function adminAddresses(): Promise<string[]> {
    return (await o.store.listUsers()).filter((u) => u.role === 'admin' && !u.disabled && u.email).map((u) => u.email!);
  }

  async function requests(c: Cursor): Promise<boolean> {
    const records = await o.store.searchAudit({ actions: ['release-requested'], afterSeq: c.upTo, limit: BATCH });
    if (records.length === 0) return true;
    const t = now().getTime();
    if (o.digestMinutes > 0 && t - c.lastSentAt < o.digestMinutes * 60_000) return true;
    const lines: RequestLine[] = records.map((r) => ({
      id: r.object ?? '',
      requester: userOf(r.actor) ?? r.actor,
      reason: clean((JSON.parse(r.details) as { reason?: unknown }).reason),
      requestedAt: new Date(r.time),
    }));
    const to = await adminAddresses();
    const groups: { upTo: number; lines: RequestLine[] }[] = o.digestMinutes > 0 ? [{ upTo: records.at(-1)!.seq, lines }] : records.map((r, i) => ({ upTo: r.seq, lines: [lines[i]!] }));
    for (const g of groups) {
      const ok = await send('request', g.upTo, to, requestMail(g.lines, o.language), {
        items: g.lines.map((l) => l.id),
        ...(g.lines.length === 1 ? { item: g.lines[0]!.id } : {}),
        ...(to.length === 0 ? { skipped: 'no enabled administrator has a mail address' } : {}),
      });
      if (!ok) return false;
      c.upTo = g.upTo;
      c.lastSentAt = t;
    }
    return true;
  }

  async function requesterOf(id: string): Promise<{ name: string; email: string } | null> {
    const asked = (await o.store.searchAudit({ actions: ['release-requested'], objects: [id] })).at(-1);
    const name = asked ? userOf(asked.actor) : null;
    const user = name ? await o.store.getUser(name) : null;
    return user?.email && !user.disabled ? { name: user.name, email: user.email } : null;
  }

  async function decision(r: AuditRecord): Promise<MailText | null> {
    const d = JSON.parse(r.details) as { stateChanged?: boolean; reason?: unknown; comment?: unknown };
    if (r.action === 'release-delivered' && !d.stateChanged) return null;
    const released = r.action === 'release-delivered';
    let comment = d.reason;
    if (released) {
      // The approver's comment is on the approval record, just before.
      const approved = (await o.store.searchAudit({ actions: ['release-approved'], objects: [r.object ?? ''] })).at(-1);
      comment = approved ? (JSON.parse(approved.details) as { comment?: unknown }).comment : '';
    }
    return decisionMail({ id: r.object ?? '', released, by: userOf(r.actor) ?? r.actor, comment: clean(comment), at: new Date(r.time) }, o.language);
  }

  async function decisions(c: Cursor): Promise<boolean> {
    const records = await o.store.searchAudit({ actions: ['release-delivered', 'release-rejected'], afterSeq: c.upTo, limit: BATCH });
    for (const r of records) {
      const m = await decision(r);
      const who = m && r.object ? await requesterOf(r.object) : null;
      if (m) {
        const ok = await send('decision', r.seq, who ? [who.email] : [], who ? m : null, {
          item: r.object,
          decision: r.action,
          ...(who ? { requester: who.name } : { skipped: 'the requester has no mail address (or there was no request)' }),
        });
        if (!ok) return false;
      }
      c.upTo = r.seq;
    }
    return true;
  }

  /** What other gateways on the same database mailed since: not mailed again (two may still race within one tick). */
  async function catchUp(c: Record<Kind, Cursor>): Promise<void> {
    const since = Math.min(c.request.upTo, c.decision.upTo);
    for (const r of await o.store.searchAudit({ actions: ['notification-sent'], afterSeq: since })) {
      const d = JSON.parse(r.details) as { kind?: Kind; upTo?: number };
      const k = d.kind === 'request' || d.kind === 'decision' ? c[d.kind] : null;
      if (k && typeof d.upTo === 'number' && d.upTo > k.upTo) {
        k.upTo = d.upTo;
        if (d.kind === 'request') k.lastSentAt = Math.max(k.lastSentAt, Date.parse(r.time));
      }
    }
  }

  async function once(): Promise<void> {
    if (Date.now() < pausedUntil) return;
    if (cursors) await catchUp(cursors);
    cursors ??= await resume();
    const ok = (await requests(cursors.request)) && (await decisions(cursors.decision));
    if (ok) {
      pause = 0;
      pausedUntil = 0;
    } else {
      pause = Math.min(MAX_PAUSE_MS, pause ? pause * 2 : (o.firstPauseMs ?? 5000));
      pausedUntil = Date.now() + pause;
    }
  }

  const mailer: ReleaseMailer = {
    tick() {
      running ??= once().finally(() => (running = null));
      return running;
    },
    async start(intervalMs) {
      // Now, not at the first tick: a request made in between (the console is up by then) was taken for history and never mailed.
      // The database not answering: the first tick takes it.
      cursors ??= await resume().catch(() => null);
      timer = setInterval(() => void mailer.tick().catch(() => undefined), intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running?.catch(() => undefined);
    },
  };
  return mailer;
}
