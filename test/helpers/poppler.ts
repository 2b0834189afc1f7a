// poppler's own tools on a PDF we made: an independent reading of its text and fonts.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** Runs pdffonts or pdftotext (with `args` before the file) on `pdf`, written into `work`. */
export function poppler(work: string, tool: 'pdffonts' | 'pdftotext', pdf: Uint8Array, ...args: string[]): string {
  const file = path.join(work, `${tool}-${Math.random().toString(36).slice(2)}.pdf`);
  writeFileSync(file, pdf);
  return execFileSync(tool, tool === 'pdftotext' ? [...args, file, '-'] : [file], { encoding: 'utf8' });
}

/** Text without its white space: what a search for a sentence matches. */
export const squeezed = (text: string): string => text.replace(/\s+/g, '');
