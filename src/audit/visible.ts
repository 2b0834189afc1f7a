// Text that came from outside (a login name someone typed, a browser's
// User-Agent) shown to a person: characters that are invisible, or that
// reorder what follows (bidi overrides such as U+202E, zero-width spaces, line
// and paragraph separators, control characters), are written out as <U+202E>,
// so that the auditor's page, a CSV opened in Excel and a terminal all show
// exactly what was there.
/** The characters written out (a class of a `u` regular expression, without its brackets). */
export const HIDDEN_CHARS = String.raw`\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\u115F\u1160\u3164\uFFA0`;
const HIDDEN = new RegExp(`[${HIDDEN_CHARS}]`, 'gu');

const mark = (c: string): string => `<U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}>`;

/** `text` with every hidden or reordering character written as <U+XXXX>. */
export const visible = (text: string): string => text.replace(HIDDEN, mark);

/** Whether `text` has any such character. */
const HIDDEN_ONE = new RegExp(HIDDEN.source, 'u');
export const hasHidden = (text: string): boolean => HIDDEN_ONE.test(text);
