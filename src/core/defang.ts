// Links are shown, never clickable. One left-to-right pass finds every spelling
// a browser, Windows or a mail client would open: scheme URLs with any slashes
// or none (https:\\host, https:host, xhttps://), schemes Windows opens without
// slashes (ms-msdt:, search-ms:, javascript:), UNC paths (\\host\share) and
// www./ftp. hosts. http, https and ftp become hxxp, hxxps and fxp (what CSIRTs
// and our notice use), any other scheme keeps its name with its colon broken
// (file[:]///), and every dot of a host is bracketed (example[.]jp), so that
// no LGWAN mail client turns the text back into a link.
//
// The pass is linear: each anchor (":", "\\", "www.", "ftp.") is looked at
// once, the look back for a scheme name is bounded, and what a rewrite
// consumes is never scanned again.

/** Schemes that Windows, a browser or a mail client opens without any slash after the colon. */
const OPAQUE = new Set([
  'http',
  'https',
  'ftp',
  'javascript',
  'vbscript',
  'livescript',
  'data',
  'file',
  'blob',
  'view-source',
  'jar',
  'mhtml',
  'mk',
  'its',
  'ms-its',
  'hcp',
  'shell',
  'ms-msdt',
  'search-ms',
  'search',
  'ms-search',
  'ms-officecmd',
  'ms-word',
  'ms-excel',
  'ms-powerpoint',
  'ms-access',
  'ms-visio',
  'ms-project',
  'ms-publisher',
  'ms-infopath',
  'ms-spd',
  'ms-settings',
  'ms-appinstaller',
  'ms-cxh',
  'ms-cxh-full',
  'ms-windows-store',
  'ms-appx',
  'ms-appx-web',
  'ms-gamingoverlay',
  'ms-rd',
  'ms-remotedesktop',
  'ms-teams',
  'msteams',
  'microsoft-edge',
  'ms-browser-extension',
  'telnet',
  'rlogin',
  'tn3270',
  'news',
  'nntp',
  'snews',
  'gopher',
  'wais',
  'prospero',
  'ldap',
  'ldaps',
  'smb',
  'cifs',
  'nfs',
  'afp',
  'webdav',
  'dav',
  'ssh',
  'sftp',
  'ftps',
  'scp',
  'irc',
  'ircs',
  'sip',
  'sips',
  'callto',
  'skype',
  'zoommtg',
  'zoomus',
  'itms-services',
  'itms',
  'itms-apps',
  'rdp',
  'vnc',
  'feed',
  'webcal',
  'onenote',
  'outlook',
  'notes',
]);

/** Our own defanged spellings: already inert, only their host's dots may need brackets. */
const OWN = new Set(['hxxp', 'hxxps', 'fxp']);
const BROKEN: Record<string, string> = { http: 'hxxp', https: 'hxxps', ftp: 'fxp' };
/** Addresses are not dangerous, and Japanese signatures write "TEL:03-…". */
const LEFT_ALONE = new Set(['mailto', 'tel']);

/** Scheme names that end a longer token ("xhttps", "_https") and are read as themselves. */
const SUFFIX_SCHEMES = ['https', 'http', 'hxxps', 'hxxp', 'ftp', 'fxp'] as const;

/** How far back from a colon a scheme name is looked for. */
const MAX_SCHEME = 40;

const ANCHORS = /:|\\\\|www\.|ftp\./gi;

// Character classes by code unit, not a regular expression per character:
// this pass runs over every text we deliver.
const isAsciiLetter = (c: number): boolean => (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
/** What JavaScript's \s matches. */
const isSpace = (c: number): boolean =>
  c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;

/** Where a link ends in running text: whitespace, quotes, angle brackets, Japanese punctuation and brackets (NaN: past the end). */
const endsLink = (c: number): boolean =>
  !(c >= 0) || isSpace(c) || c === 0x22 || c === 0x27 || c === 0x60 || c === 0x3c || c === 0x3e || (c >= 0x3000 && c <= 0x303f) || c === 0xff08 || c === 0xff09 || c === 0xff3b || c === 0xff3d;
/** Where a host ends: the path (/ or \\), query or fragment, or the end of the link. */
const endsHostAt = (c: number): boolean => endsLink(c) || c === 0x2f || c === 0x5c || c === 0x3f || c === 0x23;
const isSchemeCode = (c: number): boolean => isAsciiLetter(c) || isDigit(c) || c === 0x2b || c === 0x2e || c === 0x2d;

const codeAt = (c: string | undefined): number => (c === undefined ? NaN : c.charCodeAt(0));
const isEnd = (ch: string | undefined): boolean => endsLink(codeAt(ch));
const isSchemeChar = (ch: string | undefined): boolean => isSchemeCode(codeAt(ch));
const isLetter = (ch: string | undefined): boolean => isAsciiLetter(codeAt(ch));
const endsHost = (ch: string | undefined): boolean => endsHostAt(codeAt(ch));

/** Brackets every dot not already bracketed: "a.b[.]c" -> "a[.]b[.]c". */
const bracketDots = (s: string): string => (s.includes('.') ? s.replace(/\[\.\]|\./g, (m) => (m === '.' ? '[.]' : m)) : s);

/** A run of two or more backslashes is shown as "[\\]" so that no "\\host" (a UNC path) is left. */
const breakBackslashes = (run: string): string => (run.length >= 2 ? `[${run}]` : run);

interface Rewrite {
  /** Where the replaced text starts and ends in the input. */
  start: number;
  end: number;
  text: string;
  /** The host that follows `end` and ends here: its dots are bracketed as it is copied. */
  hostEnd: number;
}

/** The end of a run of slashes and backslashes from `i` (after our own schemes, "[\\]" too). */
function separatorsEnd(text: string, i: number, own: boolean): number {
  let j = i;
  for (;;) {
    if (text[j] === '/' || text[j] === '\\') {
      j++;
      continue;
    }
    // Our own "[\\]", from an earlier pass.
    let k = j + 1;
    while (own && text[j] === '[' && text[k] === '\\') k++;
    if (k - j > 2 && text[k] === ']') j = k + 1;
    else return j;
  }
}

/** The separators as they will be shown: backslash pairs broken. */
function showSeparators(seps: string): string {
  if (!seps.includes('\\')) return seps;
  return seps.replace(/\[\\+\]|\\{2,}/g, (run) => (run.startsWith('[') ? run : breakBackslashes(run)));
}

/**
 * A link at the colon at `colon`. `floor`: nothing before it is looked at.
 * `hostUntil`: where the host being copied ends; no host ends before it.
 */
function atColon(text: string, colon: number, floor: number, hostUntil: number): Rewrite | null {
  // Most colons in text ("10:00", "注意:") end no scheme name.
  if (!isSchemeCode(text.charCodeAt(colon - 1)) || endsLink(text.charCodeAt(colon + 1))) return null;
  let from = colon;
  while (from > floor && colon - from < MAX_SCHEME && isSchemeCode(text.charCodeAt(from - 1))) from--;
  const token = text.slice(from, colon).toLowerCase();
  // The scheme starts at a letter ("1https" is "https"), and a name ending in
  // http, https or ftp ("xhttps", "_https") is read as that scheme.
  let at = 0;
  while (at < token.length && !isLetter(token[at])) at++;
  for (const s of SUFFIX_SCHEMES) {
    if (token.length - at > s.length && token.endsWith(s)) {
      at = token.length - s.length;
      break;
    }
  }
  const scheme = token.slice(at);
  // "C:\Users" is a drive, not a scheme.
  if (scheme.length < 2 || LEFT_ALONE.has(scheme)) return null;
  const sepEnd = separatorsEnd(text, colon + 1, OWN.has(scheme));
  const hierarchical = sepEnd > colon + 1 && !isEnd(text[sepEnd]);
  const opaque = sepEnd === colon + 1 && !isEnd(text[colon + 1]) && (OPAQUE.has(scheme) || OWN.has(scheme));
  if (!hierarchical && !opaque) return null;
  // A link inside a host ("ms-word:ofe|u|https://…") ends where that host does:
  // scanning from there keeps the pass linear.
  let hostEnd = Math.max(sepEnd, hostUntil);
  while (!endsHostAt(text.charCodeAt(hostEnd))) hostEnd++;
  const start = from + at;
  const name = text.slice(start, colon);
  const shownScheme = OWN.has(scheme) ? `${name}:` : BROKEN[scheme] ? `${BROKEN[scheme]}:` : `${name}[:]`;
  return { start, end: sepEnd, text: `${shownScheme}${showSeparators(text.slice(colon + 1, sepEnd))}`, hostEnd };
}

/** "\\host\share" (or "\\host" with a dot in it): a UNC path, which Windows opens over SMB. */
function atBackslashes(text: string, at: number): Rewrite | { skipTo: number } {
  let runEnd = at;
  while (text[runEnd] === '\\') runEnd++;
  // Our own "[\\]", and "C:\\Users" (a drive in an escaped path), are no UNC path.
  const ours = text[at - 1] === '[' && text[runEnd] === ']';
  const drive = text[at - 1] === ':' && isLetter(text[at - 2]) && !isSchemeChar(text[at - 3]);
  if (ours || drive || text[at - 1] === '\\') return { skipTo: runEnd };
  let hostEnd = runEnd;
  while (!isEnd(text[hostEnd]) && text[hostEnd] !== '\\' && text[hostEnd] !== '/') hostEnd++;
  const host = text.slice(runEnd, hostEnd);
  const share = text[hostEnd] === '\\' || text[hostEnd] === '/';
  if (host === '' || (!share && !host.includes('.'))) return { skipTo: runEnd };
  return { start: at, end: runEnd, text: breakBackslashes(text.slice(at, runEnd)), hostEnd };
}

/** "www.example.jp", "ftp.example.jp": a host some clients make a link of, glued to other text or not. */
function atHostPrefix(text: string, at: number): Rewrite | { skipTo: number } {
  // An address (info@www.example.jp) is not a link to a web site.
  if (text[at - 1] === '@') return { skipTo: at + 4 };
  let end = at;
  let dots = 0;
  while (!endsHost(text[end]) && text[end] !== ':') {
    if (text[end] === '.') dots++;
    end++;
  }
  if (dots < 2) return { skipTo: end };
  return { start: at, end, text: bracketDots(text.slice(at, end)), hostEnd: end };
}

export interface DefangedText {
  text: string;
  /** Links found: made inert here, or already shown inert (hxxps://). */
  count: number;
}

/** Makes every link in running text inert, in one linear pass. */
export function defangText(text: string): DefangedText {
  // One shared regex: this function runs to completion without calling itself.
  const anchors = ANCHORS;
  anchors.lastIndex = 0;
  const out: string[] = [];
  let done = 0;
  let count = 0;
  // The host of the last link found ends here. It is scanned like any text
  // (a link hidden in it, "ms-word:ofe|u|https://…", is found) and its dots
  // are bracketed as it is copied.
  let hostUntil = 0;
  const copyTo = (upTo: number): void => {
    const h = Math.min(upTo, hostUntil);
    if (done < h) out.push(bracketDots(text.slice(done, h)));
    out.push(text.slice(Math.max(done, h), upTo));
    done = upTo;
  };
  let m: RegExpExecArray | null;
  while ((m = anchors.exec(text)) !== null) {
    const at = m.index;
    const c = text[at];
    const found =
      c === ':'
        ? (atColon(text, at, done, hostUntil) ?? { skipTo: at + 1 })
        : c === '\\'
          ? atBackslashes(text, at)
          : at < hostUntil
            ? { skipTo: at + 4 } // www. within a host already being bracketed
            : atHostPrefix(text, at);
    if ('skipTo' in found) {
      anchors.lastIndex = found.skipTo;
      continue;
    }
    copyTo(found.start);
    out.push(found.text);
    done = found.end;
    hostUntil = Math.max(hostUntil, found.hostEnd);
    count++;
    // What follows is scanned too (a path or query may hide another link),
    // but what was rewritten is not looked at again.
    anchors.lastIndex = found.end;
  }
  copyTo(text.length);
  return { text: out.join(''), count };
}

/** Defangs one URL (an href): the same rewrite as in running text. */
export const defangUrl = (url: string): string => defangText(url.trim()).text;

/** The host a URL points at, lowercased, or null when it has none we can read. */
export function hostOf(url: string): string | null {
  try {
    const u = new URL(url.trim());
    return u.hostname ? u.hostname.toLowerCase().replace(/\.$/, '') : null;
  } catch {
    return null;
  }
}

/** How much of a link's visible text is looked at for a host name. */
const MAX_LINK_TEXT = 4096;

const isHostChar = (ch: string | undefined): boolean => {
  const c = codeAt(ch);
  return isAsciiLetter(c) || isDigit(c) || c === 0x2e || c === 0x2d;
};
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const TOP_LABEL = /^[a-z]{2,63}$/;

const isHostName = (s: string): boolean => {
  const labels = s.split('.');
  return labels.length >= 2 && labels.every((l) => LABEL.test(l)) && TOP_LABEL.test(labels[labels.length - 1] ?? '');
};

/**
 * The host that a link's visible text claims to lead to, if it names one:
 * "https://www.city.example.lg.jp/…", "www.example.jp" or "example.co.jp".
 * The first run of host characters that is a host name wins; a run right
 * before "@" is a user name and a run right before ":" a scheme or user name
 * (unless a port follows). Linear, and bounded to the first 4,096 characters.
 */
export function hostNamedIn(visibleText: string): string | null {
  const text = visibleText.trim().slice(0, MAX_LINK_TEXT);
  let i = 0;
  while (i < text.length) {
    if (!isHostChar(text[i])) {
      i++;
      continue;
    }
    const start = i;
    while (isHostChar(text[i])) i++;
    const next = text[i];
    if (next === '@') continue;
    if (next === ':') {
      let j = i + 1;
      while (j < text.length && isDigit(text.charCodeAt(j))) j++;
      const port = j > i + 1 && text[j] !== '@' && !isHostChar(text[j]) && text[j] !== ':';
      if (!port) continue;
    }
    let a = start;
    let b = i;
    while (a < b && (text[a] === '.' || text[a] === '-')) a++;
    while (b > a && (text[b - 1] === '.' || text[b - 1] === '-')) b--;
    const run = text.slice(a, b).toLowerCase();
    if (isHostName(run)) return run;
  }
  return null;
}

/** True when `target` is `claimed` or one of its subdomains. */
export function sameSite(claimed: string, target: string): boolean {
  const a = claimed.replace(/^www\./, '');
  const b = target.replace(/^www\./, '');
  return a === b || b.endsWith(`.${a}`);
}
