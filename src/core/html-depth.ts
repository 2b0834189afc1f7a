// HTML nested deeper than any real mail is flattened before it is parsed.
// htmlparser2 (10.1) keeps its stack of open elements innermost-first and
// grows it with unshift, so every start tag costs the depth so far: 100,000
// nested <div> took 17 s, and 8 MB of them would take hours. Browsers cap the
// parser's depth (Blink at 512); this does the same in one pass of
// htmlparser2's own tokenizer, which keeps no stack: a start tag that would
// open one element too many is left out, and so is its end tag, while the text
// inside them stays (an end tag that closes nothing open is left out anyway).
// The cap is below html-to-text's maxDepth (200 in html-text.ts), past which it
// writes an ellipsis instead of the text. Only markup is lost, never words.
import { Tokenizer } from 'htmlparser2';

/** Open elements at most: real mail (nested tables, a long thread of quoted replies) stays well under it. */
export const MAX_HTML_DEPTH = 128;

// How far down the open elements an end tag is looked for. An end tag that
// matches nothing this close to the top is dropped: htmlparser2 searches its
// whole stack for it, which is again a cost per tag that grows with depth.
const END_TAG_REACH = 64;

// Elements that never have content (htmlparser2's list).
const VOID = new Set(['area', 'base', 'basefont', 'br', 'col', 'command', 'embed', 'frame', 'hr', 'img', 'input', 'isindex', 'keygen', 'link', 'meta', 'param', 'source', 'track', 'wbr']);

// Elements whose content the tokenizer reads as raw text: kept whatever the
// depth, or their script or style would turn into visible text. They close
// themselves, so they never make the document deeper than one more level.
const RAW_TEXT = new Set(['script', 'style', 'title', 'textarea', 'xmp']);

// Start tags that close the open element on top first, exactly as htmlparser2
// does (a subset of its table: leaving a rule out only overestimates depth,
// which is safe; adding one it lacks would not be).
const P = new Set(['p']);
const CLOSES: ReadonlyMap<string, ReadonlySet<string>> = new Map<string, ReadonlySet<string>>([
  ['tr', new Set(['tr', 'th', 'td'])],
  ['th', new Set(['th'])],
  ['td', new Set(['thead', 'th', 'td'])],
  ['li', new Set(['li'])],
  ['option', new Set(['option'])],
  ['dd', new Set(['dd', 'dt'])],
  ['dt', new Set(['dd', 'dt'])],
  ...['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'div', 'ul', 'ol', 'table', 'pre', 'blockquote', 'dl', 'form', 'hr', 'section', 'header', 'footer', 'nav', 'article', 'aside', 'address', 'main'].map(
    (tag): [string, ReadonlySet<string>] => [tag, P],
  ),
]);

/**
 * Whether the HTML has at least `limit` start tags, counted as htmlparser2's
 * tokenizer starts them ("<" and an ASCII letter): with fewer, no element can
 * be nested that deep, and the pass below is not needed.
 */
function startTagsAtLeast(html: string, limit: number): boolean {
  let n = 0;
  for (let i = html.indexOf('<'); i >= 0; i = html.indexOf('<', i + 1)) {
    const c = html.charCodeAt(i + 1) | 0x20;
    if (c >= 0x61 && c <= 0x7a && ++n >= limit) return true;
  }
  return false;
}

/** The HTML with start and end tags beyond MAX_HTML_DEPTH left out; the same string when none are. */
export function capHtmlDepth(html: string, maxDepth = MAX_HTML_DEPTH): string {
  if (!startTagsAtLeast(html, maxDepth)) return html;
  const open: string[] = [];
  // [start, end) of the markup left out, in order.
  const cut: number[] = [];
  let dropping = -1; // where the start tag being read began, when it is left out
  const nameAt = (start: number, end: number): string => html.slice(start, end).toLowerCase();
  const endOfStartTag = (endIndex: number): void => {
    if (dropping >= 0) cut.push(dropping, endIndex + 1);
    dropping = -1;
  };
  const tokenizer = new Tokenizer(
    { decodeEntities: false },
    {
      onopentagname(start, end) {
        const name = nameAt(start, end);
        const closes = CLOSES.get(name);
        while (closes && open.length > 0 && closes.has(open[open.length - 1]!)) open.pop();
        if (VOID.has(name)) return;
        if (open.length >= maxDepth && !RAW_TEXT.has(name)) {
          dropping = start - 1;
          return;
        }
        open.push(name);
      },
      onopentagend: endOfStartTag,
      onselfclosingtag: endOfStartTag,
      onclosetag(start, end) {
        const closing = nameAt(start, end);
        const from = Math.max(0, open.length - END_TAG_REACH);
        for (let at = open.length - 1; at >= from; at--) {
          if (open[at] === closing) {
            open.length = at;
            return;
          }
        }
        // htmlparser2 turns a stray </p> and </br> into elements of their own.
        if (closing === 'p' || closing === 'br') return;
        const gt = html.indexOf('>', end);
        if (gt >= 0) cut.push(start - 2, gt + 1);
      },
      onattribdata() {},
      onattribentity() {},
      onattribend() {},
      onattribname() {},
      oncdata() {},
      oncomment() {},
      ondeclaration() {},
      onend() {},
      onprocessinginstruction() {},
      ontext() {},
      ontextentity() {},
    },
  );
  tokenizer.write(html);
  tokenizer.end();
  if (cut.length === 0) return html;
  const kept: string[] = [];
  let from = 0;
  for (let i = 0; i < cut.length; i += 2) {
    kept.push(html.slice(from, cut[i]));
    from = cut[i + 1]!;
  }
  kept.push(html.slice(from));
  return kept.join('');
}
