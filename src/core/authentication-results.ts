// Our own Authentication-Results header (RFC 8601) on the delivered message,
// written from the facts the relay found at receipt. The original's
// Authentication-Results and ARC headers never cross: this is the only one.
// Every value in it came from the Internet (DNS answers, the sender's
// headers), so only domain names that look like domain names are written as
// properties, and reasons go into comments as bounded printable ASCII.
import type { AuthenticationFacts, AuthResultWord } from '../model/sender-trust.js';

const DOMAIN = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const SELECTOR = /^[A-Za-z0-9._-]{1,63}$/;
const COMMENT_MAX = 120;

const domainOrNull = (d: string | null): string | null => (d && DOMAIN.test(d) ? d.toLowerCase() : null);

/** A comment: printable ASCII only, no parentheses or backslashes, bounded. */
export function arComment(text: string): string {
  const clean = text
    .replace(/[^\x20-\x7e]+/g, ' ')
    .replace(/[()\\]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return clean.length > COMMENT_MAX ? `${clean.slice(0, COMMENT_MAX - 3)}...` : clean;
}

const clause = (method: string, result: AuthResultWord, detail: string, props: ReadonlyArray<[string, string | null]>): string => {
  const c = arComment(detail);
  const shown = props.filter((p): p is [string, string] => p[1] !== null).map(([k, v]) => `${k}=${v}`);
  return [`${method}=${result}`, ...(c ? [`(${c})`] : []), ...shown].join(' ');
};

/**
 * The header's value, folded one method per line: `authserv-id; spf=...;
 * dkim=...; dmarc=...; arc=...`. SPF that was not evaluated (no connecting
 * address) is left out, as RFC 8601 lets a method that did not run be.
 */
export function authenticationResults(facts: AuthenticationFacts): string {
  const clauses: string[] = [];
  if (facts.spf) {
    // The null sender's SPF is the HELO name's.
    const domain = domainOrNull(facts.spf.domain);
    clauses.push(clause('spf', facts.spf.result, facts.spf.detail, [[facts.spf.identity === 'helo' ? 'smtp.helo' : 'smtp.mailfrom', domain]]));
  }
  if (facts.dkim.length === 0) clauses.push('dkim=none (message not signed)');
  for (const d of facts.dkim) {
    clauses.push(
      clause('dkim', d.result, d.detail, [
        ['header.d', domainOrNull(d.domain)],
        ['header.s', d.selector && SELECTOR.test(d.selector) ? d.selector : null],
      ]),
    );
  }
  const dm = facts.dmarc;
  clauses.push(clause('dmarc', dm.result, dm.policy ? `p=${dm.policy}` : dm.detail, [['header.from', domainOrNull(dm.domain)]]));
  if (facts.arc) clauses.push(clause('arc', facts.arc.result, facts.arc.detail, []));
  const id = domainOrNull(facts.authservId) ?? 'localhost';
  return [`${id};`, ...clauses.map((c, i) => (i < clauses.length - 1 ? `${c};` : c))].join('\r\n ');
}
