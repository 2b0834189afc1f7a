// A staff member's other mail addresses (aliases: a shared mailbox such as
// 総務, an old address) on the administrator's users page: shown beside the
// mail address, edited with one form per user, saved through the user
// directory's setAliases (checked there, audited as `user-changed` with the
// old and new lists, the user's sessions ended). Directory (LDAP) users get
// the form too: the directory gives one address, and their aliases are kept
// across logins.
import { esc } from './html.js';
import type { Lang } from './messages.js';

export const aliasMessages = {
  ja: {
    aliases: '別名のアドレス',
    aliasesButton: '別名を変更',
    aliasesHint: '複数あるときはカンマで区切ります。空にすると別名はなくなります。',
  },
  en: {
    aliases: 'Other addresses (aliases)',
    aliasesButton: 'Change aliases',
    aliasesHint: 'Separate several with commas. Leave empty to remove them all.',
  },
} as const satisfies Record<Lang, Record<string, string>>;

/** The longest aliases field read (20 addresses of 254 characters and their separators). */
const MAX_INPUT = 20 * 256;

/** The addresses typed in the form: separated by commas, semicolons, spaces or new lines; none when empty. */
export const parseAliases = (input: string | null): string[] =>
  (input ?? '')
    .slice(0, MAX_INPUT)
    .split(/[\s,;、，]+/u)
    .filter((a) => a !== '');

/** The aliases as the form shows them: one line, separated by commas (esc() shows a new line as <U+000A>). */
export const aliasField = (lang: Lang, aliases: readonly string[]): string =>
  `<input name="aliases" type="text" size="40" maxlength="${MAX_INPUT}" value="${esc(aliases.join(', '))}" aria-label="${esc(aliasMessages[lang].aliases)}" title="${esc(aliasMessages[lang].aliasesHint)}">`;
