// What every route of the console answers to each kind of visitor: the table
// route-roles.test.ts walks (every route the server registers must have a
// row). A request is made as a browser makes it: a GET plain, a POST with the
// form's CSRF token of that visitor's own session and a body its form would
// send. `→ /x` is a 303 to /x; `:id` and `:name` in a URL or a redirect are
// the row's real item id and user name. HEAD is answered for /healthz only
// (as its GET); every other HEAD is a 404, since fastify's HEAD twin of a GET
// ran the GET handler (and audited a download that sent nothing).

/** A status, or a 303 to this address. */
export type Want = number | `→ ${string}`;
export const visitors = ['anonymous', 'staff', 'admin', 'auditor'] as const;
export type Visitor = (typeof visitors)[number];

/** The items the test quarantines, all addressed to the staff member. */
export type ItemName =
  /** An exe: the staff member asks for it, an administrator approves. */
  | 'requested'
  /** An exe an administrator rejects. */
  | 'rejected'
  /** An encrypted zip the staff member opens with its password. */
  | 'ppap'
  /** An encrypted zip the staff member locked with five wrong passwords. */
  | 'locked';

export interface Row extends Record<Visitor, Want> {
  method: 'GET' | 'POST';
  url: string;
  /** The item `:id` stands for (by default `requested`). */
  item?: ItemName;
  /** The form fields besides `_csrf` (for a POST). */
  form?: Form;
}

/**
 * What a form of this route sends: `otherSession` is the id of another clerk's
 * session, `queueId` an entry of the delivery queue, `enrolment` the TOTP
 * enrolment the visitor's own account page offers (with a right code), if any.
 */
export type Form = (f: { otherSession: string; queueId: string; enrolment: () => Promise<{ ticket: string; code: string } | null> }) => Record<string, string> | Promise<Record<string, string>>;

const LOGIN = '→ /login';
const row = (route: `${'GET' | 'POST'} /${string}`, anonymous: Want, staff: Want, admin: Want, auditor: Want, more: { item?: ItemName; form?: Form } = {}): Row => {
  const [method, url] = route.split(' ') as ['GET' | 'POST', string];
  return { method, url, anonymous, staff, admin, auditor, ...more };
};

export const OTHER_STAFF = 'sato';
export const OTHER_PASSWORD = 'another long passphrase';
export const NEW_PASSWORD = 'a brand new passphrase 42';
export const PPAP_PASSWORD = 'ppap-Secret-1234';

/**
 * Every route of the console's listener, in the order the test asks them
 * (what one row changes, a later row may need). Columns: route, then what
 * anonymous, staff (職員), admin (管理者) and auditor (監査者) get.
 */
export const consoleRoutes: readonly Row[] = [
  // The ops endpoints share the console's listener unless web.opsListen moves them.
  row('GET /healthz', 200, 200, 200, 200),
  row('GET /metrics', 200, 200, 200, 200),
  row('GET /console.css', 200, 200, 200, 200),
  row('GET /', LOGIN, 200, 200, 200),
  // Login steps: a signed-in visitor is sent on; the form logs in whoever it names (here another clerk).
  row('GET /login', 200, '→ /', '→ /', '→ /'),
  row('POST /login', '→ /', '→ /', '→ /', '→ /', { form: () => ({ name: OTHER_STAFF, password: OTHER_PASSWORD }) }),
  row('GET /login/code', LOGIN, LOGIN, LOGIN, LOGIN),
  row('POST /login/code', '→ /login?expired=1', '→ /login?expired=1', '→ /login?expired=1', '→ /login?expired=1', { form: () => ({ code: '123456' }) }),
  row('GET /login/enrol', LOGIN, LOGIN, LOGIN, LOGIN),
  row('POST /login/enrol', '→ /login?expired=1', '→ /login?expired=1', '→ /login?expired=1', '→ /login?expired=1', { form: () => ({ ticket: 'x', code: '123456' }) }),
  // One's own account: every role.
  row('GET /account', LOGIN, 200, 200, 200),
  // Another user's session id: nobody ends it from their own account page.
  row('POST /account/sessions/end', LOGIN, '→ /account?ended=1', '→ /account?ended=1', '→ /account?ended=1', { form: ({ otherSession }) => ({ id: otherSession }) }),
  row('POST /account/password', LOGIN, 200, 200, 200, { form: () => ({ current: 'correct horse battery', next: NEW_PASSWORD, confirm: NEW_PASSWORD }) }),
  // Staff may enrol a second factor; administrators and auditors already have one.
  row('GET /account/enrol', LOGIN, 200, '→ /account', '→ /account'),
  row('POST /account/enrol', LOGIN, 200, '→ /account', '→ /account', { form: async ({ enrolment }) => (await enrolment()) ?? { ticket: 'none', code: '123456' } }),
  // The staff member's items.
  row('GET /items', LOGIN, 200, 403, 403),
  row('GET /items/:id', LOGIN, 200, 403, 403),
  row('POST /items/:id/request', LOGIN, '→ /items/:id?requested=1', 403, 403, { form: () => ({ reason: '取引先からの見積書で、内容を確認する必要があります。' }) }),
  row('GET /items/:id/unlock', LOGIN, 200, 403, 403, { item: 'ppap' }),
  row('POST /items/:id/unlock', LOGIN, 200, 403, 403, { item: 'ppap', form: () => ({ password: PPAP_PASSWORD }) }),
  // The administrator's pages.
  row('GET /admin/sessions', LOGIN, 403, 200, 403),
  row('POST /admin/sessions/end', LOGIN, 403, '→ /admin/sessions?ended=1', 403, { form: ({ otherSession }) => ({ id: otherSession }) }),
  row('GET /admin/items/:id', LOGIN, 403, 200, 403),
  row('GET /admin/items/:id/original', LOGIN, 403, 200, 403),
  row('POST /admin/items/:id/approve', LOGIN, 403, '→ /admin/items/:id?done=released&n=1', 403, { form: () => ({ comment: '業務上必要と確認しました。' }) }),
  row('POST /admin/items/:id/reject', LOGIN, 403, '→ /admin/items/:id?done=rejected', 403, { item: 'rejected', form: () => ({ comment: '実行ファイルのため渡せません。' }) }),
  row('GET /admin/items/:id/unlock-reset', LOGIN, 403, 200, 403, { item: 'locked' }),
  row('POST /admin/items/:id/unlock-reset', LOGIN, 403, 200, 403, { item: 'locked', form: () => ({ user: 'tanaka' }) }),
  row('GET /admin/search', LOGIN, 403, 200, 403),
  row('GET /admin/queue', LOGIN, 403, 200, 403),
  row('POST /admin/queue/retry', LOGIN, 403, '→ /admin/queue?done=1', 403, { form: () => ({ id: '' }) }),
  row('POST /admin/queue/bounce', LOGIN, 403, '→ /admin/queue?done=1', 403, { form: ({ queueId }) => ({ id: queueId }) }),
  row('GET /admin/policy', LOGIN, 403, 200, 403),
  row('GET /admin/policy/senders.csv', LOGIN, 403, 200, 403),
  // The test's policy file takes the pasted lists (a 409 without one).
  row('POST /admin/policy/senders', LOGIN, 403, '→ /admin/policy?senders=done&allow=1&exclude=1', 403, {
    form: () => ({ csv: 'list,sender,note\r\nallow,partner.example.lg.jp,協定先\r\nexclude,spam.example,\r\n', reason: '取引先の追加' }),
  }),
  row('GET /admin/users', LOGIN, 403, 200, 403),
  row('POST /admin/users', LOGIN, 403, 200, 403, { form: () => ({ name: 'yamada', displayName: '山田', role: 'staff', email: 'yamada@city.example.lg.jp', password: 'yamada long passphrase' }) }),
  row('POST /admin/users/:name', LOGIN, 403, 200, 403, { form: () => ({ op: 'email', email: 'sato-new@city.example.lg.jp' }) }),
  // The auditor's pages (read-only; starting a verification is recorded).
  row('GET /audit', LOGIN, 403, 403, 200),
  row('GET /audit/export.csv', LOGIN, 403, 403, 200),
  row('GET /audit/export.jsonl', LOGIN, 403, 403, 200),
  row('GET /audit/verify', LOGIN, 403, 403, 200),
  row('POST /audit/verify', LOGIN, 403, 403, '→ /audit/verify?started=1'),
  row('GET /audit/report', LOGIN, 403, 403, 200),
  row('GET /audit/report.csv', LOGIN, 403, 403, 200),
  row('GET /audit/print.css', 200, 200, 200, 200),
  // Last: it ends the session the rows above use.
  row('POST /logout', '→ /login?out=1', '→ /login?out=1', '→ /login?out=1', '→ /login?out=1'),
];
