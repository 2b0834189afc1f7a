// The policy's sender rules: what matches, that they only add strictness, and
// what sanitize() does with them on real MIME, through to a release that needs
// two administrators.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { policySchema } from '../../src/core/policy.js';
import { sendersSchema } from '../../src/core/sender-policy.js';
import { isAllowedSender, senderTreatment, type SenderContext } from '../../src/core/sender-rules.js';
import { createMaildirCarrier } from '../../src/delivery/maildir-carrier.js';
import type { SenderFacts } from '../../src/model/sender-trust.js';
import { approve } from '../../src/quarantine/approvals.js';
import { createWorkflow } from '../../src/quarantine/workflow.js';
import { harness, plain, policyWith, run, tempDir, withAttachments } from '../helpers/run.js';

const facts = (dmarc: 'pass' | 'fail' | 'none', policy: 'none' | 'quarantine' | 'reject' | null, extra: Partial<SenderFacts> = {}): SenderFacts => ({
  authentication: {
    spf: { result: dmarc === 'pass' ? 'pass' : 'fail', domain: 'example.jp', detail: '' },
    dkim: [],
    dmarc: { result: dmarc, domain: 'example.jp', policy, detail: '' },
    arc: null,
    authservId: 'mugaika.test',
  },
  firstContactFor: null,
  ...extra,
});

const ctx = (o: Partial<SenderContext> = {}): SenderContext => ({
  addresses: ['Keiri@Example.JP', null],
  recipients: ['soumu@city.example.lg.jp'],
  facts: null,
  assessment: null,
  ...o,
});

const senders = (input: unknown) => sendersSchema.parse(input);

describe('sender rule matching', () => {
  it('matches an address case-insensitively, and a domain with its subdomains but not look-alikes', () => {
    const p = senders({
      rules: [
        { name: 'addr', when: { sender: ['keiri@example.jp'] }, then: { quarantine: true } },
        { name: 'dom', when: { sender: ['example.jp'] }, then: { approvals: 2 } },
      ],
    });
    expect(senderTreatment(p, ctx()).rules).toEqual(['addr', 'dom']);
    expect(senderTreatment(p, ctx({ addresses: ['x@mail.example.jp'] })).rules).toEqual(['dom']);
    expect(senderTreatment(p, ctx({ addresses: ['x@badexample.jp', 'y@example.jp.evil.test'] })).rules).toEqual([]);
    // The envelope sender counts as well as the From header.
    expect(senderTreatment(p, ctx({ addresses: ['x@other.test', 'keiri@example.jp'] })).rules).toEqual(['addr', 'dom']);
  });

  it('matches IDN senders in punycode', () => {
    const p = senders({ exclude: [{ sender: 'xn--eckwd4c7c.jp' }] });
    expect(senderTreatment(p, ctx({ addresses: ['a@ドメイン.jp'] })).block).toEqual({ by: 'exclude', entry: 'xn--eckwd4c7c.jp' });
  });

  it('matches authentication words, not-evaluated when nothing was checked, and none for an unsigned message', () => {
    const p = senders({
      rules: [
        { name: 'dmarc-fail', when: { dmarc: ['fail'] }, then: { images: 'pdf-page' } },
        { name: 'unchecked', when: { spf: ['not-evaluated'] }, then: { quarantine: true } },
        { name: 'unsigned', when: { dkim: ['none'] }, then: { approvals: 2 } },
      ],
    });
    expect(senderTreatment(p, ctx({ facts: facts('fail', 'none') })).rules).toEqual(['dmarc-fail', 'unsigned']);
    expect(senderTreatment(p, ctx({ facts: facts('pass', 'none') })).rules).toEqual(['unsigned']);
    expect(senderTreatment(p, ctx()).rules).toEqual(['unchecked']);
    const noSpf = facts('pass', null);
    expect(senderTreatment(p, ctx({ facts: { ...noSpf, authentication: { ...noSpf.authentication!, spf: null } } })).rules).toEqual(['unchecked', 'unsigned']);
  });

  it('first contact matches only when known, and the assessment only when there is one', () => {
    const p = senders({
      rules: [
        { name: 'new', when: { firstContact: true }, then: { quarantine: true } },
        { name: 'sus', when: { level: ['suspicious'] }, then: { block: true } },
      ],
    });
    expect(senderTreatment(p, ctx({ facts: { authentication: null, firstContactFor: ['soumu@city.example.lg.jp'] } })).rules).toEqual(['new']);
    expect(senderTreatment(p, ctx({ facts: { authentication: null, firstContactFor: [] } })).rules).toEqual([]);
    expect(senderTreatment(p, ctx({ facts: { authentication: null, firstContactFor: null } })).rules).toEqual([]);
    expect(senderTreatment(p, ctx({ assessment: { level: 'suspicious', reasons: [] } })).block).toEqual({ by: 'rule', rule: 'sus' });
    expect(senderTreatment(p, ctx({ assessment: { level: 'verified', reasons: [] } })).block).toBeNull();
  });

  it('recipient groups hold addresses and domains; a rule naming an unknown group is refused', () => {
    const p = senders({ groups: { somu: ['soumu@city.example.lg.jp'], kyoiku: ['school.city.example.lg.jp'] }, rules: [{ name: 'r', when: { recipientGroup: ['kyoiku'] }, then: { approvals: 2 } }] });
    expect(senderTreatment(p, ctx()).twoApprovals).toBe(false);
    expect(senderTreatment(p, ctx({ recipients: ['SOUMU@city.example.lg.jp', 'a@x.school.city.example.lg.jp'] })).twoApprovals).toBe(true);
    expect(() => senders({ rules: [{ name: 'r', when: { recipientGroup: ['none'] }, then: { block: true } }] })).toThrow(/no group named none/);
  });

  it('DMARC p=reject with a fail blocks by default, also for an allowed sender; quarantine or none does not', () => {
    const p = senders({ allow: [{ sender: 'example.jp' }] });
    expect(senderTreatment(p, ctx({ facts: facts('fail', 'reject') }))).toMatchObject({ block: { by: 'dmarc-reject', domain: 'example.jp' }, keepOriginal: true });
    expect(senderTreatment(p, ctx({ facts: facts('fail', 'quarantine') })).block).toBeNull();
    expect(senderTreatment(p, ctx({ facts: facts('pass', 'reject') })).block).toBeNull();
    expect(isAllowedSender(p, 'keiri@example.jp')).toBe(true);
    expect(isAllowedSender(p, 'keiri@example.com')).toBe(false);
  });

  it('no rule can express loosening: only the strict literals are accepted', () => {
    for (const then of [{ images: 'reencode' }, { approvals: 1 }, { quarantine: false }, { block: false }, { deliverOriginal: true }, {}]) {
      expect(() => senders({ rules: [{ name: 'x', then }] }), JSON.stringify(then)).toThrow();
    }
    expect(() => senders({ allow: [{ sender: 'not a domain!' }] })).toThrow();
    // And rules combine by "or": more rules never mean less.
    const p = senders({
      rules: [
        { name: 'a', then: { approvals: 2 } },
        { name: 'b', then: { quarantine: true } },
      ],
    });
    expect(senderTreatment(p, ctx())).toMatchObject({ twoApprovals: true, keepOriginal: true, imagesAsPdf: false, block: null });
  });
});

const png = (w: number, h: number): Promise<Buffer> =>
  sharp({ create: { width: w, height: h, channels: 3, background: '#c00' } })
    .png()
    .toBuffer();

describe('sanitize() with sender rules', () => {
  it('delivers every image as a page of a new PDF, one page of the image size', async () => {
    const policy = policyWith({ senders: { rules: [{ name: 'pages', when: { sender: ['example.jp'] }, then: { images: 'pdf-page' } }] } });
    const o = await run(withAttachments('写真です', [{ type: 'image/png', filename: '写真.png', body: await png(64, 32) }]), policy);
    expect(o.result.verdict).toBe('sanitized');
    expect(o.codes).toContain('image-as-pdf');
    expect(o.codes).not.toContain('image-reencoded');
    const atts = o.mail!.attachments;
    expect(atts.map((a) => [a.contentType, a.filename])).toEqual([['application/pdf', '写真.png.pdf']]);
    const doc = await PDFDocument.load(atts[0]!.content);
    expect(doc.getPageCount()).toBe(1);
    expect(doc.getPage(0).getSize()).toEqual({ width: 48, height: 24 });
    expect(o.mail!.text).toContain('画像を作り直して PDF にしました');
    // Another sender's image is re-encoded as an image, as before.
    const other = await run(
      withAttachments('x', [{ type: 'image/png', filename: 'a.png', body: await png(8, 8) }], ['Sender: x@other.test']),
      policyWith({ senders: { rules: [{ name: 'pages', when: { sender: ['other.test'] }, then: { images: 'pdf-page' } }] } }),
    );
    expect(other.mail!.attachments.map((a) => a.contentType)).toEqual(['image/png']);
  });

  it('blocks a sender on the exclusion list: the notice only, the original quarantined', async () => {
    const policy = policyWith({ senders: { exclude: [{ sender: 'sender@example.jp', note: '過去に不審メール' }] } });
    const o = await run(withAttachments('本文です', [{ type: 'image/png', filename: 'a.png', body: await png(4, 4) }]), policy);
    expect(o.result).toMatchObject({ action: 'deliver', verdict: 'blocked' });
    expect(o.codes[0]).toBe('sender-blocked');
    expect(o.result.quarantineId).not.toBeNull();
    expect(o.mail!.attachments).toEqual([]);
    expect(o.mail!.text).not.toContain('本文です');
    expect(o.mail!.text).toContain('送信元についての設定により、本文と添付ファイルをお届けできません。');
    const kept = await o.h.store.get(o.result.quarantineId!);
    expect(kept.raw.toString('latin1')).toContain('mugaika-test-boundary');
  });

  it('blocks a From domain that publishes DMARC p=reject and fails it, and quarantines the original', async () => {
    const o = await run(plain('お支払い口座の変更のお願い'), undefined, undefined, { sender: facts('fail', 'reject') });
    expect(o.result.verdict).toBe('blocked');
    expect(o.result.findings[0]).toMatchObject({ code: 'dmarc-reject', detail: 'example.jp' });
    expect(o.mail!.text).not.toContain('お支払い口座');
    expect(o.mail!.text).toContain('差出人のドメインが、送信元を確認できないメールは受け取らないよう求めていて');
    expect((await o.h.store.details(o.result.quarantineId!)).item.findings).toContain('dmarc-reject');
    // The same message passing DMARC is delivered sanitized.
    const ok = await run(plain('お支払い口座の変更のお願い'), undefined, undefined, { sender: facts('pass', 'reject') });
    expect(ok.result.verdict).not.toBe('blocked');
  });

  it('keeps the original a rule asks for even when keepOriginals would not', async () => {
    const base = { quarantine: { keepOriginals: 'content-changed' as const } };
    const none = await run(plain('こんにちは'), policyWith(base));
    expect(none.result.quarantineId).toBeNull();
    const o = await run(plain('こんにちは'), policyWith({ ...base, senders: { rules: [{ name: 'keep-all', then: { quarantine: true } }] } }));
    expect(o.result.quarantineId).not.toBeNull();
    expect(o.result.findings).toContainEqual({ code: 'sender-quarantined', detail: 'keep-all' });
  });

  it('an item a rule marked needs two different administrators, though the policy asks for one', async () => {
    const h = await harness();
    const policy = policyWith({ senders: { rules: [{ name: 'two', when: { sender: ['example.jp'] }, then: { approvals: 2, quarantine: true } }] } });
    expect(policy.release.approvals).toBe(1);
    const o = await run(plain('原本の解放には2人の承認'), policy, h);
    const id = o.result.quarantineId!;
    expect((await h.store.details(id)).meta.approvals).toBe(2);
    const maildir = tempDir();
    const deps = { vault: h.store, workflow: createWorkflow(h.store), carrier: createMaildirCarrier(maildir), approvals: policy.release.approvals };
    expect(await approve(deps, id, 'console:kanri1', '確認しました')).toEqual({ kind: 'first-recorded' });
    expect((await h.store.details(id)).item.state).toBe('held');
    expect(await approve(deps, id, 'console:kanri1', 'もう一度')).toEqual({ kind: 'already-approved-by-you' });
    const second = await approve(deps, id, 'console:kanri2', '確認しました');
    expect(second).toMatchObject({ kind: 'released', approvers: ['console:kanri1', 'console:kanri2'] });
    expect((await h.store.details(id)).item.state).toBe('released');
    expect(readdirSync(path.join(maildir, 'new'))).toHaveLength(1);
    // An unmarked item of the same store still releases with one approval.
    const plainItem = (await run(plain('ふつう'), policyWith({ senders: { rules: [{ name: 'k', then: { quarantine: true } }] } }), h)).result.quarantineId!;
    expect(await approve(deps, plainItem, 'console:kanri1', 'ok')).toMatchObject({ kind: 'released', approvers: ['console:kanri1'] });
  });

  it('the embedded policy has no lists, groups or rules, and no own or partner organisations', () => {
    expect(policySchema.parse({}).senders).toEqual({
      allow: [],
      exclude: [],
      groups: {},
      rules: [],
      own: { names: [], domains: [] },
      partners: [],
      firstContactDays: 90,
      subjectTag: '[なりすまし注意]',
    });
  });
});
