// What the notice's first line says about the sender: the facts the relay
// found at receipt (SPF, DKIM, DMARC, first contact), the header fields and
// the policy's own and partner organisations, brought to one level and the
// reasons behind it.
//
// The levels, worst first (docs/notice.md says the same):
//  - suspicious (なりすましの疑いがあります), when any of:
//      DMARC fail; SPF fail without an aligned DKIM pass; the From domain
//      looks like one of our own or a partner's domains without being it; the
//      display name names an address, domain or known organisation that is not
//      the sender's; the From names one of our own domains and nothing
//      verified it (our own mail does not come in from the internet).
//  - verified (送信元を確認できました), when not suspicious and: DMARC pass,
//    or DKIM pass or SPF pass for the From domain (aligned: the same domain or
//    a subdomain of one another).
//  - unverified (送信元を確認できません): everything else, including any
//    temperror/permerror, no signature, no DMARC record, and nothing checked.
// A Reply-To on another domain and first contact are reasons, never a level:
// they are normal for legitimate mail, and the clerk should know them. The
// Return-Path on another domain is a reason only for a mail not verified
// (bulk senders bounce to their provider's domain).
//
// Without SenderFacts (`mugaika sanitize` without them, or nothing checked),
// the header checks still run: a suspicious sender is said; otherwise there is
// no line (null), since nothing was checked that could be reported.
import { isAllowedSender } from './sender-rules.js';
import type { AuthenticationFacts, SenderAssessment, SenderFacts, SenderLevel, SenderReason } from '../model/sender-trust.js';
import { namesOther } from './display-name.js';
import { asciiAddress } from './headers.js';
import { lookAlike, within } from './look-alike.js';
import type { Mailbox } from './parse.js';
import type { Policy } from './policy.js';

export interface SenderInput {
  facts: SenderFacts | undefined;
  /** The From header's mailboxes (the first is the sender), as parsed. */
  from: readonly Mailbox[];
  replyTo: readonly Mailbox[];
  /** The envelope sender (the Return-Path), when known; null for the null sender. */
  mailFrom: string | null | undefined;
  /** The envelope recipients, when known. */
  rcptTo: readonly string[] | undefined;
}

const domainOf = (address: string | null | undefined): string | null => {
  const ascii = address ? asciiAddress(address) : null;
  return ascii ? ascii.slice(ascii.lastIndexOf('@') + 1) : null;
};

/** A domain as the notice may show it (a DKIM d= is the sender's text): plain ASCII, else none. */
const shown = (d: string | null): string | null => {
  const l = d?.toLowerCase().replace(/\.$/, '');
  return l && /^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/.test(l) ? l : null;
};

/** The same domain, or one a subdomain of the other (news@mail.example.jp and info@example.jp). */
const related = (a: string, b: string): boolean => within(a, b) || within(b, a);

const MAX_REPLY_TO_REASONS = 3;

/** Authentication reasons and what they prove. */
function authentication(auth: AuthenticationFacts, fromDomain: string | null): { reasons: SenderReason[]; verified: boolean; failed: boolean } {
  const aligned = (d: string | null): boolean => fromDomain !== null && d !== null && related(d.toLowerCase(), fromDomain);
  const dkimAligned = auth.dkim.some((k) => k.result === 'pass' && aligned(k.domain));
  const spfAligned = auth.spf?.result === 'pass' && aligned(auth.spf.domain);
  const dmarc = auth.dmarc;
  const failed = dmarc.result === 'fail' || (auth.spf?.result === 'fail' && !dkimAligned);
  const verified = !failed && (dmarc.result === 'pass' || dkimAligned || spfAligned);
  const reasons: SenderReason[] = [{ kind: 'dmarc', result: dmarc.result, policy: dmarc.policy }];
  // DMARC pass says it all; otherwise what SPF and DKIM found.
  if (dmarc.result !== 'pass') {
    const spf = auth.spf;
    if (!spf) reasons.push({ kind: 'spf-not-evaluated' });
    else reasons.push({ kind: 'spf', result: spf.result, ...(spf.result === 'pass' && !spfAligned && shown(spf.domain) ? { otherDomain: shown(spf.domain)! } : {}) });
    const best = auth.dkim.find((k) => k.result === 'pass' && aligned(k.domain)) ?? auth.dkim.find((k) => k.result === 'pass') ?? auth.dkim.find((k) => k.result === 'fail') ?? auth.dkim[0];
    reasons.push({ kind: 'dkim', result: best?.result ?? 'none', ...(best?.result === 'pass' && !aligned(best.domain) && shown(best.domain) ? { otherDomain: shown(best.domain)! } : {}) });
  }
  return { reasons, verified, failed };
}

/** The sender line's level and reasons; null when there is nothing to say (nothing checked, nothing suspicious). */
export function assessSender(input: SenderInput, policy: Policy): SenderAssessment | null {
  const s = policy.senders;
  const sender = input.from[0];
  const fromDomain = domainOf(sender?.address);
  const checked = input.facts !== undefined && (input.facts.authentication !== null || input.facts.firstContactFor !== null);
  const suspicious: SenderReason[] = [];
  const other: SenderReason[] = [];

  const allowed = isAllowedSender(s, sender?.address);
  const auth = input.facts?.authentication ? authentication(input.facts.authentication, fromDomain) : null;
  if (auth?.failed) suspicious.push(...auth.reasons);
  else if (auth) other.push(...auth.reasons);
  else if (checked) other.push({ kind: 'authentication-not-checked' });

  if (fromDomain) {
    // A sender on the allow list (senders.allow) is known: its domain is not a look-alike, nor it a first contact.
    const resembles = allowed ? null : lookAlike(fromDomain, [...s.own.domains, ...s.partners.flatMap((p) => p.domains)]);
    if (resembles) suspicious.push({ kind: 'look-alike', domain: fromDomain, resembles });
    if (!auth?.verified && s.own.domains.some((d) => within(fromDomain, d))) suspicious.push({ kind: 'own-domain-unverified', domain: fromDomain });
  }
  const named = sender ? namesOther(sender.name, fromDomain, [s.own, ...s.partners]) : null;
  if (named) suspicious.push({ kind: 'display-name', names: named });

  const level: SenderLevel = suspicious.length > 0 ? 'suspicious' : auth?.verified ? 'verified' : 'unverified';
  if (level === 'unverified' && !checked) return null;

  if (fromDomain) {
    const seen = new Set<string>();
    for (const m of input.replyTo) {
      const d = domainOf(m.address);
      if (d && !related(d, fromDomain) && !seen.has(d) && seen.size < MAX_REPLY_TO_REASONS) {
        seen.add(d);
        other.push({ kind: 'reply-to-domain', domain: d });
      }
    }
    const bounce = domainOf(input.mailFrom);
    if (level !== 'verified' && bounce && !related(bounce, fromDomain)) other.push({ kind: 'return-path-domain', domain: bounce });
  }
  const firstFor = input.facts?.firstContactFor;
  if (s.firstContactDays > 0 && !allowed && firstFor && firstFor.length > 0) {
    const first = new Set(firstFor.map((f) => f.toLowerCase()));
    const all = input.rcptTo === undefined || input.rcptTo.every((r) => first.has(r.toLowerCase()));
    other.push({ kind: 'first-contact', days: s.firstContactDays, ...(all ? {} : { some: true }) });
  }
  return { level, reasons: [...suspicious, ...other] };
}
