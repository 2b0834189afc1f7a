// Ambiguous structure: a header that decides how a part is split or decoded,
// or a parameter of its Content-Type, given twice. Readers disagree on which
// one counts, so one message can show a scanner one thing and a mail client
// another. We read the first occurrence (mailsplit and mailparser 3.14 do, for
// the headers and for the parameters alike) and report the duplicate.
import type { HeaderLine } from '@zone-eu/mailsplit';

const STRUCTURAL: ReadonlyMap<string, string> = new Map([
  ['content-type', 'Content-Type'],
  ['content-transfer-encoding', 'Content-Transfer-Encoding'],
  ['mime-version', 'MIME-Version'],
]);

/** At most this many names, each at most NAME_CHARS long, go into a detail. */
const MAX_NAMES = 3;
const NAME_CHARS = 32;

/** `name`, `name*`, `name*0`, `name*0*` start a value; `name*1` and on continue one. */
function parameterName(name: string): { base: string; first: boolean } {
  const bare = name.endsWith('*') ? name.slice(0, -1) : name;
  const star = bare.lastIndexOf('*');
  const section = star < 0 ? null : bare.slice(star + 1);
  if (section === null || !/^\d*$/.test(section)) return { base: bare, first: true };
  return { base: bare.slice(0, star), first: section === '' || Number(section) === 0 };
}

/**
 * The names of the parameters of one header value that are given twice. A
 * parameter's value starts at `name`, `name*` (RFC 2231) or `name*0`/`name*0*`
 * (the first of its continuations); two starts of the same name are two values.
 * Quotes are honoured, comments are not: a comment that hides a second
 * `boundary=` from one reader and not from another is itself ambiguous.
 */
export function duplicateParameters(value: string): string[] {
  const seen = new Set<string>();
  const twice: string[] = [];
  let start = value.indexOf(';');
  if (start < 0) return twice;
  let quoted = false;
  for (let i = start + 1; i <= value.length; i++) {
    const c = value[i];
    if (quoted && c === '\\') {
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (i < value.length && (quoted || c !== ';')) continue;
    const segment = value.slice(start + 1, i);
    start = i;
    const eq = segment.indexOf('=');
    const untrustedName = (eq < 0 ? segment : segment.slice(0, eq)).trim().toLowerCase();
    const { base, first } = parameterName(untrustedName);
    if (base === '' || !first) continue;
    if (seen.has(base)) {
      if (!twice.includes(base)) twice.push(base);
    } else {
      seen.add(base);
    }
    // Past MAX_NAMES nothing more is reported, but the scan stays linear.
    if (twice.length >= MAX_NAMES) break;
  }
  return twice;
}

const valueOf = (line: string): string => line.slice(line.indexOf(':') + 1);
const printable = (s: string): string => s.replace(/[^\x21-\x7e]/g, '?').slice(0, NAME_CHARS);

/** What one part's header block gives twice, as short names: `Content-Type`, `Content-Type parameter boundary`. */
export function ambiguities(lines: readonly HeaderLine[]): string[] {
  const counted = new Set<string>();
  const found: string[] = [];
  let contentType: string | null = null;
  for (const { key, line } of lines) {
    const name = STRUCTURAL.get(key);
    if (name === undefined) continue;
    if (counted.has(key)) {
      if (!found.includes(name)) found.push(name);
    } else {
      counted.add(key);
      if (key === 'content-type') contentType = valueOf(line);
    }
  }
  // Only the Content-Type that counts (the first) decides anything.
  if (contentType !== null) for (const p of duplicateParameters(contentType)) found.push(`Content-Type parameter ${printable(p)}`);
  return found;
}

/** Collects the names over a whole message, bounded, for a finding's detail. */
export class AmbiguityLog {
  private readonly names: string[] = [];

  add(lines: readonly HeaderLine[]): void {
    if (this.names.length >= MAX_NAMES) return;
    for (const n of ambiguities(lines)) if (!this.names.includes(n) && this.names.length < MAX_NAMES) this.names.push(n);
  }

  /** The finding's detail, or null when nothing was given twice. */
  detail(): string | null {
    return this.names.length > 0 ? this.names.join(', ') : null;
  }
}
