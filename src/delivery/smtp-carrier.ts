// Carries messages onward over SMTP to one next hop (the LGWAN-side MTA) through
// a nodemailer connection pool. Every outcome, including a dead peer, comes back
// as a per-recipient AttemptResult: send() never rejects.
//
// Mapping of what the peer said:
//   RCPT TO 2xx, message accepted          -> accepted
//   RCPT TO 4xx / 5xx (503 excepted)       -> that recipient temporary / permanent
//   MAIL FROM or DATA 5xx (503 excepted)   -> every recipient permanent
//   any 4xx, 503, refused/reset/timed-out connection, bad greeting, TLS trouble
//                                          -> every recipient temporary (code null without a reply)
//   an address nodemailer refuses to put on the wire, or a message over the
//   peer's advertised SIZE                 -> permanent (no retry could succeed)
import nodemailer from 'nodemailer';
import MimeNode from 'nodemailer/lib/mime-node';
import type { Envelope } from '../model/envelope.js';
import type { AttemptResult, Carrier, RecipientFailure } from './types.js';

export interface SmtpCarrierOptions {
  host: string;
  port: number;
  /** Our EHLO hostname. */
  name: string;
  maxConnections: number;
  /** TCP connect timeout; also the default greeting timeout. */
  connectionTimeoutMs: number;
  /** Wait for the 220 greeting (and a STARTTLS handshake); defaults to connectionTimeoutMs. */
  greetingTimeoutMs?: number;
  /** Inactivity on an open session, e.g. waiting for the reply to the final dot; defaults to 10 minutes (RFC 5321 4.5.3.2.6). */
  socketTimeoutMs?: number;
  /** How long close() lets in-flight deliveries finish before cutting them off; defaults to 30 s. */
  closeGraceMs?: number;
}

/** The subset of nodemailer's error fields we read. */
interface SmtpError {
  message?: string;
  code?: string;
  command?: string;
  response?: string;
  responseCode?: number;
  recipient?: string;
  rejectedErrors?: SmtpError[];
}

type Outcome = { kind: 'accepted' } | { kind: 'temporary' | 'permanent'; code: number | null; status: string | null; reason: string };

/** The enhanced status code (RFC 3463) at the start of an SMTP reply, if its class matches the reply code. */
export function parseEnhancedStatus(reply: string): string | null {
  const m = /^([245])\d\d[ -]([245])\.(\d{1,3})\.(\d{1,3})(?!\S)/.exec(reply.trimStart());
  return m && m[1] === m[2] ? `${m[2]}.${m[3]}.${m[4]}` : null;
}

/** 5xx is final, except 503 (bad sequence of commands): that is our session's state, not the message. */
const isPermanentCode = (code: number): boolean => code >= 500 && code < 600 && code !== 503;

const oneLine = (s: string): string => s.replace(/\s*[\r\n]+\s*/g, ' ').trim();

function fromReply(err: SmtpError, permanentAllowed: boolean): Outcome {
  const code = typeof err.responseCode === 'number' && err.responseCode >= 200 ? err.responseCode : null;
  if (code !== null && err.response) {
    const reason = oneLine(err.response);
    const kind = permanentAllowed && isPermanentCode(code) ? 'permanent' : 'temporary';
    return { kind, code, status: parseEnhancedStatus(reason), reason };
  }
  const detail = oneLine(err.message ?? String(err));
  return { kind: 'temporary', code: null, status: null, reason: err.code && !detail.includes(err.code) ? `${err.code}: ${detail}` : detail };
}

/** What a thrown sendMail error means for the recipients that had no individual answer. */
function classifyError(err: SmtpError): Outcome {
  if (err.command === 'API' && err.code === 'EENVELOPE') {
    // nodemailer validated the envelope before sending anything: it will refuse it again.
    return { kind: 'permanent', code: null, status: /sender/i.test(err.message ?? '') ? '5.1.7' : '5.1.3', reason: oneLine(err.message ?? 'invalid envelope') };
  }
  if (err.code === 'EMESSAGE' && err.command === 'MAIL FROM' && err.responseCode === undefined && /size larger than allowed/i.test(err.message ?? '')) {
    return { kind: 'permanent', code: null, status: '5.3.4', reason: oneLine(err.message ?? 'message too big') };
  }
  const finalCommand = err.command === 'MAIL FROM' || err.command === 'DATA';
  return fromReply(err, finalCommand);
}

/** The address as nodemailer will put it on the wire (it punycodes domains, quotes odd local parts…); '' if it drops it. */
function wireForm(address: string): string {
  const node = new MimeNode();
  node.setEnvelope({ to: { address, name: '' } });
  return node.getEnvelope().to[0] ?? '';
}

export function createSmtpCarrier(options: SmtpCarrierOptions): Carrier {
  const transport = nodemailer.createTransport({
    pool: true,
    host: options.host,
    port: options.port,
    name: options.name,
    secure: false,
    // Opportunistic STARTTLS; the internal MTA's certificate is not verified, and a failed
    // upgrade falls back to plain text rather than bouncing mail.
    opportunisticTLS: true,
    tls: { rejectUnauthorized: false },
    maxConnections: options.maxConnections,
    maxMessages: Infinity,
    // The spool retries; the pool only re-sends a message whose connection died before a byte of it was sent.
    maxRequeues: 2,
    connectionTimeout: options.connectionTimeoutMs,
    greetingTimeout: options.greetingTimeoutMs ?? options.connectionTimeoutMs,
    socketTimeout: options.socketTimeoutMs ?? 10 * 60_000,
    logger: false,
    debug: false,
  });
  // An EventEmitter 'error' without a listener would take the process down.
  transport.on('error', () => undefined);
  const inflight = new Set<Promise<AttemptResult>>();
  let closed = false;

  async function attempt(envelope: Envelope, raw: Buffer): Promise<AttemptResult> {
    const result: AttemptResult = { accepted: [], temporary: [], permanent: [] };
    const wire = envelope.rcptTo.map(wireForm);
    const outcomes = new Map<string, Outcome>();
    const settle = (fallback: Outcome): AttemptResult => {
      envelope.rcptTo.forEach((rcpt, i) => {
        const o = outcomes.get(wire[i] ?? '') ?? fallback;
        if (o.kind === 'accepted') result.accepted.push(rcpt);
        else (o.kind === 'permanent' ? result.permanent : result.temporary).push({ rcpt, code: o.code, status: o.status, reason: o.reason } satisfies RecipientFailure);
      });
      return result;
    };
    const invalid: Outcome = { kind: 'permanent', code: null, status: '5.1.3', reason: 'invalid recipient address' };
    outcomes.set('', invalid); // addresses nodemailer would drop
    const sendable = wire.filter((w) => w !== '');
    if (envelope.rcptTo.length === 0) return result;
    if (sendable.length === 0) return settle(invalid);
    if (closed) return settle({ kind: 'temporary', code: null, status: null, reason: 'SMTP carrier is closed' });
    try {
      const info = await transport.sendMail({
        envelope: {
          // from: false is nodemailer's null sender, sent as MAIL FROM:<>
          from: envelope.mailFrom === null ? false : { address: envelope.mailFrom, name: '' },
          to: sendable.map((address) => ({ address, name: '' })),
          // SIZE= and BODY=8BITMIME go out only if the peer advertises them; declaring
          // 8BITMIME for a 7-bit body is allowed (RFC 6152), so no need to scan the bytes.
          size: raw.length,
          use8BitMime: true,
        },
        raw,
      });
      for (const a of info.accepted) outcomes.set(String(a), { kind: 'accepted' });
      for (const e of (info.rejectedErrors ?? []) as SmtpError[]) if (e.recipient) outcomes.set(e.recipient, fromReply(e, true));
      return settle({ kind: 'temporary', code: null, status: null, reason: `no reply recorded for this recipient (${oneLine(info.response ?? '')})` });
    } catch (caught) {
      const err = (caught ?? {}) as SmtpError;
      // Every recipient rejected at RCPT TO: each has its own reply.
      for (const e of err.command === 'RCPT TO' ? (err.rejectedErrors ?? []) : []) if (e.recipient) outcomes.set(e.recipient, fromReply(e, true));
      return settle(classifyError(err));
    }
  }

  return {
    name: `smtp:${options.host}:${options.port}`,
    send(envelope, raw) {
      const p = attempt(envelope, raw).catch((err: unknown): AttemptResult => ({
        accepted: [],
        temporary: envelope.rcptTo.map((rcpt) => ({ rcpt, code: null, status: null, reason: `internal error: ${String(err)}` })),
        permanent: [],
      }));
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      return p;
    },
    async close() {
      if (closed) return;
      closed = true;
      transport.close();
      if (inflight.size === 0) return;
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), options.closeGraceMs ?? 30_000);
      });
      const done = await Promise.race([Promise.allSettled([...inflight]).then(() => 'done' as const), grace]);
      clearTimeout(timer);
      if (done === 'timeout') {
        // Cut off what is still running; those sends come back temporary.
        transport.close({ force: true });
        await Promise.allSettled([...inflight]);
      }
    },
  };
}
