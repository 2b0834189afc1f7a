// Console page benchmark:  npx tsx bench/console.ts [--postgres] [--quick] [--data DIR] [--only TEXT] [--repeats N]
//
// Fills a store (SQLite, or with --postgres a private PostgreSQL cluster as
// the tests start) with 1,000,000 audit records (a valid, signed chain:
// mail through the relay over a year, a tenth of it quarantined) and the
// 100,000 quarantined items they tell of, then measures each page's server
// time (over HTTP on 127.0.0.1, signed in as the role that uses it; median
// and p95 of repeated requests) beside a plain indexed SELECT of the same
// rows on the same database, by a plain client of it (better-sqlite3, or
// node-postgres over 127.0.0.1). Server time is fastify's own (reply.elapsedTime:
// from the request's arrival to the page written to the socket), what an
// access log records; the time at the client is printed beside it.
// Targets: server time under 2x that SELECT; under 300 ms at the client.
//
// Each page is a row of `pages`: the staff list and the admin search are
// further rows (a url, the role that reads it, and the SELECT of its rows).
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { Registry } from 'prom-client';
import { chainPrepared, prepareEntry } from '../src/audit/chain.js';
import { openAuditLog } from '../src/audit/log.js';
import { loadOrCreateSigner } from '../src/audit/signer.js';
import { newDataKey, wrapDataKey } from '../src/keys/data-key.js';
import { openKeyRing } from '../src/keys/key-ring.js';
import type { MasterKey } from '../src/keys/master-key.js';
import { defaultPolicy } from '../src/core/policy.js';
import { finding } from '../src/core/findings.js';
import { createMaildirCarrier } from '../src/delivery/maildir-carrier.js';
import { sealMeta } from '../src/quarantine/sealed-item.js';
import { createSubjectIndex } from '../src/quarantine/subject-index.js';
import { openVault } from '../src/quarantine/vault.js';
import { createWorkflow } from '../src/quarantine/workflow.js';
import { openStore } from '../src/store/open.js';
import { SQLITE_FILE } from '../src/store/sqlite.js';
import type { AuditEntry, ItemRow, Store } from '../src/store/types.js';
import type { Role } from '../src/model/users.js';
import { createUserDirectory } from '../src/users/directory.js';
import { startPasswordWorker } from '../src/users/password-worker.js';
import { createConsoleAuth } from '../src/users/sessions.js';
import { createDatabase, startPostgres, type PostgresCluster } from '../test/helpers/postgres.js';
import { totpCodeAt } from '../src/users/totp.js';
import { monthOf, parseMonth } from '../src/web/console/audit-query.js';
import { registerConsole } from '../src/web/console/routes.js';
import { createOpsServer } from '../src/web/ops-routes.js';

const quick = process.argv.includes('--quick');
/** Where the records are: the embedded SQLite file (the default), or PostgreSQL. */
type Dialect = 'sqlite' | 'postgres';
const dialect: Dialect = process.argv.includes('--postgres') ? 'postgres' : 'sqlite';
const RECORDS = quick ? 100_000 : 1_000_000;
/** Every tenth record is a quarantine, with its item. */
const ITEM_EVERY = 10;
const argOf = (name: string): string | null => (process.argv.includes(name) ? (process.argv[process.argv.indexOf(name) + 1] ?? null) : null);
/** --repeats N and --only TEXT (the pages whose name contains it): for working on one page. */
const REPEATS = Number(argOf('--repeats') ?? (quick ? 15 : 40));
/** Requests of each page before it is measured: a few hundred, as a console in use has had. */
const WARM = quick ? 50 : 300;
const only = argOf('--only');
const START = Date.parse('2025-12-01T00:00:00Z');
/** A year of records. */
const STEP_MS = Math.floor((365 * 86_400_000) / RECORDS);
const PASSWORD = 'correct horse battery';

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => `${n.toFixed(2)} ms`;

const sender = (i: number): string => `sender${i % 997}@example.co.jp`;
const staff = (i: number): string => `staff${i % 211}@city.example.lg.jp`;

const SOUMU = 'soumu@city.example.lg.jp';
const KINDS = ['請求書の送付', '会議資料', '見積書', '議事録の確認', '申請書の提出'];
/** A word in one subject of 37: what the subject searches look for. */
const RARE = '予算';
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

const isItem = (i: number): boolean => i % ITEM_EVERY === 0;
const timeOf = (i: number): Date => new Date(START + i * STEP_MS);
const recipientsOf = (i: number): string[] => [staff(i), ...(i % 7 === 0 ? [SOUMU] : [])];
const subjectOf = (i: number): string => {
  const n = i / ITEM_EVERY;
  return `${n % 37 === 0 ? `【${RARE}】` : ''}${KINDS[n % KINDS.length]}（${(n % 12) + 1}月分）No.${n}`;
};
/** A real quarantine id (Q-YYYYMMDD-XXXXXXXXXX, the JST day), unique per record. */
const idOf = (i: number): string => {
  let rest = i;
  let tail = '';
  for (let k = 0; k < 10; k++) {
    tail = BASE32[rest % 32] + tail;
    rest = Math.floor(rest / 32);
  }
  return `Q-${new Date(timeOf(i).getTime() + 9 * 3_600_000).toISOString().slice(0, 10).replace(/-/g, '')}-${tail}`;
};

/** A sealed item as the vault's put makes it (a fresh data key wrapped under the master key, the metadata sealed with it); no blob: no page here reads an original. */
function sealedItem(i: number, master: MasterKey): ItemRow {
  const id = idOf(i);
  const receivedAt = timeOf(i);
  const to = recipientsOf(i);
  const findings = i % 3 === 0 ? [finding('attachment-removed', { attachment: 1 }), finding('html-converted')] : [finding('document-macro', { attachment: 1 })];
  const dataKey = newDataKey();
  return {
    id,
    gateway: 'bench',
    receivedAt: receivedAt.toISOString(),
    envelopeFrom: sender(i),
    recipients: to,
    size: 20_000 + (i % 5000),
    findings: [...new Set(findings.map((f) => f.code))],
    state: i % 50 === 0 ? 'release-requested' : 'held',
    stateChangedAt: receivedAt.toISOString(),
    stateChangedBy: 'bench',
    keyId: master.id,
    wrappedKey: wrapDataKey(master, id, dataKey),
    sealedMeta: sealMeta(dataKey, id, {
      receivedAt,
      envelopeFrom: sender(i),
      envelopeTo: to,
      from: `"送信者 ${i % 997}" <${sender(i)}>`,
      to,
      subject: subjectOf(i),
      findings,
      attachments: [
        {
          index: 1,
          parent: null,
          name: `資料${i}.docx`,
          fileKind: 'word',
          sniffedType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
          size: 18_000,
          sha256: '0'.repeat(64),
          outcome: 'removed',
          deliveredAs: null,
        },
      ],
    }),
  };
}

/** The items (record numbers) matching `keep`, newest first, the first `n`. */
function newestItems(keep: (i: number) => boolean, n: number, from = RECORDS - 1): number[] {
  const out: number[] = [];
  for (let i = from - (from % ITEM_EVERY); i >= 0 && out.length < n; i -= ITEM_EVERY) if (keep(i)) out.push(i);
  return out;
}

/** Record i, as the relay (and now and then a person) writes it. */
function entryFor(i: number, master: MasterKey): { entry: AuditEntry; item?: ItemRow } {
  const time = timeOf(i);
  const who = { from: sender(i), to: recipientsOf(i) };
  const queueId = `Q${String(Math.floor(i / 4)).padStart(8, '0')}`;
  if (isItem(i)) {
    const item = sealedItem(i, master);
    return { entry: { actor: 'bench', action: 'quarantined', object: item.id, details: { ...who, findings: item.findings, size: item.size }, time }, item };
  }
  if (i % 997 === 1) return { entry: { actor: `console:staff${i % 211}`, action: 'login-succeeded', object: `staff${i % 211}`, details: { client: '192.0.2.10', role: 'staff' }, time } };
  switch (i % 4) {
    case 0:
      return { entry: { actor: 'relay', action: 'received', object: queueId, details: { ...who, client: '198.51.100.7' }, time } };
    case 1:
      return { entry: { actor: 'relay', action: 'verdict', object: queueId, details: { ...who, verdict: i % 20 === 1 ? 'blocked' : 'sanitized', findings: ['html-converted'] }, time } };
    default:
      return { entry: { actor: 'relay', action: 'delivered', object: queueId, details: { ...who, verdict: 'sanitized' }, time } };
  }
}

async function fill(store: Store, dataDir: string): Promise<void> {
  const t0 = performance.now();
  const master = (await openKeyRing(dataDir, {})).wrapping();
  const BATCH = 10_000;
  for (let i = 0; i < RECORDS; i += BATCH) {
    const made = Array.from({ length: Math.min(BATCH, RECORDS - i) }, (_, k) => entryFor(i + k, master));
    const entries = made.map((m) => prepareEntry(m.entry, new Date()));
    const items = made.flatMap((m) => (m.item ? [m.item] : []));
    await store.appendAudit((head) => chainPrepared(head, entries), { items });
  }
  const log = openAuditLog(store, await loadOrCreateSigner(dataDir), { dataDir, autoCheckpoint: false });
  await log.checkpoint();
  await log.close();
  console.log(`console    filled ${fmt(RECORDS)} audit records and ${fmt(RECORDS / ITEM_EVERY)} items in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** Fastify's time (reply.elapsedTime, ms) for the last request answered. */
let lastServerMs = Number.NaN;

/** A signed-in visitor of the app over HTTP on 127.0.0.1 (keep-alive): a cookie jar and the CSRF token of the last page. */
class Visitor {
  readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}
  async request(method: 'GET' | 'POST', url: string, form?: Record<string, string>): Promise<{ status: number; body: string; location?: string }> {
    const res = await fetch(`${this.base}${url}`, {
      method,
      redirect: 'manual',
      headers: { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair = ''] = c.split(';');
      const at = pair.indexOf('=');
      const value = pair.slice(at + 1);
      if (at > 0 && value) this.cookies.set(pair.slice(0, at), value);
    }
    return { status: res.status, body: await res.text(), location: res.headers.get('location') ?? undefined };
  }
  async submit(url: string, action: string, fields: Record<string, string>): Promise<{ status: number; body: string; location?: string }> {
    const page = await this.request('GET', url);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    if (!csrf) throw new Error(`no form on ${url}`);
    const hidden = Object.fromEntries([...page.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replace(/&amp;/g, '&')]));
    return this.request('POST', action, { ...hidden, ...fields });
  }
}

async function startConsole(store: Store, dataDir: string): Promise<{ app: FastifyInstance; as: (role: Role) => Promise<Visitor>; close: () => Promise<void> }> {
  const audit = openAuditLog(store, await loadOrCreateSigner(dataDir), { dataDir, autoCheckpoint: false });
  const passwords = startPasswordWorker({ maxQueued: 8 });
  const now = (): Date => new Date();
  const auth = createConsoleAuth({
    store,
    audit,
    passwords,
    ring: await openKeyRing(dataDir, {}),
    directory: null,
    settings: {
      sessionHours: 8,
      idleMinutes: 30,
      lockoutAttempts: 5,
      lockoutMinutes: 15,
      accountLockoutAttempts: 20,
      trustedAddressDays: 30,
      addressFailures: 20,
      staffTotp: 'optional',
      totpIssuer: 'bench',
      passwordQueue: 8,
      directoryRecheckSeconds: 0,
    },
    now,
  });
  const app = createOpsServer({ registry: new Registry(), health: async () => ({ ok: true, detail: {} }) });
  const vault = await openVault({ dataDir, store, audit, env: {}, gateway: 'bench', now });
  const workflow = createWorkflow(vault, now);
  const users = createUserDirectory(store, audit, now);
  // The administrator's pages as the gateway assembles them; the search's index is loaded before anything is timed.
  const subjects = createSubjectIndex(vault, store);
  const t0 = performance.now();
  await subjects.load();
  console.log(`console    loaded the search index (${fmt(subjects.size)} items decrypted) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const carrier = createMaildirCarrier(path.join(dataDir, 'maildir'));
  const admin = { vault, workflow, carrier, policy: defaultPolicy, users, dataDir, subjects, now };
  // The console's error page says nothing of the cause: say it here (a 500 stops the bench).
  app.addHook('onError', async (req, _reply, err) => console.error(`console    ${req.method} ${req.url}: ${err.stack ?? err.message}`));
  // The server's own time for each request, as its access log would give it: from the request's
  // arrival to the last byte of the page written (inject's harness around it is not the server's).
  app.addHook('onResponse', async (_req, reply) => {
    lastServerMs = reply.elapsedTime;
  });
  await registerConsole(app, { auth, store, vault, workflow, secureCookies: false, loginRequestsPerMinute: 100_000, auditor: { audit }, admin });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const names: Record<Role, string> = { staff: 'staff1', admin: 'kanri', auditor: 'kansa' };
  return {
    app,
    async as(role) {
      const name = names[role];
      // The staff member also reads the 総務 mailbox (an alias): one item in 7 is theirs.
      // With --data the users may be there from an earlier run.
      // (Their second factor is reset: its secret was not kept.)
      const earlier = (await users.list()).find((u) => u.name === name);
      if (earlier?.secondFactor) await users.resetSecondFactor(name, 'bench');
      if (!earlier) await users.add({ name, role, email: role === 'staff' ? staff(1) : null, aliases: role === 'staff' ? [SOUMU] : [], password: PASSWORD }, 'bench');
      const v = new Visitor(base);
      const first = await v.submit('/login', '/login', { name, password: PASSWORD });
      if (first.location === '/login/enrol') {
        const enrol = await v.request('GET', '/login/enrol');
        const secret = /<span class="secret">([A-Z2-7 ]+)<\/span>/.exec(enrol.body)![1]!.replace(/ /g, '');
        const csrf = /name="_csrf" value="([^"]+)"/.exec(enrol.body)![1]!;
        const hidden = Object.fromEntries([...enrol.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
        await v.request('POST', '/login/enrol', { ...hidden, _csrf: csrf, code: await totpCodeAt(secret, now()) });
      }
      const start = await v.request('GET', '/');
      if (start.status !== 200) throw new Error(`${role} could not sign in: ${start.status} ${start.location ?? start.body.slice(0, 300)}`);
      return v;
    },
    async close() {
      await app.close();
      await carrier.close();
      await auth.close();
      await passwords.close();
      await audit.close();
    },
  };
}

/** One plain SELECT (`?` for each parameter) by a plain client of the database the console reads: its rows. */
type Select = (sql: string, ...params: unknown[]) => Promise<unknown[]>;

/** A page and the plain query of the rows it shows. */
export interface PageBench {
  name: string;
  role: Role;
  url: string;
  /** The same rows by a plain indexed SELECT. */
  baseline: (q: Select) => Promise<unknown[]>;
  /** How many rows the page shows, when it lists items: checked against the SELECT's. */
  shown?: (body: string) => number;
}

const PAGE = 101;
const COLUMNS = 'seq, time, actor, action, object, details, prev_hash, hash';
const jst = (t: number): string => new Date(t + 9 * 3_600_000).toISOString().slice(0, 16);

const middleSeq = Math.floor(RECORDS / 2);
const dayStart = START + 200 * 86_400_000;

/** The pages measured: the audit search here, the staff list and the admin search below. */
export const pages: PageBench[] = [
  {
    name: 'audit search: newest',
    role: 'auditor',
    url: '/audit',
    baseline: (q) => q(`SELECT ${COLUMNS} FROM audit_records ORDER BY time DESC, seq DESC LIMIT ?`, PAGE),
  },
  {
    name: `audit search: page at seq ${fmt(middleSeq)}`,
    role: 'auditor',
    url: `/audit?before=${middleSeq}`,
    baseline: async (q) => {
      const [{ time }] = (await q('SELECT time FROM audit_records WHERE seq = ?', middleSeq)) as [{ time: string }];
      return q(`SELECT ${COLUMNS} FROM audit_records WHERE time <= ? AND (time < ? OR seq < ?) ORDER BY time DESC, seq DESC LIMIT ?`, time, time, middleSeq, PAGE);
    },
  },
  {
    name: 'audit search: action',
    role: 'auditor',
    url: '/audit?action=verdict',
    baseline: (q) => q(`SELECT ${COLUMNS} FROM audit_records WHERE action = ? ORDER BY time DESC, seq DESC LIMIT ?`, 'verdict', PAGE),
  },
  {
    name: 'audit search: sender',
    role: 'auditor',
    url: `/audit?sender=${encodeURIComponent(sender(5))}`,
    baseline: (q) => q(`SELECT ${COLUMNS} FROM audit_records WHERE sender = ? ORDER BY time DESC, seq DESC LIMIT ?`, sender(5), PAGE),
  },
  {
    name: 'audit search: recipient',
    role: 'auditor',
    url: `/audit?recipient=${encodeURIComponent(staff(5))}`,
    // SQLite: the recipient's rows of audit_recipients, newest first down their (address, time, seq) index, each record by its seq.
    // PostgreSQL: the records whose recipients array holds the address (its GIN index), newest first.
    baseline: (q) =>
      dialect === 'sqlite'
        ? q(
            `SELECT ${COLUMNS.split(', ')
              .map((c) => `r.${c}`)
              .join(', ')} FROM audit_recipients a JOIN audit_records r ON r.seq = a.seq WHERE a.address = ? ORDER BY a.time DESC, a.seq DESC LIMIT ?`,
            staff(5),
            PAGE,
          )
        : q(`SELECT ${COLUMNS} FROM audit_records WHERE recipients @> ARRAY[?::text] ORDER BY time DESC, seq DESC LIMIT ?`, staff(5), PAGE),
  },
  {
    name: 'audit search: one day, months back',
    role: 'auditor',
    url: `/audit?since=${jst(dayStart)}&until=${jst(dayStart + 86_400_000)}`,
    baseline: (q) =>
      q(
        `SELECT ${COLUMNS} FROM audit_records WHERE time >= ? AND time < ? ORDER BY time DESC, seq DESC LIMIT ?`,
        new Date(dayStart - 0).toISOString(),
        new Date(dayStart + 86_400_000).toISOString(),
        PAGE,
      ),
  },
  {
    name: 'audit search: half a year',
    role: 'auditor',
    url: `/audit?since=${jst(START)}&until=${jst(START + 183 * 86_400_000)}`,
    baseline: (q) =>
      q(
        `SELECT ${COLUMNS} FROM audit_records WHERE time >= ? AND time < ? ORDER BY time DESC, seq DESC LIMIT ?`,
        new Date(START).toISOString(),
        new Date(START + 183 * 86_400_000).toISOString(),
        PAGE,
      ),
  },
  {
    name: 'audit search: a whole year, verdict',
    role: 'auditor',
    url: `/audit?since=${jst(START - 86_400_000)}&until=${jst(START + 366 * 86_400_000)}&verdict=blocked`,
    baseline: (q) =>
      q(
        `SELECT ${COLUMNS} FROM audit_records WHERE verdict = ? AND time >= ? AND time < ? ORDER BY time DESC, seq DESC LIMIT ?`,
        'blocked',
        new Date(START - 86_400_000).toISOString(),
        new Date(START + 366 * 86_400_000).toISOString(),
        PAGE,
      ),
  },
  {
    // The report reads a month of records in pages, counting: beside it, the plain read of that month's verdicts.
    name: 'monthly report (one month)',
    role: 'auditor',
    url: `/audit/report?month=${monthOf(new Date(dayStart))}`,
    baseline: (q) => {
      const m = parseMonth(monthOf(new Date(dayStart)))!;
      return q(`SELECT ${COLUMNS} FROM audit_records WHERE action = 'verdict' AND time >= ? AND time < ? ORDER BY time, seq`, m.since.toISOString(), m.until.toISOString());
    },
  },
  {
    name: 'audit search: actor and object',
    role: 'auditor',
    url: `/audit?actor=relay&object=Q00001234`,
    baseline: (q) => q(`SELECT ${COLUMNS} FROM audit_records WHERE actor = ? AND object = ? ORDER BY time DESC, seq DESC LIMIT ?`, 'relay', 'Q00001234', PAGE),
  },
];

// The staff member's own addresses (bench `as('staff')`): their mail address and the 総務 alias.
const OWN = [staff(1), SOUMU];
const isOwn = (i: number): boolean => recipientsOf(i).some((r) => OWN.includes(r));
const ITEM_COLUMNS = '*';
const ITEMS_PAGE = 50;
const byIds = async (q: Select, ids: string[]): Promise<unknown[]> =>
  ids.length === 0 ? [] : q(`SELECT ${ITEM_COLUMNS} FROM quarantine_items WHERE id IN (${ids.map(() => '?').join(', ')}) ORDER BY received_at DESC, id DESC`, ...ids);
/** The elements of a column holding a JSON array, each as `value`. */
const elements = (column: string): string => (dialect === 'sqlite' ? `json_each(${column})` : `jsonb_array_elements_text(${column}::jsonb) AS e(value)`);
const hasRare = (i: number): boolean => subjectOf(i).includes(RARE);
/** The rows a subject search of the staff list shows (from the loaded index: among all their items). */
const staffSubjectIds = newestItems((i) => isOwn(i) && hasRare(i), ITEMS_PAGE).map(idOf);
const adminSubjectIds = newestItems(hasRare, ITEMS_PAGE).map(idOf);
const jstDate = (t: number): string => new Date(t + 9 * 3_600_000).toISOString().slice(0, 10);
const dayJst = jstDate(dayStart);
const dayJstStart = Date.parse(`${dayJst}T00:00:00+09:00`);

pages.push(
  {
    name: 'staff list: newest',
    role: 'staff',
    shown: (body) => body.match(/href="\/items\/Q-/g)?.length ?? 0,
    url: '/items',
    baseline: (q) =>
      q(
        `SELECT ${ITEM_COLUMNS} FROM quarantine_items WHERE EXISTS (SELECT 1 FROM ${elements('recipients')} WHERE lower(value) IN (?, ?)) ORDER BY received_at DESC, id DESC LIMIT ?`,
        ...OWN,
        ITEMS_PAGE,
      ),
  },
  {
    // The subject is sealed: no SELECT can match it. Beside it, the shown rows by their ids.
    name: 'staff list: subject',
    role: 'staff',
    shown: (body) => body.match(/href="\/items\/Q-/g)?.length ?? 0,
    url: `/items?subject=${encodeURIComponent(RARE)}`,
    baseline: (q) => byIds(q, staffSubjectIds),
  },
  {
    name: 'admin search: newest',
    role: 'admin',
    shown: (body) => body.match(/href="\/admin\/items\/Q-/g)?.length ?? 0,
    url: '/admin/search',
    baseline: (q) => q(`SELECT ${ITEM_COLUMNS} FROM quarantine_items ORDER BY received_at DESC, id DESC LIMIT ?`, ITEMS_PAGE),
  },
  {
    name: 'admin search: sender',
    role: 'admin',
    shown: (body) => body.match(/href="\/admin\/items\/Q-/g)?.length ?? 0,
    url: `/admin/search?sender=${encodeURIComponent(sender(5))}`,
    baseline: (q) => q(`SELECT ${ITEM_COLUMNS} FROM quarantine_items WHERE lower(envelope_from) = ? ORDER BY received_at DESC, id DESC LIMIT ?`, sender(5), ITEMS_PAGE),
  },
  {
    name: 'admin search: recipient',
    role: 'admin',
    shown: (body) => body.match(/href="\/admin\/items\/Q-/g)?.length ?? 0,
    url: `/admin/search?recipient=${encodeURIComponent(staff(5))}`,
    baseline: (q) =>
      q(`SELECT ${ITEM_COLUMNS} FROM quarantine_items WHERE EXISTS (SELECT 1 FROM ${elements('recipients')} WHERE lower(value) = ?) ORDER BY received_at DESC, id DESC LIMIT ?`, staff(5), ITEMS_PAGE),
  },
  {
    // The subject is sealed: no SELECT can match it. Beside it, the shown rows by their ids.
    name: 'admin search: subject',
    role: 'admin',
    shown: (body) => body.match(/href="\/admin\/items\/Q-/g)?.length ?? 0,
    url: `/admin/search?subject=${encodeURIComponent(RARE)}`,
    baseline: (q) => byIds(q, adminSubjectIds),
  },
  {
    name: 'admin search: finding',
    role: 'admin',
    shown: (body) => body.match(/href="\/admin\/items\/Q-/g)?.length ?? 0,
    url: '/admin/search?finding=document-macro',
    baseline: (q) =>
      q(`SELECT ${ITEM_COLUMNS} FROM quarantine_items WHERE EXISTS (SELECT 1 FROM ${elements('findings')} WHERE value = ?) ORDER BY received_at DESC, id DESC LIMIT ?`, 'document-macro', ITEMS_PAGE),
  },
  {
    name: 'admin search: state',
    role: 'admin',
    shown: (body) => body.match(/href="\/admin\/items\/Q-/g)?.length ?? 0,
    url: '/admin/search?state=release-requested',
    baseline: (q) => q(`SELECT ${ITEM_COLUMNS} FROM quarantine_items WHERE state = ? ORDER BY received_at DESC, id DESC LIMIT ?`, 'release-requested', ITEMS_PAGE),
  },
  {
    name: 'admin search: one day, months back',
    role: 'admin',
    shown: (body) => body.match(/href="\/admin\/items\/Q-/g)?.length ?? 0,
    url: `/admin/search?since=${dayJst}&until=${dayJst}`,
    baseline: (q) =>
      q(
        `SELECT ${ITEM_COLUMNS} FROM quarantine_items WHERE received_at >= ? AND received_at < ? ORDER BY received_at DESC, id DESC LIMIT ?`,
        new Date(dayJstStart).toISOString(),
        new Date(dayJstStart + 86_400_000).toISOString(),
        ITEMS_PAGE,
      ),
  },
);

const stats = (xs: number[]): { median: number; p95: number } => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)] as number, p95: s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)] as number };
};

async function measure(v: Visitor, select: Select, p: PageBench): Promise<void> {
  const page: number[] = [];
  const base: number[] = [];
  // The page checked, then asked as a console in use asks it (its code optimised by the JIT, the caches warm), the SELECT as often.
  const first = await v.request('GET', p.url);
  if (first.status !== 200) throw new Error(`${p.url} answered ${first.status}`);
  const expected = (await p.baseline(select)).length;
  if (p.shown && p.shown(first.body) !== expected) throw new Error(`${p.url} shows ${p.shown(first.body)} rows, the SELECT ${expected}`);
  for (let i = 0; i < WARM; i++) {
    await v.request('GET', p.url);
    await p.baseline(select);
  }
  const rows = (await p.baseline(select)).length;
  const client: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    let t = performance.now();
    await v.request('GET', p.url);
    client.push(performance.now() - t);
    page.push(lastServerMs);
    t = performance.now();
    await p.baseline(select);
    base.push(performance.now() - t);
  }
  const a = stats(page);
  const b = stats(base);
  const c = stats(client);
  const ratio = a.median / Math.max(b.median, 0.001);
  const flags = [...(c.p95 >= 300 ? ['p95 OVER 300 ms'] : []), ...(ratio >= 2 ? ['over 2x'] : [])];
  console.log(
    `console    ${p.name.padEnd(36)} server ${ms(a.median).padStart(9)} (p95 ${ms(a.p95).padStart(9)}; at the client ${ms(c.median)}, p95 ${ms(c.p95)})   SELECT of the same ${String(rows).padStart(5)} rows ${ms(b.median).padStart(8)} (p95 ${ms(b.p95).padStart(8)})   ratio ${ratio.toFixed(1)}x${flags.length ? `  (${flags.join(', ')})` : ''}`,
  );
}

// --data DIR keeps the filled SQLite store in DIR and reuses it on the next run (for working on one page).
const keptArg = argOf('--data');
if (keptArg !== null && dialect === 'postgres') throw new Error('--data keeps a SQLite store only: with --postgres the cluster is filled afresh each run');
const kept = keptArg === null ? null : path.resolve(keptArg);
const dataDir = kept ?? mkdtempSync(path.join(tmpdir(), 'mugaika-bench-console-'));
let cluster: PostgresCluster | null = null;
// Interrupted (Ctrl-C, a CI timeout): the temp dir (a million records, 100,000 items) and the cluster go too.
if (!kept) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void (cluster?.stop() ?? Promise.resolve())
        .catch(() => undefined)
        .finally(() => {
          rmSync(dataDir, { recursive: true, force: true });
          process.exit(signal === 'SIGINT' ? 130 : 143);
        });
    });
  }
}

/** The plain client the SELECTs go through, and how to close it. */
async function plainClient(databaseUrl: string | null): Promise<{ select: Select; close: () => Promise<void> }> {
  if (databaseUrl === null) {
    const db = new Database(path.join(dataDir, SQLITE_FILE), { readonly: true });
    // Each SELECT prepared once, as the store prepares its own.
    const statements = new Map<string, Database.Statement>();
    return {
      select: async (sql, ...params) => {
        let st = statements.get(sql);
        if (!st) statements.set(sql, (st = db.prepare(sql)));
        return st.all(...params);
      },
      close: async () => {
        db.close();
      },
    };
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  return {
    select: async (sql, ...params) => {
      let n = 0;
      return (
        await client.query(
          sql.replace(/\?/g, () => `$${++n}`),
          params,
        )
      ).rows;
    },
    close: () => client.end(),
  };
}

try {
  let databaseUrl: string | null = null;
  if (dialect === 'postgres') {
    cluster = await startPostgres();
    databaseUrl = await createDatabase(cluster.url, 'bench_console');
  }
  console.log(`console    on ${dialect === 'sqlite' ? 'SQLite (the embedded store)' : 'PostgreSQL (a private cluster on 127.0.0.1, fsync on)'}`);
  const store = await openStore(databaseUrl === null ? { dataDir } : { dataDir, databaseUrl });
  if ((await store.head()).seq === 0) await fill(store, dataDir);
  else console.log(`console    reusing the ${fmt((await store.head()).seq)} records in ${dataDir}`);
  const web = await startConsole(store, dataDir);
  const plain = await plainClient(databaseUrl);
  // The planner's statistics of the tables just filled, as autovacuum gathers them within a minute of a bulk load.
  if (dialect === 'postgres') await plain.select('ANALYZE');
  const visitors = new Map<Role, Visitor>();
  for (const p of pages.filter((q) => only === null || q.name.includes(only))) {
    const v = visitors.get(p.role) ?? (await web.as(p.role));
    visitors.set(p.role, v);
    await measure(v, plain.select, p);
  }
  console.log(`console    targets: page median under 2x the plain SELECT of its rows, p95 under 300 ms (the page also checks the session and renders every row)`);
  await plain.close();
  await web.close();
  await store.close();
} finally {
  await cluster?.stop();
  if (!kept) rmSync(dataDir, { recursive: true, force: true });
}
