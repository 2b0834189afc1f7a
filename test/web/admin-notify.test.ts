// Mails to people from the release workflow, on both store adapters, through
// a real SMTP next hop on 127.0.0.1: a new request mails the administrators
// (one mail per request, or a digest), a decision made over HTTP mails the
// requester; each mail audited, none sent twice (also after a restart), and
// one the next hop does not take is tried again.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createSharpTranscoder } from '../../src/converters/image-sharp.js';
import { noDocuments } from '../../src/converters/unavailable.js';
import { defaultPolicy } from '../../src/core/policy.js';
import { sanitize } from '../../src/core/sanitize.js';
import { createSmtpCarrier } from '../../src/delivery/smtp-carrier.js';
import type { Carrier } from '../../src/delivery/types.js';
import { createReleaseMailer, type ReleaseMailerOptions } from '../../src/quarantine/release-mail.js';
import { totpCodeAt } from '../../src/users/totp.js';
import { startSink, type Sink } from '../relay/harness.js';
import { eml } from '../helpers/run.js';
import { postgresBackend, sqliteBackend } from '../store/backends.js';
import { secretOn, type Browser } from './browser.js';
import { PASSWORD, startConsole, type Console } from './setup.js';

const STAFF = 'tanaka@city.example.lg.jp';
const ADMINS = ['sato@city.example.lg.jp', 'suzuki@city.example.lg.jp'];

for (const backend of [sqliteBackend, postgresBackend]) {
  describe(`release workflow mails on ${backend.kind}`, () => {
    let cons: Console;
    let sink: Sink;
    let carrier: Carrier;
    let refuse = false;

    afterEach(async () => {
      await cons?.close();
      await carrier?.close();
      await sink?.close();
      refuse = false;
    });

    const start = async (): Promise<void> => {
      sink = await startSink({ rcpt: () => (refuse ? { code: 451, message: '4.3.0 try later' } : null) });
      const hop = () => createSmtpCarrier({ host: '127.0.0.1', port: sink.port, name: 'gw.test', maxConnections: 1, connectionTimeoutMs: 5000 });
      carrier = hop();
      cons = await startConsole(backend, { carrier: hop() });
      await cons.users.add({ name: 'tanaka', displayName: '田中', role: 'staff', email: STAFF, password: PASSWORD }, 'cli:root');
      await cons.users.add({ name: 'sato', role: 'admin', email: ADMINS[0], password: PASSWORD }, 'cli:root');
      await cons.users.add({ name: 'suzuki', role: 'admin', email: ADMINS[1], password: PASSWORD }, 'cli:root');
      await cons.users.add({ name: 'yamada', role: 'admin', email: 'yamada@city.example.lg.jp', password: PASSWORD }, 'cli:root');
      await cons.users.disable('yamada', 'cli:root');
    };

    const mailer = (o: Partial<ReleaseMailerOptions> = {}) =>
      createReleaseMailer({
        store: cons.store,
        audit: cons.audit,
        carrier,
        from: 'postmaster@gw.test',
        digestMinutes: 0,
        language: 'ja',
        actor: 'gateway:gw.test',
        now: cons.now,
        firstPauseMs: 0,
        ...o,
      });

    const quarantine = async (tok: string): Promise<string> => {
      const raw = eml(
        ['From: kouhou@example.jp', `To: ${STAFF}`, `Subject: ${tok}`, 'Date: Thu, 26 Nov 2026 10:00:00 +0900', 'MIME-Version: 1.0', 'Content-Type: text/html; charset=utf-8'],
        '<p>hello</p>\r\n',
      );
      const r = await sanitize({ raw, envelope: { mailFrom: 'kouhou@example.jp', rcptTo: [STAFF] } }, defaultPolicy, {
        quarantine: cons.vault,
        images: createSharpTranscoder(),
        documents: noDocuments,
        now: () => new Date(),
        randomToken: () => randomUUID(),
      });
      return r.quarantineId!;
    };

    const request = async (id: string, reason: string): Promise<void> => {
      await cons.vault.audit.append(
        { actor: 'console:tanaka', action: 'release-requested', object: id, time: cons.now(), details: { reason, fromState: 'held', toState: 'release-requested' } },
        { stateChanges: [{ id, from: ['held'], to: 'release-requested', at: cons.now(), by: 'console:tanaka' }] },
      );
    };

    const login = async (name: string): Promise<Browser> => {
      const b = cons.browser();
      const first = await b.follow(await b.login(name, PASSWORD));
      if (first.body.includes('二要素認証の設定')) await b.submit(first, '/login/enrol', { code: await totpCodeAt(secretOn(first), cons.now()) });
      return b;
    };

    it('mails a request made right after the very first start, before the first tick', async () => {
      await start();
      const m = mailer();
      // The gateway starts the mailer before the console listens; the first tick comes seconds later.
      await m.start(3_600_000);
      try {
        const a = await quarantine('EARLY');
        await request(a, '至急');
        await m.tick();
        await expect.poll(() => sink.messages.length).toBe(1);
        expect(sink.messages[0]!.text).toContain(a);
      } finally {
        await m.stop();
      }
    });

    it('mails every enabled admin once per request, audited, and never twice (also after a restart)', async () => {
      await start();
      const m = mailer();
      await m.tick(); // the first start: nothing before it is mailed
      // Another gateway on the same database, running all along.
      const other = mailer({ actor: 'gateway:other' });
      await other.tick();
      const a = await quarantine('A');
      const b = await quarantine('B');
      await request(a, '取引先の確認のため\u202E');
      await request(b, '至急');
      await m.tick();
      await expect.poll(() => sink.messages.length).toBe(2);
      for (const msg of sink.messages) {
        expect(msg.from).toBe('postmaster@gw.test');
        expect([...msg.to].sort()).toEqual(ADMINS);
        expect(msg.subject).toContain('原本の解放申請があります');
        expect(msg.text).toContain('承認または却下してください');
      }
      expect(sink.messages[0]!.subject).toContain(a);
      expect(sink.messages[0]!.text).toContain('申請者: tanaka');
      // The reason is the requester's text, without characters that reorder it.
      expect(sink.messages[0]!.text).toContain('理由: 取引先の確認のため\n');
      const sent = await cons.records('notification-sent');
      expect(sent.map((r) => [r.object, r.details.kind, r.details.to])).toEqual([
        [a, 'request', expect.arrayContaining(ADMINS)],
        [b, 'request', expect.arrayContaining(ADMINS)],
      ]);
      await m.tick();
      await other.tick();
      await mailer().tick();
      await new Promise((r) => setTimeout(r, 300));
      expect(sink.messages).toHaveLength(2);
    });

    it('gathers requests into a digest every notifyDigestMinutes', async () => {
      await start();
      const m = mailer({ digestMinutes: 10 });
      await m.tick();
      const ids = [await quarantine('1'), await quarantine('2'), await quarantine('3')];
      await request(ids[0]!, 'r1');
      await request(ids[1]!, 'r2');
      await m.tick();
      await expect.poll(() => sink.messages.length).toBe(1);
      expect(sink.messages[0]!.subject).toContain('2件');
      expect(sink.messages[0]!.text).toContain(ids[0]);
      expect(sink.messages[0]!.text).toContain(ids[1]);
      await request(ids[2]!, 'r3');
      cons.clock.t += 9 * 60_000;
      await m.tick();
      await new Promise((r) => setTimeout(r, 300));
      expect(sink.messages).toHaveLength(1);
      cons.clock.t += 2 * 60_000;
      await m.tick();
      await expect.poll(() => sink.messages.length).toBe(2);
      expect(sink.messages[1]!.text).toContain(ids[2]);
    });

    it('mails the requester the decision made over HTTP: approved, or rejected with its reason', async () => {
      await start();
      const m = mailer();
      await m.tick();
      const a = await quarantine('OK');
      const b = await quarantine('NG');
      await request(a, 'r');
      await request(b, 'r');
      await m.tick();
      await expect.poll(() => sink.messages.length).toBe(2);
      const admin = await login('sato');
      await admin.submit(await admin.get(`/admin/items/${a}`), `/admin/items/${a}/approve`, { comment: '電話で確認' });
      await admin.submit(await admin.get(`/admin/items/${b}`), `/admin/items/${b}/reject`, { comment: 'なりすましの疑い' });
      // The released original itself reached the next hop too.
      await expect.poll(() => sink.messages.length).toBe(3);
      await m.tick();
      await expect.poll(() => sink.messages.length).toBe(5);
      const toStaff = sink.messages.filter((x) => x.to.includes(STAFF) && x.subject.includes('解放申請'));
      expect(toStaff.map((x) => x.subject)).toEqual([`【無害化ゲートウェイ】解放申請を承認しました（${a}）`, `【無害化ゲートウェイ】解放申請は却下されました（${b}）`]);
      expect(toStaff[0]!.text).toContain('コメント: 電話で確認');
      expect(toStaff[1]!.text).toContain('理由: なりすましの疑い');
      const sent = (await cons.records('notification-sent')).filter((r) => r.details.kind === 'decision');
      expect(sent.map((r) => [r.object, r.details.decision, r.details.to])).toEqual([
        [a, 'release-delivered', [STAFF]],
        [b, 'release-rejected', [STAFF]],
      ]);
    });

    it('tries again when the next hop does not take the mail, and records it only once delivered', async () => {
      await start();
      const m = mailer();
      await m.tick();
      const a = await quarantine('R');
      await request(a, 'r');
      refuse = true;
      await m.tick();
      expect(await cons.records('notification-sent')).toHaveLength(0);
      refuse = false;
      await m.tick();
      await expect.poll(() => sink.messages.length).toBe(1);
      expect(await cons.records('notification-sent')).toHaveLength(1);
    });
  });
}
