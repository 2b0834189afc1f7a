// What the gateway knows about who sent a message, in three layers:
//  - SenderFacts: found at receipt, in the relay, on the original bytes
//    (SPF/DKIM/DMARC/ARC through DNS, first contact from the audit store) and
//    handed to the pure core as data;
//  - SenderAssessment: what the core concludes from the facts, the headers and
//    the policy (look-alike domains, display names, Reply-To): the notice's
//    first line and its reasons;
//  - the policy's sender rules then act on both (stricter treatment only).

/** RFC 8601 result words, as SPF, DKIM, DMARC and ARC report them. */
export type AuthResultWord = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror' | 'policy';

export interface SpfCheck {
  result: AuthResultWord;
  /** The domain checked: the envelope sender's, or the HELO name's for the null sender. */
  domain: string | null;
  /** Which identity `domain` is (RFC 7208): the MAIL FROM's, or the HELO name's for the null sender. */
  identity?: 'mailfrom' | 'helo';
  /** Why, in English, for the Authentication-Results comment and the audit record. */
  detail: string;
}

export interface DkimCheck {
  result: AuthResultWord;
  /** The signing domain (d=) and selector (s=); null when the signature could not be read. */
  domain: string | null;
  selector: string | null;
  detail: string;
}

export interface DmarcCheck {
  result: AuthResultWord;
  /** The From header's domain, whose DMARC record was looked up. */
  domain: string | null;
  /** The policy that domain publishes for failing mail (p=, or sp= for a subdomain); null without a record. */
  policy: 'none' | 'quarantine' | 'reject' | null;
  detail: string;
}

export interface ArcCheck {
  result: AuthResultWord;
  detail: string;
}

export interface AuthenticationFacts {
  /** null when SPF was not evaluated: no connecting IP was known (`mugaika sanitize` without --client-ip). */
  spf: SpfCheck | null;
  /** One per DKIM-Signature header, in order; empty when the message is not signed. */
  dkim: readonly DkimCheck[];
  dmarc: DmarcCheck;
  /** null when the message carries no ARC set. */
  arc: ArcCheck | null;
  /** The host that evaluated them (our Authentication-Results authserv-id). */
  authservId: string;
}

export interface SenderFacts {
  /** null when nothing was checked (no DNS resolver configured, or an item kept before this existed). */
  authentication: AuthenticationFacts | null;
  /**
   * The envelope recipients that got no mail from this sender within the
   * policy's first-contact window; null when not known (no store to ask).
   */
  firstContactFor: readonly string[] | null;
}

/** 送信元を確認できました / 送信元を確認できません / なりすましの疑いがあります */
export type SenderLevel = 'verified' | 'unverified' | 'suspicious';

/** One reason the notice's sender line gives, as data; the words live in the core's labels. */
export type SenderReason =
  | { kind: 'dmarc'; result: AuthResultWord; policy: DmarcCheck['policy'] }
  /** `otherDomain`: the domain checked, when it is not the From's (a pass that proves nothing about the From). */
  | { kind: 'spf'; result: AuthResultWord; otherDomain?: string }
  | { kind: 'spf-not-evaluated' }
  | { kind: 'dkim'; result: AuthResultWord; otherDomain?: string }
  /** The display name names an address, or an organisation, other than the sender's. */
  | { kind: 'display-name'; names: string }
  | { kind: 'reply-to-domain'; domain: string }
  | { kind: 'return-path-domain'; domain: string }
  /** The sender's domain looks like one of ours or a partner's without being it. */
  | { kind: 'look-alike'; domain: string; resembles: string }
  /**
   * No mail from this sender to the recipients within `days`; `some`: only to
   * some of them (the notice is one text for every recipient).
   */
  | { kind: 'first-contact'; days: number; some?: boolean }
  /** The relay checked no SPF, DKIM or DMARC (no resolver configured). */
  | { kind: 'authentication-not-checked' }
  /** The From names one of the municipality's own domains, and nothing proved it. */
  | { kind: 'own-domain-unverified'; domain: string };

export interface SenderAssessment {
  level: SenderLevel;
  reasons: readonly SenderReason[];
}
