// The monthly 自己点検 report (the seed policy's section 7), from the audit
// log alone: messages by verdict and by finding, every release with its
// requester, approver(s), reasons and time to decision, every administrator
// action, failed logins and lockouts, policy changes, and the chain's
// verifications. Records are read page by page and counted, never held all
// at once: a month of a busy gateway is millions of records.
import { auditPages } from '../../audit/export.js';
import { auditActions, type AuditAction } from '../../model/audit-actions.js';
import type { AuditRecord, Store } from '../../store/types.js';

/** Mail flowing through the relay: not an administrator's action. */
const MAIL_FLOW: ReadonlySet<AuditAction> = new Set<AuditAction>(['received', 'verdict', 'quarantined', 'delivered', 'deferred', 'bounced', 'rejected', 'bounce-delivered', 'bounce-failed']);
/** Signing in and out, and what the gateway writes by itself. */
const NOT_ADMIN: ReadonlySet<AuditAction> = new Set<AuditAction>([
  'login-succeeded',
  'login-failed',
  'login-password-accepted',
  'login-failures-summarised',
  'logout',
  'gateway-started',
  'gateway-stopped',
  'audit-verify-started',
  'audit-exported',
]);
const RELEASE_ACTIONS: readonly AuditAction[] = ['release-requested', 'release-approved', 'release-rejected'];
/** Object ids asked for in one search. */
const IDS_PER_QUERY = 500;

export interface ReleaseRow {
  item: string;
  requestedAt: string | null;
  requester: string | null;
  reason: string | null;
  decision: 'approved' | 'rejected' | 'pending';
  decidedAt: string | null;
  /** Who approved (each once, in order), or who rejected. */
  deciders: string[];
  comment: string | null;
  /** From the request to the decision, when both are known. */
  waitMs: number | null;
}

export interface EventRow {
  time: string;
  actor: string;
  action: AuditAction;
  object: string | null;
  details: Record<string, unknown>;
}

export interface MonthlyReport {
  month: string;
  since: Date;
  until: Date;
  verdicts: Map<string, number>;
  messages: number;
  findings: Map<string, number>;
  releases: ReleaseRow[];
  adminActions: EventRow[];
  logins: { failures: number; summarised: number; lockouts: number; lockedUsers: string[] };
  policyChanges: EventRow[];
  verifications: EventRow[];
  /** The newest verification up to the time the report is made (of this month or later). */
  latestVerification: EventRow | null;
}

const detailsOf = (r: AuditRecord): Record<string, unknown> => {
  try {
    const v = JSON.parse(r.details) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};

const eventOf = (r: AuditRecord): EventRow => ({ time: r.time, actor: r.actor, action: r.action, object: r.object, details: detailsOf(r) });

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** The console user an actor names ("console:kanri"), if it is one. */
const consoleUser = (actor: string): string | null => (actor.startsWith('console:') ? actor.slice('console:'.length) : null);

/** Releases whose request or decision falls in the month, each with its whole history. */
async function releases(store: Store, since: Date, until: Date): Promise<ReleaseRow[]> {
  const ids = new Set<string>();
  for await (const page of auditPages(store, { since, until, actions: RELEASE_ACTIONS })) for (const r of page) if (r.object) ids.add(r.object);
  const history = new Map<string, AuditRecord[]>();
  const all = [...ids];
  for (let i = 0; i < all.length; i += IDS_PER_QUERY) {
    for await (const page of auditPages(store, { objects: all.slice(i, i + IDS_PER_QUERY), actions: RELEASE_ACTIONS })) {
      for (const r of page) {
        const list = history.get(r.object as string) ?? [];
        list.push(r);
        history.set(r.object as string, list);
      }
    }
  }
  const rows: ReleaseRow[] = [];
  for (const id of all) {
    const list = history.get(id) ?? [];
    // A request and what was decided on it; an item may be requested again after a rejection.
    let open: ReleaseRow | null = null;
    const flush = (): void => {
      if (open && (open.decidedAt ?? open.requestedAt ?? '') >= since.toISOString() && (open.requestedAt ?? open.decidedAt ?? '') < until.toISOString()) rows.push(open);
      open = null;
    };
    for (const r of list) {
      const d = detailsOf(r);
      if (r.action === 'release-requested') {
        flush();
        open = { item: id, requestedAt: r.time, requester: r.actor, reason: text(d.reason), decision: 'pending', decidedAt: null, deciders: [], comment: null, waitMs: null };
        continue;
      }
      const row: ReleaseRow = open ?? { item: id, requestedAt: null, requester: null, reason: null, decision: 'pending', decidedAt: null, deciders: [], comment: null, waitMs: null };
      open = row;
      if (!row.deciders.includes(r.actor)) row.deciders.push(r.actor);
      row.decision = r.action === 'release-rejected' ? 'rejected' : 'approved';
      row.decidedAt = r.time;
      row.comment = text(d.reason) ?? text(d.comment) ?? row.comment;
      row.waitMs = row.requestedAt ? Date.parse(r.time) - Date.parse(row.requestedAt) : null;
      if (r.action === 'release-rejected') flush();
    }
    flush();
  }
  return rows.sort((a, b) => (a.requestedAt ?? a.decidedAt ?? '').localeCompare(b.requestedAt ?? b.decidedAt ?? ''));
}

export async function monthlyReport(store: Store, month: { label: string; since: Date; until: Date }): Promise<MonthlyReport> {
  const { since, until } = month;
  // Counted by the database: a month can hold hundreds of thousands of verdicts.
  const { messages, verdicts, findings } = await store.countVerdicts({ since, until });

  const admins = new Set((await store.listUsers()).filter((u) => u.role === 'admin').map((u) => u.name));
  const adminActions: EventRow[] = [];
  const candidates = auditActions.filter((a) => !MAIL_FLOW.has(a) && !NOT_ADMIN.has(a));
  for await (const page of auditPages(store, { since, until, actions: candidates })) {
    for (const r of page) {
      const user = consoleUser(r.actor);
      if (r.actor.startsWith('cli:') || (user !== null && admins.has(user))) adminActions.push(eventOf(r));
    }
  }

  const logins = { failures: 0, summarised: 0, lockouts: 0, lockedUsers: [] as string[] };
  const locked = new Set<string>();
  for await (const page of auditPages(store, { since, until, actions: ['login-failed', 'login-failures-summarised'] })) {
    for (const r of page) {
      const d = detailsOf(r);
      if (r.action === 'login-failures-summarised') {
        const n = typeof d.attempts === 'number' ? d.attempts : 0;
        logins.failures += n;
        logins.summarised += n;
        continue;
      }
      logins.failures++;
      // The failure that locks: the count reaches the limit (later ones find it locked and are refused).
      if ((d.lockedForAddress === true || d.lockedForNewAddresses === true) && d.reason !== 'locked') {
        logins.lockouts++;
        if (r.object) locked.add(r.object);
      }
    }
  }
  logins.lockedUsers = [...locked].sort();

  const policyChanges = (await store.searchAudit({ since, until, actions: ['policy-changed'] })).map(eventOf);
  const verifications = (await store.searchAudit({ since, until, actions: ['audit-verified'] })).map(eventOf);
  const [latest] = await store.searchAudit({ actions: ['audit-verified'], order: 'newest', limit: 1 });

  return {
    month: month.label,
    since,
    until,
    verdicts,
    messages,
    findings,
    releases: await releases(store, since, until),
    adminActions,
    logins,
    policyChanges,
    verifications,
    latestVerification: latest ? eventOf(latest) : null,
  };
}
