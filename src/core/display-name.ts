// Whether a From display name names someone other than the sender: an address
// or a domain that is not the sender's ("総務課 soumu@city.example.lg.jp"
// <x@free-mail.example>), or an organisation the policy knows by name whose
// domains the sender's is not among ("山田市役所" <x@free-mail.example>).
// The name is read as the clerk sees it: format characters (bidi overrides,
// zero-width spaces, soft hyphens) are dropped, and full-width letters read
// as half-width (NFKC). The work is linear in the name: what is left after
// dropping those and collapsing spaces is read up to MAX_NAME_CHARS.
import { within } from './look-alike.js';

export interface KnownOrganisation {
  names: readonly string[];
  domains: readonly string[];
}

/**
 * Characters of a display name read, after invisible ones are dropped and
 * spaces collapsed. The header block is bounded already (limits.maxHeaderBytes);
 * this keeps the work per name bounded whatever that limit is.
 */
export const MAX_NAME_CHARS = 65_536;

/** Characters of what the name names that the notice shows. */
const MAX_SHOWN = 100;

// Top-level domains that make a dotted word a domain ("Example.co.jp"), not an abbreviation ("J.Smith", "Ver.2").
const TLDS: ReadonlySet<string> = new Set([
  'jp',
  'com',
  'net',
  'org',
  'info',
  'biz',
  'io',
  'co',
  'me',
  'us',
  'uk',
  'cn',
  'kr',
  'tw',
  'hk',
  'ru',
  'de',
  'fr',
  'app',
  'dev',
  'xyz',
  'top',
  'online',
  'site',
  'shop',
  'gov',
  'edu',
]);

/** The display name as it reads on screen: no format characters, full-width as half-width, lower case. */
export function readableName(untrusted: string): string {
  // Invisible characters and runs of spaces go first, so that padding cannot push a name out of what is read.
  return untrusted
    .replace(/\p{Cf}/gu, '')
    .replace(/\s+/gu, ' ')
    .slice(0, MAX_NAME_CHARS)
    .normalize('NFKC')
    .toLowerCase();
}

/** Whitespace is how a name is spaced, not what it says: "山田 市役所" names 山田市役所. */
const compact = (s: string): string => s.replace(/\s+/gu, '');

/** Domains written in the name, with or without a local part, in order. */
function domainsIn(name: string): string[] {
  const out: string[] = [];
  // One pass: a run of domain characters with at least one dot, ending in a known TLD.
  for (const m of name.matchAll(/[a-z0-9@._-]+/g)) {
    const word = m[0].replace(/^[._-]+|[._-]+$/g, '');
    const at = word.lastIndexOf('@');
    const domain = at >= 0 ? word.slice(at + 1) : word;
    const labels = domain.split('.');
    if (labels.length >= 2 && labels.every((l) => l.length > 0) && TLDS.has(labels.at(-1)!)) out.push(at > 0 ? word : domain);
  }
  return out;
}

/**
 * What the display name names that is not the sender (an address, a domain,
 * or an organisation's name as the policy gives it), or null.
 */
export function namesOther(untrustedName: string, senderDomain: string | null, known: readonly KnownOrganisation[]): string | null {
  const name = readableName(untrustedName);
  if (!name) return null;
  const ours = (domain: string): boolean => senderDomain !== null && (within(senderDomain, domain) || within(domain, senderDomain));
  for (const written of domainsIn(name)) {
    const domain = written.slice(written.lastIndexOf('@') + 1);
    // What the notice shows stays short: the address, else its domain, else the domain's end.
    if (!ours(domain)) return written.length <= MAX_SHOWN ? written : domain.length <= MAX_SHOWN ? domain : `…${domain.slice(-MAX_SHOWN)}`;
  }
  const flat = compact(name);
  for (const org of known) {
    if (org.domains.some(ours)) continue;
    const named = org.names.find((n) => flat.includes(compact(readableName(n))));
    if (named) return named;
  }
  return null;
}
