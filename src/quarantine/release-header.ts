// The header put in front of a released original: who released it. The actor
// is operator input, so it is reduced to one safe header line (no CR/LF, no
// controls; non-ASCII as an RFC 2047 encoded word).
import { encodeWord } from 'nodemailer/lib/mime-funcs';

export function releasedByHeader(actor: string, eol: '\r\n' | '\n'): Buffer {
  const clean = actor.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, 200) || 'unknown';
  const value = /^[\x20-\x7e]*$/.test(clean) ? clean : encodeWord(clean, 'B', 0);
  return Buffer.from(`X-Mugaika-Released-By: ${value}${eol}`, 'utf8');
}

/** The original with the header prepended, using the original's own line ending. */
export function withReleasedBy(raw: Buffer, actor: string): Buffer {
  const firstLf = raw.indexOf(0x0a);
  const eol = firstLf > 0 && raw[firstLf - 1] === 0x0d ? '\r\n' : firstLf >= 0 ? '\n' : '\r\n';
  return Buffer.concat([releasedByHeader(actor, eol), raw]);
}
