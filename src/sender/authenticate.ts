// Sender authentication at receipt: SPF for the connecting address and the
// envelope sender (the HELO name for the null sender), every DKIM signature,
// ARC where the message carries a set, and DMARC on the From domain, checked
// once on the original bytes with mailauth through a bounded resolver. Always
// resolves: whatever goes wrong (DNS timeouts, broken records, malformed
// signatures, keys too long, a check that runs past the budget) becomes a
// temperror or permerror with the reason, never an exception.
import { isIP } from 'node:net';
import { arc, dkimVerify, dmarc, spf, type DNSResolver } from 'mailauth';
import type { ArcCheck, AuthenticationFacts, AuthResultWord, DkimCheck, DmarcCheck, SpfCheck } from '../model/sender-trust.js';
import type { BoundedResolver } from './resolver.js';

export interface AuthenticateInput {
  raw: Uint8Array;
  /** The envelope sender; null for the null sender. */
  mailFrom: string | null;
  /** The connecting client's address; null when not known (SPF is then not evaluated). */
  clientIp: string | null;
  /** The EHLO/HELO name; the checked domain for the null sender. */
  helo: string | null;
}

export interface AuthenticatorOptions {
  resolver: BoundedResolver;
  /** Our name in the Authentication-Results header (authserv-id). */
  authservId: string;
  /** All checks of one message together, DNS included, ms. */
  budgetMs: number;
  /** DKIM and ARC keys longer than this are not used (permerror), bits. */
  maxKeyBits: number;
  now?: () => number;
}

export interface SenderAuthenticator {
  authenticate(input: AuthenticateInput): Promise<AuthenticationFacts>;
}

/** What a check that ran past the budget is given beyond it, for the crypto after the last answer. */
const GRACE_MS = 250;
const DETAIL_MAX = 200;

const WORDS = new Set<AuthResultWord>(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy']);
const word = (w: string | undefined): AuthResultWord => (w === 'temperr' ? 'temperror' : WORDS.has(w as AuthResultWord) ? (w as AuthResultWord) : 'permerror');

/** mailauth's comments start with our own name ("host: ..."): the reason alone, bounded. */
const detailOf = (comment: string | undefined, authservId: string, fallback: string): string => {
  const text = (comment ?? '').replace(new RegExp(`^${authservId.replace(/[.]/g, '\\.')}:\\s*`), '').trim();
  return (text || fallback).slice(0, DETAIL_MAX);
};

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err)).slice(0, DETAIL_MAX);

/** How far into a message its header is looked for. */
const HEADER_SCAN_BYTES = 1024 * 1024;

/** DKIM-Signature fields in the message's header. */
function signatureHeaders(raw: Buffer): number {
  const head = raw.subarray(0, HEADER_SCAN_BYTES).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  return (end < 0 ? head : head.slice(0, end)).match(/^dkim-signature[ \t]*:/gim)?.length ?? 0;
}

class OverBudget extends Error {
  override readonly name = 'OverBudget';
}

/** Facts for a message none of whose checks could finish. */
function unevaluated(input: AuthenticateInput, result: 'temperror' | 'permerror', detail: string, authservId: string): AuthenticationFacts {
  return {
    spf: input.clientIp ? { result, domain: null, detail } : null,
    dkim: [{ result, domain: null, selector: null, detail }],
    dmarc: { result, domain: null, policy: null, detail },
    arc: null,
    authservId,
  };
}

export function createAuthenticator(opts: AuthenticatorOptions): SenderAuthenticator {
  const now = opts.now ?? Date.now;
  const id = opts.authservId;

  async function check(input: AuthenticateInput, resolver: DNSResolver): Promise<AuthenticationFacts> {
    const raw = Buffer.from(input.raw.buffer, input.raw.byteOffset, input.raw.byteLength);
    const dkimResult = await dkimVerify(raw, { resolver, sender: input.mailFrom ?? undefined, minBitLength: 1024 });
    const signatures = dkimResult.results.filter((r) => r.signingDomain || r.status.result !== 'none');
    const dkim: DkimCheck[] = signatures.map((r) => {
      const bits = (r as { modulusLength?: number }).modulusLength;
      if (bits && bits > opts.maxKeyBits) {
        return { result: 'permerror', domain: r.signingDomain ?? null, selector: r.selector ?? null, detail: `the signing key has ${bits} bits, more than the ${opts.maxKeyBits} accepted` };
      }
      return {
        result: word(r.status.result),
        domain: r.signingDomain || null,
        selector: r.selector || null,
        detail: detailOf(r.status.comment, id, r.status.result === 'pass' ? 'signature verified' : `signature ${r.status.result}`),
      };
    });

    // mailauth leaves out signatures it cannot parse: each is a permerror (RFC 6376 6.1.1), not an unsigned message.
    for (let n = signatureHeaders(raw) - signatures.length; n > 0; n--) {
      dkim.push({ result: 'permerror', domain: null, selector: null, detail: 'a DKIM-Signature header could not be read (malformed tags)' });
    }

    let spfCheck: SpfCheck | null = null;
    let spfPassDomain: string | null = null;
    if (input.clientIp) {
      const helo = input.helo && isIP(input.helo) ? `[${input.helo}]` : (input.helo ?? `[${input.clientIp}]`);
      const r = await spf({ sender: input.mailFrom ?? undefined, ip: input.clientIp, helo, mta: id, resolver });
      const result = word(r.status.result);
      spfCheck = { result, domain: r.domain && r.domain !== '-' ? r.domain : null, identity: input.mailFrom ? 'mailfrom' : 'helo', detail: detailOf(r.status.comment, id, result) };
      if (result === 'pass') spfPassDomain = r.domain;
    }

    const arcData = (dkimResult as { arc?: Parameters<typeof arc>[0] }).arc;
    let arcCheck: ArcCheck | null = null;
    let arcResult: Awaited<ReturnType<typeof arc>> | undefined;
    if (arcData && arcData.chain.length > 0) {
      arcResult = await arc(arcData, { resolver, minBitLength: 1024 });
      const result = word(arcResult.status.result);
      arcCheck = { result, detail: detailOf(arcResult.status.comment, id, result === 'pass' ? 'the ARC set verifies' : `the ARC set did not verify (${result})`) };
    } else if (arcData?.error) {
      arcCheck = { result: 'permerror', detail: errorText(arcData.error) };
    }

    let dmarcCheck: DmarcCheck = { result: 'none', domain: null, policy: null, detail: 'no single From address to check' };
    if (dkimResult.headerFrom.length > 0) {
      const r = await dmarc({
        headerFrom: dkimResult.headerFrom,
        spfDomains: spfPassDomain ? [spfPassDomain] : [],
        // Only signatures that passed here (not one whose key was refused as too long).
        dkimDomains: signatures.filter((d, i) => dkim[i]?.result === 'pass').map((d) => ({ id: d.id, domain: d.signingDomain, aligned: d.status.aligned, underSized: d.status.underSized })),
        arcResult,
        resolver,
      } as Parameters<typeof dmarc>[0]);
      if (r) {
        const policy = r.policy === 'none' || r.policy === 'quarantine' || r.policy === 'reject' ? r.policy : null;
        const result = word(r.status.result);
        dmarcCheck = { result, domain: r.domain || null, policy, detail: detailOf(r.status.comment, id, result) };
      }
    }
    return { spf: spfCheck, dkim, dmarc: dmarcCheck, arc: arcCheck, authservId: id };
  }

  return {
    async authenticate(input) {
      const deadline = now() + opts.budgetMs;
      const resolver = opts.resolver.forMessage(deadline) as DNSResolver;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new OverBudget(`the checks took longer than the ${opts.budgetMs} ms allowed`)), opts.budgetMs + GRACE_MS);
      });
      const running = check(input, resolver);
      running.catch(() => undefined);
      try {
        return await Promise.race([running, late]);
      } catch (err) {
        if (err instanceof OverBudget) return unevaluated(input, 'temperror', err.message, id);
        return unevaluated(input, 'permerror', `the message could not be checked: ${errorText(err)}`, id);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
