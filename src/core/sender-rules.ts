// Which of the policy's sender rules apply to a message, and the treatment
// they add up to. Pure: it reads the facts found at receipt (SenderFacts), the
// sender's addresses, the recipients and, when the core has made one, its
// assessment of the sender. Rules only add strictness, so they are merged by
// "or" (and the larger approval count): no combination can loosen anything.
import { domainToASCII } from 'node:url';
import type { SenderAssessment, SenderFacts } from '../model/sender-trust.js';
import { parseSenderPattern, type AuthCondition, type SenderPattern, type SenderRule, type SendersPolicy } from './sender-policy.js';

export interface SenderContext {
  /** The From header's address and the envelope sender (either may be missing). */
  addresses: readonly (string | null | undefined)[];
  /** The envelope recipients, or the To header's when there is no envelope. */
  recipients: readonly string[];
  facts: SenderFacts | null;
  assessment: SenderAssessment | null;
}

/** Why a message is blocked whole. */
export type SenderBlock = { by: 'dmarc-reject'; domain: string } | { by: 'exclude'; entry: string } | { by: 'rule'; rule: string };

/**
 * What the sender rules add to the policy. Each field only ever adds: false or
 * null means "as the policy says", never less.
 */
export interface SenderTreatment {
  block: SenderBlock | null;
  /** Keep the original even when quarantine.keepOriginals would not. */
  keepOriginal: boolean;
  /** Deliver every image as a page of a new PDF. */
  imagesAsPdf: boolean;
  /** Two administrators must approve a release, whatever release.approvals says. */
  twoApprovals: boolean;
  /** The rules that applied, by name, for the audit record and the notice. */
  rules: readonly string[];
}

export const NO_TREATMENT: SenderTreatment = { block: null, keepOriginal: false, imagesAsPdf: false, twoApprovals: false, rules: [] };

/** `Keiri@ＥＸＡＭＰＬＥ.jp` → `keiri@example.jp`, the domain in punycode; null for what is not an address. */
function normalised(address: string | null | undefined): { address: string; domain: string } | null {
  if (!address) return null;
  const at = address.lastIndexOf('@');
  if (at <= 0) return null;
  const domain = domainToASCII(address.slice(at + 1).trim());
  if (!domain) return null;
  return { address: `${address.slice(0, at).trim().toLowerCase()}@${domain}`, domain };
}

const matches = (p: SenderPattern, a: { address: string; domain: string }): boolean => (p.kind === 'address' ? p.value === a.address : a.domain === p.value || a.domain.endsWith(`.${p.value}`));

const matchesAny = (patterns: readonly string[], a: { address: string; domain: string }): boolean =>
  patterns.some((text) => {
    const p = parseSenderPattern(text);
    return p !== null && matches(p, a);
  });

/** The words an authentication condition is checked against. */
function authWords(facts: SenderFacts | null): { spf: AuthCondition[]; dkim: AuthCondition[]; dmarc: AuthCondition[] } {
  const auth = facts?.authentication;
  if (!auth) return { spf: ['not-evaluated'], dkim: ['not-evaluated'], dmarc: ['not-evaluated'] };
  return {
    spf: [auth.spf ? auth.spf.result : 'not-evaluated'],
    dkim: auth.dkim.length > 0 ? auth.dkim.map((d) => d.result) : ['none'],
    dmarc: [auth.dmarc.result],
  };
}

function ruleApplies(rule: SenderRule, ctx: SenderContext, senders: readonly { address: string; domain: string }[], groups: SendersPolicy['groups']): boolean {
  const w = rule.when;
  if (w.sender && !senders.some((s) => matchesAny(w.sender!, s))) return false;
  const words = authWords(ctx.facts);
  for (const key of ['spf', 'dkim', 'dmarc'] as const) {
    const wanted = w[key];
    if (wanted && !words[key].some((word) => wanted.includes(word))) return false;
  }
  if (w.firstContact && !(ctx.facts?.firstContactFor && ctx.facts.firstContactFor.length > 0)) return false;
  if (w.level && !(ctx.assessment && w.level.includes(ctx.assessment.level))) return false;
  if (w.recipientGroup) {
    const rcpts = ctx.recipients.flatMap((r) => normalised(r) ?? []);
    const members = w.recipientGroup.flatMap((g) => groups[g] ?? []);
    if (!rcpts.some((r) => matchesAny(members, r))) return false;
  }
  return true;
}

/** The treatment the policy's `senders` section gives this message. */
export function senderTreatment(policy: SendersPolicy, ctx: SenderContext): SenderTreatment {
  const senders = ctx.addresses.flatMap((a) => normalised(a) ?? []);
  const dmarc = ctx.facts?.authentication?.dmarc;
  let block: SenderBlock | null = null;
  // The default rule: the From domain asks receivers to reject what fails DMARC, and this did.
  if (dmarc && dmarc.result === 'fail' && dmarc.policy === 'reject') block = { by: 'dmarc-reject', domain: dmarc.domain ?? '' };
  const excluded = policy.exclude.find((e) => senders.some((s) => matchesAny([e.sender], s)));
  if (!block && excluded) block = { by: 'exclude', entry: excluded.sender };
  const applied = policy.rules.filter((r) => ruleApplies(r, ctx, senders, policy.groups));
  const blocking = applied.find((r) => r.then.block);
  if (!block && blocking) block = { by: 'rule', rule: blocking.name };
  return {
    block,
    // A blocked message's original is always kept.
    keepOriginal: block !== null || applied.some((r) => r.then.quarantine),
    imagesAsPdf: applied.some((r) => r.then.images === 'pdf-page'),
    twoApprovals: applied.some((r) => r.then.approvals === 2),
    rules: applied.map((r) => r.name),
  };
}

/**
 * Whether the From address is on the allow list: the notice may then soften
 * its first-contact and look-alike warnings. Nothing else reads it: the
 * sanitization and every block stay as they are.
 */
export function isAllowedSender(policy: SendersPolicy, from: string | null | undefined): boolean {
  const a = normalised(from);
  return a !== null && policy.allow.some((e) => matchesAny([e.sender], a));
}
