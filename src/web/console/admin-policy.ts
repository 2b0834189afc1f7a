// The policy page: the policy in force (read-only, with its fingerprint and
// when it last changed), and its allow and exclusion lists (senders.allow,
// senders.exclude) downloaded as the CSV `mugaika policy senders export` writes (audited, as
// every download from the console is), and replaced from a pasted CSV with
// the very checks and file rewrite of `mugaika policy senders import`
// (src/policy/sender-lists.ts), audited as `policy-changed` with the
// administrator and the reason. The gateway reads its policy once, at start:
// a change takes effect when it restarts, and the page says so.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Policy } from '../../core/policy.js';
import { OperatorError } from '../../model/operator-error.js';
import { importSenderListsAudited, parseSenderCsv, readPolicyFile, SenderCsvError, senderListsCsv, type CsvProblem } from '../../policy/sender-lists.js';
import { policyFingerprint } from '../../relay/lifecycle.js';
import type { CurrentSession } from '../../users/sessions.js';
import type { AdminDeps } from './admin-deps.js';
import { stringify } from 'yaml';
import { adminMessages } from './admin-messages.js';
import { actorOf, adminPage, formField } from './admin-routes.js';
import { esc, table, when } from './html.js';
import type { Kit } from './kit.js';
import type { Lang } from './messages.js';
import { policyListsMessages } from './policy-lists-messages.js';

/** A pasted CSV in a form body (percent-encoded: up to three times its size); the console's other forms stay at 16 KiB. */
const IMPORT_BODY_LIMIT = 1024 * 1024;
const REASON_MAX = 2000;
/** Mistakes listed on the page; the rest are counted. */
const SHOWN_PROBLEMS = 50;

/** What the section shows besides the lists: the outcome of an import, and the form as it was sent. */
interface SectionState {
  done?: { allow: number; exclude: number; same: boolean };
  error?: string;
  problems?: readonly CsvProblem[];
  csv?: string;
  reason?: string;
}

/** Text for a <pre> or a textarea, line by line: esc() writes each line break out as <U+000A>. */
const escLines = (text: string): string => text.split(/\r?\n/).map(esc).join('\n');

/** The policy page: the policy in force, read-only, with `section` (the lists) between its summary and its text. */
async function policyPage(k: Kit, a: AdminDeps, reply: FastifyReply, me: CurrentSession, lang: Lang, code: number, section: string): Promise<FastifyReply> {
  const w = adminMessages[lang];
  const changes = await a.vault.store.searchAudit({ actions: ['policy-changed'] });
  const last = changes.at(-1);
  const body = `<p>${esc(w.policyHint)}</p>${table(
    ['', ''],
    [
      [w.fingerprint, policyFingerprint(a.policy)],
      [w.changedAt, last ? when(last.time, lang) : w.neverChanged],
    ],
    '',
  )}${section}<pre class="policy">${escLines(stringify(a.policy))}</pre>`;
  return adminPage(k, reply, me, lang, code, w.policyHeading, body);
}

/** The policy file as it is now, or why it cannot be read (a broken file is shown, not thrown). */
async function fileState(file: string): Promise<{ policy: Policy } | { error: string }> {
  try {
    return { policy: await readPolicyFile(file) };
  } catch (err) {
    if (err instanceof OperatorError) return { error: err.message };
    throw err;
  }
}

/** The lists' section of the policy page. */
async function sendersSection(a: AdminDeps, reply: FastifyReply, lang: Lang, s: SectionState = {}): Promise<string> {
  const w = policyListsMessages[lang];
  const parts: string[] = [`<h3>${esc(w.heading)}</h3>`, `<p>${esc(w.inForce(a.policy.senders.allow.length, a.policy.senders.exclude.length))}</p>`];
  if (s.done) parts.push(`<p class="notice" role="status">${esc(w.done(s.done.allow, s.done.exclude))}${s.done.same ? esc(w.same) : ''}</p>`);
  if (s.error) parts.push(`<p class="error" role="alert">${esc(s.error)}</p>`);
  if (s.problems?.length) {
    const more = s.problems.length > SHOWN_PROBLEMS ? `<li>${esc(w.more(s.problems.length - SHOWN_PROBLEMS))}</li>` : '';
    parts.push(
      `<ul class="error">${s.problems
        .slice(0, SHOWN_PROBLEMS)
        .map((p) => `<li>${esc(w.problem(p.line, p.ja, p.en))}</li>`)
        .join('')}${more}</ul>`,
    );
  }
  const download = `<p><a href="/admin/policy/senders.csv" download>${esc(w.download)}</a> ${esc(a.policyFile ? w.downloadFromFile : w.downloadInForce)}</p>`;
  if (!a.policyFile) return `<section>${parts.join('')}${download}<p>${esc(w.noFile)}</p></section>`;
  const now = await fileState(a.policyFile);
  if ('error' in now) parts.push(`<p class="error">${esc(now.error)}</p>`);
  else if (policyFingerprint(now.policy) !== policyFingerprint(a.policy)) parts.push(`<p class="notice">${esc(w.notApplied)}</p>`);
  parts.push(download);
  parts.push(`<h3>${esc(w.replaceHeading)}</h3><p>${esc(w.replaceHint)}</p><p>${esc(w.reload)}</p>
<form method="post" action="/admin/policy/senders"><input type="hidden" name="_csrf" value="${esc(reply.generateCsrf())}">
<p><label>${esc(w.csvLabel)}<br><textarea name="csv" rows="14" cols="80" required spellcheck="false">\n${escLines(s.csv ?? '')}</textarea></label></p>
<p><label>${esc(w.reasonLabel)}<br><input type="text" name="reason" size="60" maxlength="${REASON_MAX}" required value="${esc(s.reason ?? '')}"></label></p>
<p><button type="submit">${esc(w.submit)}</button></p></form>`);
  return `<section>${parts.join('')}</section>`;
}

/** The done note of a redirect after an import, from its query. */
const doneOf = (q: unknown): SectionState['done'] => {
  const { senders, allow, exclude, same } = (q ?? {}) as Record<string, string | undefined>;
  if (senders !== 'done' || !/^\d{1,6}$/.test(allow ?? '') || !/^\d{1,6}$/.test(exclude ?? '')) return undefined;
  return { allow: Number(allow), exclude: Number(exclude), same: same === '1' };
};

/** Imports from the console run one at a time: two administrators never rewrite the file over each other. */
let queue: Promise<unknown> = Promise.resolve();
const oneAtATime = <T>(run: () => Promise<T>): Promise<T> => {
  const next = queue.then(run, run);
  queue = next.catch(() => undefined);
  return next;
};

export function registerAdminPolicy(c: FastifyInstance, k: Kit, csrfProtection: unknown): void {
  const a = k.d.admin;
  if (!a) return;

  c.get('/admin/policy', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await k.signedIn(req, reply, lang, ['admin']);
    if (!('user' in me)) return me;
    return policyPage(k, a, reply, me, lang, 200, await sendersSection(a, reply, lang, { done: doneOf(req.query) }));
  });

  c.get('/admin/policy/senders.csv', async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await k.signedIn(req, reply, lang, ['admin']);
    if (!('user' in me)) return me;
    let policy = a.policy;
    if (a.policyFile) {
      const now = await fileState(a.policyFile);
      if ('error' in now) return policyPage(k, a, reply, me, lang, 409, await sendersSection(a, reply, lang));
      policy = now.policy;
    }
    const csv = senderListsCsv(policy);
    // Audited before a byte leaves: a download that cannot be recorded does not happen.
    await a.vault.audit.append({
      actor: actorOf(me),
      action: 'policy-exported',
      object: a.policyFile ?? null,
      details: { section: 'senders', fingerprint: policyFingerprint(policy), allow: policy.senders.allow.length, exclude: policy.senders.exclude.length, client: req.ip },
    });
    return reply.code(200).header('content-type', 'text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="senders.csv"').header('x-content-type-options', 'nosniff').send(csv);
  });

  c.post('/admin/policy/senders', { preHandler: csrfProtection as never, bodyLimit: IMPORT_BODY_LIMIT }, async (req, reply) => {
    const lang = k.langOf(req, reply);
    const me = await k.signedIn(req, reply, lang, ['admin']);
    if (!('user' in me)) return me;
    return importFromForm(k, a, req, reply, me, lang);
  });
}

async function importFromForm(k: Kit, a: AdminDeps, req: FastifyRequest, reply: FastifyReply, me: CurrentSession, lang: Lang): Promise<FastifyReply> {
  const w = policyListsMessages[lang];
  // A byte order mark copied along with the text is not part of it.
  const csv = (formField(req, 'csv') ?? '').replace(/^\uFEFF/, '');
  const reason = (formField(req, 'reason') ?? '').trim().slice(0, REASON_MAX);
  const again = async (code: number, s: SectionState): Promise<FastifyReply> => policyPage(k, a, reply, me, lang, code, await sendersSection(a, reply, lang, { csv, reason, ...s }));
  if (!a.policyFile) return again(409, { error: w.noFile });
  if (!csv.trim()) return again(400, { error: w.csvRequired });
  if (!reason) return again(400, { error: w.reasonRequired });
  const file = a.policyFile;
  try {
    // The CLI's checks, row by row, then its rewrite of the file, recorded first.
    const lists = parseSenderCsv(Buffer.from(csv, 'utf8'), 'CSV');
    const change = await oneAtATime(() => importSenderListsAudited(file, lists, a.vault.audit, { actor: actorOf(me), reason, source: 'console', client: req.ip }));
    return reply.redirect(`/admin/policy?senders=done&allow=${change.allow}&exclude=${change.exclude}${change.before === change.after ? '&same=1' : ''}`, 303);
  } catch (err) {
    if (err instanceof SenderCsvError && err.problems.length > 0) return again(400, { error: w.hasErrors, problems: err.problems });
    // The file changed meanwhile, or the lists would make the policy invalid: said as the CLI says it.
    if (err instanceof OperatorError) return again(409, { error: `${w.notChanged} ${err.message.replace(/\s*\n\s*/g, ' ')}` });
    throw err;
  }
}
