// HTML bodies become text. Scripts, styles, forms and embedded objects are
// dropped; images become "[画像: alt]"; links are shown inert next to their
// text, and a link whose text names another host than its target is disclosed
// with a warning line. Tables stay tables: rows of aligned columns
// (html-table.ts), or one cell per line when that does not fit.
import { compile, type DomNode, type FormatCallback } from 'html-to-text';
import { defangUrl, hostNamedIn, hostOf, sameSite } from './defang.js';
import { capHtmlDepth } from './html-depth.js';
import { dataTable } from './html-table.js';
import type { Labels } from './labels.js';

export interface HtmlText {
  text: string;
  activeContentRemoved: number;
  remoteImagesRemoved: number;
  /** Hosts whose visible text and target differ: "claimed -> actual". */
  mismatchedLinks: string[];
}

const textContent = (node: DomNode): string => (node.type === 'text' ? (node.data ?? '') : (node.children ?? []).map(textContent).join(''));

const attr = (node: DomNode, name: string): string => {
  const v = (node as DomNode & { attribs?: Record<string, string> }).attribs?.[name];
  return typeof v === 'string' ? v.trim() : '';
};

const DROPPED = ['noscript', 'form', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'template', 'button', 'input', 'select', 'textarea'];

/** Per-conversion state, handed to the formatters as html-to-text's metadata. */
interface Conversion {
  found: HtmlText;
  labels: Labels;
}

const state = (builder: { metadata?: unknown }): Conversion => builder.metadata as Conversion;

const anchor: FormatCallback = (elem, walk, builder) => {
  const { found, labels } = state(builder as never);
  walk(elem.children, builder);
  const href = attr(elem, 'href');
  if (!href || href.startsWith('#')) return;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(href)?.[1]?.toLowerCase();
  if (scheme === 'mailto') {
    builder.addInline(` [${href.slice(7).split('?')[0] ?? ''}]`, { noWordTransform: true });
    return;
  }
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'ftp') {
    // javascript:, data:, file:, vbscript:, relative links: nothing to show.
    if (scheme) found.activeContentRemoved++;
    return;
  }
  builder.addInline(` [${defangUrl(href)}]`, { noWordTransform: true });
  const target = hostOf(href);
  const claimed = hostNamedIn(textContent(elem));
  if (target && claimed && !sameSite(claimed, target)) {
    found.mismatchedLinks.push(`${claimed} -> ${target}`);
    builder.addLineBreak();
    builder.addInline(labels.linkMismatch(claimed, target), { noWordTransform: true });
    builder.addLineBreak();
  }
};

const image: FormatCallback = (elem, _walk, builder) => {
  const { found, labels } = state(builder as never);
  const src = attr(elem, 'src');
  if (/^(https?:)?\/\//i.test(src)) found.remoteImagesRemoved++;
  const alt = attr(elem, 'alt').replace(/\s+/g, ' ');
  if (alt) builder.addInline(labels.image(alt), { noWordTransform: true });
};

const drop: FormatCallback = (_elem, _walk, builder) => {
  state(builder as never).found.activeContentRemoved++;
};

// Compiled once: building html-to-text's selector tree costs more than most conversions.
const convertHtml = compile({
  wordwrap: false,
  // maxDepth stays above html-depth.ts's cap, so that no text becomes an ellipsis.
  limits: { maxInputLength: 8_000_000, maxDepth: 200, ellipsis: '…' },
  formatters: { mugaikaAnchor: anchor, mugaikaImage: image, mugaikaDrop: drop, mugaikaTable: dataTable },
  selectors: [
    { selector: 'a', format: 'mugaikaAnchor' },
    { selector: 'table', format: 'mugaikaTable' },
    // The rows and cells of a layout table (one that holds tables) are blocks: one cell per line.
    ...['tr', 'td', 'th'].map((selector) => ({ selector, format: 'block', options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } })),
    { selector: 'img', format: 'mugaikaImage' },
    { selector: 'style', format: 'skip' },
    { selector: 'head', format: 'skip' },
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } })),
    ...DROPPED.map((selector) => ({ selector, format: 'mugaikaDrop' })),
  ],
}) as (html: string, metadata: Conversion) => string;

export function htmlToText(html: string, labels: Labels): HtmlText {
  const found: HtmlText = { text: '', activeContentRemoved: 0, remoteImagesRemoved: 0, mismatchedLinks: [] };
  // html-to-text never hands <script> elements to a formatter: count them here.
  found.activeContentRemoved += html.match(/<script\b/gi)?.length ?? 0;
  found.text = convertHtml(capHtmlDepth(html), { found, labels });
  return found;
}
