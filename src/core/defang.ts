// Links are shown, never clickable: the scheme is broken (hxxps) and every dot
// of the host is bracketed (example[.]jp), the convention CSIRTs use, so that no
// LGWAN mail client turns the text back into a link.

const SCHEMES: Record<string, string> = { http: 'hxxp', https: 'hxxps', ftp: 'fxp' };

// A URL as it appears in running text: stops at whitespace, quotes, angle
// brackets and Japanese brackets or punctuation.
const URL_IN_TEXT = /\b(https?|ftp):\/\/([^\s<>"'`\u3000-\u303F\uFF08\uFF09\uFF3B\uFF3D]+)/gi;
const WWW_IN_TEXT = /(?<![\w.[\]/@-])(www\.[a-z0-9-]+(?:\.[a-z0-9-]+)+)/gi;

const bracketDots = (s: string): string => s.replace(/\./g, '[.]');

/** Defangs one absolute http(s)/ftp URL; anything else comes back unchanged. */
export function defangUrl(url: string): string {
  const m = /^(https?|ftp):\/\/([^/?#]*)(.*)$/is.exec(url.trim());
  if (!m) return url;
  const [, scheme = '', authority = '', rest = ''] = m;
  return `${SCHEMES[scheme.toLowerCase()] ?? scheme}://${bracketDots(authority)}${rest}`;
}

export interface DefangedText {
  text: string;
  count: number;
}

/** Defangs every URL and www. host that occurs in running text. */
export function defangText(text: string): DefangedText {
  let count = 0;
  const out = text
    .replace(URL_IN_TEXT, (whole) => {
      count++;
      return defangUrl(whole);
    })
    .replace(WWW_IN_TEXT, (host) => {
      count++;
      return bracketDots(host);
    });
  return { text: out, count };
}

/** The host a URL points at, lowercased, or null when it has none we can read. */
export function hostOf(url: string): string | null {
  try {
    const u = new URL(url.trim());
    return u.hostname ? u.hostname.toLowerCase().replace(/\.$/, '') : null;
  } catch {
    return null;
  }
}

// A host name written in visible link text: "https://www.city.example.lg.jp/…",
// "www.example.jp" or "example.co.jp".
const HOST_IN_TEXT = /(?:[a-z][a-z0-9+.-]*:\/\/)?(?:[^\s/@]+@)?((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63})\b/i;

/** The host that a link's visible text claims to lead to, if it names one. */
export function hostNamedIn(visibleText: string): string | null {
  const m = HOST_IN_TEXT.exec(visibleText.trim());
  return m?.[1] ? m[1].toLowerCase() : null;
}

/** True when `target` is `claimed` or one of its subdomains. */
export function sameSite(claimed: string, target: string): boolean {
  const a = claimed.replace(/^www\./, '');
  const b = target.replace(/^www\./, '');
  return a === b || b.endsWith(`.${a}`);
}
