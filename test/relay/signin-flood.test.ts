// The real gateway (`mugaika serve`, dist/) behind a trusted reverse proxy,
// flooded with console logins: 10,000 from 1,000 addresses and 10,000 from
// one. Mail keeps being relayed, another user logs in
// meanwhile, nothing is let in, every record names the client the proxy
// reported, and the audit log grows by a bounded number of records.
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, cli, client, HOST, message, startGateway, startSink, token, waitFor, type Gateway, type Sink } from './harness.js';

let gw: Gateway;
let sink: Sink;
const passwords: Record<string, string> = {};

beforeAll(async () => {
  sink = await startSink();
  gw = await startGateway({ nextHop: `${HOST}:${sink.port}`, config: { web: { trustProxy: [HOST] } } });
  for (const name of ['tanaka', 'sato']) {
    const r = await cli(['user', 'add', name, '--role', 'staff', '--email', `${name}@city.example.lg.jp`, '--data-dir', gw.dataDir]);
    expect(r.code, r.stderr).toBe(0);
    passwords[name] = /initial password: (\S+)/.exec(r.stdout)![1]!;
  }
}, 60_000);
afterAll(cleanup);

interface Answer {
  status: number;
  cookie: string | null;
}

/** A login form's cookie and token (the same for every post: the token is not bound to an address). */
async function loginForm(): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`http://${HOST}:${gw.webPort}/login`);
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await res.text())![1]!;
  return { cookie, csrf };
}

async function post(form: { cookie: string; csrf: string }, client: string, name: string, password: string): Promise<Answer> {
  const res = await fetch(`http://${HOST}:${gw.webPort}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: form.cookie, 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': client },
    body: new URLSearchParams({ _csrf: form.csrf, name, password }).toString(),
  });
  await res.arrayBuffer();
  const session = res.headers.getSetCookie().find((c) => c.startsWith('mugaika_session='));
  return { status: res.status, cookie: session ? session.split(';')[0]! : null };
}

/** Runs `jobs` with at most `width` at a time. */
async function pool<T>(jobs: (() => Promise<T>)[], width: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]!();
      }
    }),
  );
  return out;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Sends one message and returns how long the 250 took, ms. */
async function timedSend(c: ReturnType<typeof client>): Promise<number> {
  const tok = token();
  const t0 = performance.now();
  const r = await c.send({ from: 'sender@example.com', to: ['staff@city.example.lg.jp'] }, message(tok));
  expect(r, r.response).toMatchObject({ ok: true, code: 250 });
  return performance.now() - t0;
}

describe('mugaika serve: a login flood', () => {
  it('keeps relaying mail and letting other users in, lets nobody in by guessing, and records the right clients in bounded records', async () => {
    const smtp = client(gw.smtpPort, 1);
    // tanaka's own desk: a success there makes it theirs.
    const form = await loginForm();
    expect((await post(form, '192.0.2.10', 'tanaka', passwords.tanaka!)).status).toBe(303);

    const baseline: number[] = [];
    for (let i = 0; i < 15; i++) baseline.push(await timedSend(smtp));
    const auditBefore = (await records()).length;

    // The flood: 1,000 addresses x 10 (unknown names and tanaka with wrong passwords), and 10,000 from one address.
    const jobs: (() => Promise<Answer>)[] = [];
    for (let a = 0; a < 1000; a++) {
      const addr = `10.${(a >> 8) & 255}.${a & 255}.${7 + (a % 3)}`;
      for (let i = 0; i < 10; i++) jobs.push(() => post(form, addr, i % 2 ? 'tanaka' : `nobody${a}-${i}`, `guess ${a} ${i}`));
    }
    for (let i = 0; i < 10_000; i++) jobs.push(() => post(form, '198.51.100.99', i % 2 ? 'tanaka' : `x${i}`, `guess ${i}`));
    // Interleaved, as a flood from many places arrives.
    for (let i = jobs.length - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1);
      [jobs[i], jobs[j]] = [jobs[j]!, jobs[i]!];
    }
    let flooding = true;
    const started = performance.now();
    const flood = pool(jobs, 128).finally(() => (flooding = false));

    // Meanwhile: mail, and the other users.
    const during: number[] = [];
    const others: { ms: number; status: number }[] = [];
    while (flooding) {
      during.push(await timedSend(smtp));
      if (during.length % 10 === 5) {
        const t0 = performance.now();
        const r = await post(await loginForm(), '192.0.2.20', 'sato', passwords.sato!);
        others.push({ ms: performance.now() - t0, status: r.status });
        // tanaka from their own desk, although strangers have locked the account for strangers.
        const own = await post(await loginForm(), '192.0.2.10', 'tanaka', passwords.tanaka!);
        others.push({ ms: performance.now() - t0, status: own.status });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const answers = await flood;
    const floodSeconds = (performance.now() - started) / 1000;

    const counts: Record<number, number> = {};
    for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
    const report = { floodSeconds, counts, baseline: median(baseline), during: median(during), sent: during.length, others };
    // Nothing let in, every answer clear: refused (401), over the address's limit (429) or busy (503).
    expect(
      answers.filter((a) => a.cookie !== null || a.status === 303),
      JSON.stringify(report),
    ).toEqual([]);
    expect(
      Object.keys(counts).every((s) => ['401', '429', '503'].includes(s)),
      JSON.stringify(report),
    ).toBe(true);
    // Mail went on: every message during the flood got its 250 (timedSend checks), and the other
    // users got in. How much slower they were is printed, not asserted: on two cores shared with
    // another CPU-heavy process a latency bound measures the machine, not the gateway.
    console.log('login flood:', JSON.stringify({ ...report, others: others.map((o) => Math.round(o.ms)) }));
    expect(during.length, JSON.stringify(report)).toBeGreaterThanOrEqual(5);
    expect(others.length, JSON.stringify(report)).toBeGreaterThan(0);
    expect(
      others.every((o) => o.status === 303),
      JSON.stringify(report),
    ).toBe(true);
    await waitFor('every message delivered', () => sink.messages.length >= baseline.length + during.length, 30_000);

    await gw.stop();
    const all = await records();
    const added = all.slice(auditBefore).filter((r) => r.action.startsWith('login') || r.action === 'session-ended');
    // Bounded: a few hundred records for 20,000 attempts (before: one each).
    expect(added.length, JSON.stringify(report)).toBeLessThan(600);
    // Every failure names the client the proxy reported, never the proxy.
    const failures = added.filter((r) => r.action === 'login-failed');
    expect(failures.length).toBeGreaterThan(20);
    expect(failures.every((r) => r.details.client !== HOST && /^(10\.|198\.51\.100\.99$)/.test(String(r.details.client)))).toBe(true);
    // Guesses checked for tanaka: at most the account-wide lock's worth from strangers.
    expect(failures.filter((r) => r.object === 'tanaka' && r.details.reason === 'bad-password').length).toBeLessThanOrEqual(20);
    const summaries = added.filter((r) => r.action === 'login-failures-summarised');
    expect(summaries.length).toBeGreaterThan(0);
    const summarised = summaries.reduce((n, r) => n + Number(r.details.attempts), 0);
    // Every attempt is told of, one by one or in a summary: those refused at the door (the request limit) too.
    expect(summarised + failures.length).toBeGreaterThanOrEqual(19_900);
    expect(JSON.stringify(summaries)).toContain('198.51.100.99');
    const ins = added.filter((r) => r.action === 'login-succeeded');
    expect(new Set(ins.map((r) => `${r.object}@${String(r.details.client)}`))).toEqual(new Set(['sato@192.0.2.20', 'tanaka@192.0.2.10']));
    // And the chain with all of it still verifies.
    const verify = await cli(['audit', 'verify', '--data-dir', gw.dataDir]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toContain('監査ログは正常です');
  }, 240_000);
});

function records(): Promise<{ action: string; object: string | null; details: Record<string, unknown> }[]> {
  const db = new Database(path.join(gw.dataDir, 'mugaika.db'), { readonly: true });
  try {
    return Promise.resolve(
      (db.prepare('SELECT action, object, details FROM audit_records ORDER BY seq').all() as { action: string; object: string | null; details: string }[]).map((r) => ({
        ...r,
        details: JSON.parse(r.details) as Record<string, unknown>,
      })),
    );
  } finally {
    db.close();
  }
}
