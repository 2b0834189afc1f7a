// Attachment names are hostile text: they may hide an extension behind a
// right-to-left override, stack extensions ("請求書.pdf.exe"), carry folder
// names, or be missing. This makes a name safe to show and to deliver.
import type { FindingCode } from './findings.js';
import { cleanText } from './text-clean.js';

export interface SafeName {
  /** The name with disguising characters removed, safe to show and to deliver. */
  name: string;
  /** The lowercase last extension, if any. */
  ext: string | null;
  /**
   * The extension the name shows a reader when it is disguised: the one before
   * the last in "請求書.pdf.exe", the one a right-to-left override puts at the
   * end ("議事録\u202Efdp.scr" reads "議事録rcs.pdf"). Null when not disguised.
   */
  claimedExt: string | null;
  findings: FindingCode[];
}

const BIDI_OR_INVISIBLE = /[\u202A-\u202E\u2066-\u2069\u200B-\u200F\u061C\uFEFF]/g;
const WINDOWS_RESERVED = /[<>:"|?*]/g;
const MAX_NAME_CHARS = 150;

// Extensions people recognise as documents or pictures; one of these followed
// by another extension is the classic disguise.
const FAMILIAR = new Set([
  'pdf',
  'doc',
  'docx',
  'xls',
  'xlsx',
  'ppt',
  'pptx',
  'txt',
  'csv',
  'rtf',
  'jpg',
  'jpeg',
  'png',
  'gif',
  'bmp',
  'tif',
  'tiff',
  'odt',
  'ods',
  'odp',
  'jtd',
  'hwp',
  'zip',
  'lzh',
  'mp3',
  'mp4',
  'html',
  'htm',
]);

// Hyphens allowed inside: Windows runs ".settingcontent-ms", ".appref-ms",
// ".library-ms" and ".search-ms" files, and with no extension found for them
// classify's list of script extensions could never match those names.
const extOf = (name: string): string | null => {
  const m = /\.([A-Za-z0-9](?:[A-Za-z0-9-]{0,16}[A-Za-z0-9])?)$/.exec(name);
  return m?.[1] ? m[1].toLowerCase() : null;
};

const isSpaceOrDot = (c: string): boolean => c === '.' || /\s/.test(c);

/**
 * Leading and trailing whitespace and dots gone (Windows drops trailing ones,
 * which would reveal a hidden extension). A loop from each end: the regular
 * expression /[\s.]+$/ retried every run of them that is not at the end, and
 * a name of 60,000 " ." took seconds.
 */
function trimSpacesAndDots(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isSpaceOrDot(s[start]!)) start++;
  while (end > start && isSpaceOrDot(s[end - 1]!)) end--;
  return s.slice(start, end);
}

/**
 * How a name with right-to-left overrides (U+202E) reads: each overridden run,
 * up to a pop (U+202C) or the end, is shown reversed. Enough to tell what an
 * RLO disguise shows; other bidi controls do not reorder Latin letters.
 */
export function apparentName(untrusted: string): string {
  let out = '';
  for (let i = 0; i < untrusted.length; i++) {
    if (untrusted[i] !== '\u202E') {
      out += untrusted[i];
      continue;
    }
    let end = untrusted.indexOf('\u202C', i + 1);
    if (end < 0) end = untrusted.length;
    out += [...untrusted.slice(i + 1, end)].reverse().join('');
    i = end;
  }
  return out.replace(BIDI_OR_INVISIBLE, '');
}

export function neutraliseName(untrusted: string | null, fallback: string): SafeName {
  const findings: FindingCode[] = [];
  let name = untrusted ?? '';
  let claimedExt: string | null = null;
  if (BIDI_OR_INVISIBLE.test(name)) {
    findings.push('name-bidi-control');
    claimedExt = extOf(apparentName(name.split(/[\\/]/).pop() ?? ''));
  }
  // cleanText keeps TAB and LF; neither belongs in a file name (Windows refuses
  // TAB like every other C0 control), so both become a space.
  name = cleanText(name.replace(BIDI_OR_INVISIBLE, '')).text.replace(/[\t\n]/g, ' ');
  const lastPart = name.split(/[\\/]/).pop() ?? '';
  if (lastPart !== name) findings.push('name-path');
  name = trimSpacesAndDots(lastPart.replace(WINDOWS_RESERVED, '_'));

  // Looked for before truncating: "請求書.pdf<200 spaces>.exe", the classic
  // padding disguise, was cut to "請求書.pdf   ….exe", whose inner part is no
  // longer "pdf", so the finding was lost exactly when the disguise was used.
  const parts = name.split('.');
  const last = parts.length > 1 ? parts[parts.length - 1]?.toLowerCase() : undefined;
  const inner = parts.length > 2 ? parts[parts.length - 2]?.trim().toLowerCase() : undefined;
  if (inner && last && FAMILIAR.has(inner) && inner !== last && !(inner === 'tar' && last === 'gz')) {
    findings.push('name-double-extension');
    claimedExt ??= inner;
  }

  const chars = [...name];
  if (chars.length > MAX_NAME_CHARS) {
    const ext = extOf(name);
    name = chars.slice(0, MAX_NAME_CHARS - (ext ? ext.length + 2 : 1)).join('') + '…' + (ext ? `.${ext}` : '');
  }
  if (!name) name = fallback;
  return { name, ext: extOf(name), claimedExt, findings };
}

const SAME_EXT: Record<string, readonly string[]> = {
  jpg: ['jpg', 'jpeg', 'jpe'],
  png: ['png'],
  txt: ['txt'],
  pdf: ['pdf'],
  csv: ['csv'],
};

/** The delivered name: the safe name, plus the extension of what it now is. */
export function deliveredName(safe: SafeName, newExt: 'jpg' | 'png' | 'txt' | 'pdf' | 'csv'): string {
  if (safe.ext && SAME_EXT[newExt]?.includes(safe.ext) && !safe.findings.includes('name-double-extension')) {
    return safe.name;
  }
  return `${safe.name}.${newExt}`;
}

export interface SafeMemberPath extends SafeName {
  /** The folders and name inside the archive, neutralised, joined with "/": shown in the notice. */
  shown: string;
}

// A drive ("C:") or a UNC/absolute start: extracting such a name would write
// outside the folder the user picked.
const DRIVE = /^[A-Za-z]:$/;

/**
 * A path inside an archive ("資料/図1.png"): each folder and the name made
 * safe, ".." and drives dropped. Delivered flat, folders joined by "_"
 * ("資料_図1.png"), since mail attachments have no folders.
 */
export function neutraliseMemberPath(untrusted: string, fallback: string): SafeMemberPath {
  const findings = new Set<FindingCode>();
  let claimedExt: string | null = null;
  const raw = untrusted.split(/[\\/]+/);
  const segments: string[] = [];
  let unsafe = /^[\\/]/.test(untrusted);
  for (const [i, seg] of raw.entries()) {
    if (seg === '..' || (i === 0 && DRIVE.test(seg))) {
      unsafe = true;
      continue;
    }
    if (seg === '' || seg === '.') continue;
    const safe = neutraliseName(seg, '_');
    for (const f of safe.findings) if (f !== 'name-double-extension') findings.add(f);
    if (safe.findings.includes('name-bidi-control')) claimedExt = safe.claimedExt;
    segments.push(safe.name);
  }
  if (unsafe) findings.add('archive-path-unsafe');
  const flat = neutraliseName(segments.join('_') || fallback, fallback);
  for (const f of flat.findings) findings.add(f);
  return { name: flat.name, ext: flat.ext, claimedExt: claimedExt ?? flat.claimedExt, shown: segments.join('/') || fallback, findings: [...findings] };
}
