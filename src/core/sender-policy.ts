// The policy's `senders` section: the allow list, the exclusion list, recipient
// groups and the rules that act on who sent a message.
//
// What each list means:
//  - exclude: senders whose mail is always blocked. The recipient gets the
//    notice only; the original is kept in quarantine, never dropped.
//  - allow: senders the municipality knows. Being on it may soften the notice's
//    first-contact and look-alike warnings about the sender; it never changes
//    how a message is sanitized, and never lifts a block (a DMARC reject, the
//    exclusion list or a rule).
//
// A rule can only make the treatment stricter: every action is a literal
// (`images: pdf-page`, `approvals: 2`, `quarantine: true`, `block: true`), so
// no rule can say "do not re-encode", "deliver the original" or "one approval
// fewer". The default rule (not a switch: it cannot be turned off) blocks and
// quarantines a message whose From domain publishes DMARC p=reject and fails it.
import { z } from 'zod';
import type { AuthResultWord, SenderLevel } from '../model/sender-trust.js';

/** Lower-case ASCII (punycode for IDNs) domain: labels of letters, digits and hyphens. */
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** local@domain, the local part without spaces, quotes or angle brackets. */
const ADDRESS = /^[^\s@"<>(),;:\\[\]]{1,64}@[^\s@]+$/;

/** What a sender or group member is: one address, or a domain (and its subdomains). */
export type SenderPattern = { kind: 'address'; value: string } | { kind: 'domain'; value: string };

/** Parses `keiri@example.jp` or `example.jp` (lower-cased, trimmed); null when it is neither. */
export function parseSenderPattern(text: string): SenderPattern | null {
  const value = text.trim().toLowerCase();
  if (value.includes('@')) {
    const domain = value.slice(value.lastIndexOf('@') + 1);
    return ADDRESS.test(value) && DOMAIN.test(domain) ? { kind: 'address', value } : null;
  }
  return DOMAIN.test(value) ? { kind: 'domain', value } : null;
}

const pattern = z
  .string()
  .trim()
  .max(320)
  .refine((s) => parseSenderPattern(s) !== null, { message: 'an address (name@example.jp) or a domain (example.jp, punycode for IDNs)' })
  .transform((s) => s.toLowerCase());

/** One entry of the allow or exclusion list. */
export const senderEntrySchema = z.object({ sender: pattern, note: z.string().trim().max(200).default('') }).strict();
export type SenderEntry = z.infer<typeof senderEntrySchema>;

const authWords = ['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy'] as const satisfies readonly AuthResultWord[];
/** A result word, or `not-evaluated` when the check was not run (no DNS, no connecting IP). */
const authCondition = z.array(z.enum([...authWords, 'not-evaluated'])).min(1);
export type AuthCondition = z.infer<typeof authCondition>[number];

const levels = ['verified', 'unverified', 'suspicious'] as const satisfies readonly SenderLevel[];

/** When a rule applies: every condition given must hold; within one, any of the values. */
const whenSchema = z
  .object({
    /** The From header's or the envelope sender's address, or its domain (subdomains included). */
    sender: z.array(pattern).min(1).optional(),
    spf: authCondition.optional(),
    /** Any DKIM signature's result; `none` for an unsigned message. */
    dkim: authCondition.optional(),
    dmarc: authCondition.optional(),
    /** true: some recipient has had no mail from this sender within the first-contact window (unknown never matches). */
    firstContact: z.literal(true).optional(),
    /** Some recipient is in one of these groups (senders.groups). */
    recipientGroup: z.array(z.string().min(1)).min(1).optional(),
    /** The core's assessment of the sender (never matches when there is none). */
    level: z.array(z.enum(levels)).min(1).optional(),
  })
  .strict();

/** What a rule does: each only ever stricter than the policy. */
const thenSchema = z
  .object({
    /** Every image is delivered as a page of a new PDF, not as a re-encoded image. */
    images: z.literal('pdf-page').optional(),
    /** The original is released only with the approval of two different administrators. */
    approvals: z.literal(2).optional(),
    /** The original is kept in quarantine even when quarantine.keepOriginals would not keep it. */
    quarantine: z.literal(true).optional(),
    /** Only the notice is delivered; the original is kept in quarantine. */
    block: z.literal(true).optional(),
  })
  .strict()
  .refine((t) => Object.keys(t).length > 0, { message: 'a rule must do something: images, approvals, quarantine or block' });

export const senderRuleSchema = z.object({ name: z.string().trim().min(1).max(64), when: whenSchema.default({}), then: thenSchema }).strict();
export type SenderRule = z.infer<typeof senderRuleSchema>;

const groupName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only');

const domainName = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/, 'a domain in ASCII (IDN domains as punycode, xn--…)');

/** An organisation a sender may pretend to be: the names it goes by and the domains it sends from. */
const organisation = z
  .object({
    names: z.array(z.string().trim().min(2).max(100)).max(20).default([]),
    domains: z.array(domainName).max(50).default([]),
  })
  .strict();

export const sendersSchema = z
  .object({
    allow: z.array(senderEntrySchema).max(100_000).default([]),
    exclude: z.array(senderEntrySchema).max(100_000).default([]),
    /** Recipient groups: a name and its members (addresses, or domains with their subdomains). */
    groups: z.record(groupName, z.array(pattern).min(1)).default({}),
    rules: z.array(senderRuleSchema).max(1000).default([]),
    /** The municipality itself: look-alikes of these domains, and display names naming it from elsewhere, are suspicious. */
    own: organisation.prefault({}),
    /** Partners whose look-alike domains and names are suspicious too (a bank, a contractor, the prefecture). */
    partners: z.array(organisation).max(500).default([]),
    /** First contact: no mail from this sender to the recipient within these days; 0 turns the check off. */
    firstContactDays: z.number().int().min(0).max(3650).default(90),
    /** Put in front of the subject, once, of a mail whose sender is suspicious (なりすましの疑い); empty for none. */
    subjectTag: z.string().max(64).default('[なりすまし注意]'),
  })
  .strict()
  .superRefine((s, ctx) => {
    for (const [i, rule] of s.rules.entries()) {
      for (const g of rule.when.recipientGroup ?? []) {
        if (!(g in s.groups)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'when', 'recipientGroup'], message: `no group named ${g} in senders.groups` });
      }
    }
  });
export type SendersPolicy = z.infer<typeof sendersSchema>;
