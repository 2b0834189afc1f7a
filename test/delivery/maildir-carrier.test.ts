import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMaildirCarrier, maildirUniqueName } from '../../src/delivery/maildir-carrier.js';
import { tempDir } from '../helpers/run.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
// UTF-8, a lone dot line, a bare LF and an invalid byte: all must land unchanged.
const raw = (n: number): Buffer => Buffer.concat([Buffer.from(`From: a@example.jp\r\nSubject: ${n}\r\n\r\n本文 ${n}\r\n.\r\nbare LF\n`), Buffer.from([0xff, 0x0d, 0x0a])]);

describe('Maildir carrier', () => {
  it('creates tmp/ new/ cur/ (0700) and lands each message in new/ byte for byte, nothing left in tmp/', async () => {
    const dir = path.join(tempDir(), 'data', 'maildir');
    const carrier = createMaildirCarrier(dir);
    expect(carrier.name).toBe(`maildir:${dir}`);
    const messages = [1, 2, 3].map(raw);
    const results = await Promise.all(messages.map((m) => carrier.send({ mailFrom: 'a@example.jp', rcptTo: ['x@city.example.lg.jp', 'y@city.example.lg.jp'] }, m)));
    for (const r of results) expect(r).toEqual({ accepted: ['x@city.example.lg.jp', 'y@city.example.lg.jp'], temporary: [], permanent: [] });

    for (const sub of ['tmp', 'new', 'cur']) expect(statSync(path.join(dir, sub)).mode & 0o777).toBe(0o700);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(path.join(dir, 'tmp'))).toEqual([]);
    expect(readdirSync(path.join(dir, 'cur'))).toEqual([]);
    const delivered = readdirSync(path.join(dir, 'new'));
    expect(delivered).toHaveLength(3); // one file per message, not per recipient
    for (const name of delivered) {
      expect(name).toMatch(/^\d+\.M\d+P\d+Q\d+R[0-9a-f]{16}\.[^/:]+$/);
      expect(statSync(path.join(dir, 'new', name)).mode & 0o777).toBe(0o600);
    }
    expect(delivered.map((n) => sha256(readFileSync(path.join(dir, 'new', n)))).sort()).toEqual(messages.map(sha256).sort());
    await carrier.close();
  });

  it('delivers into an existing Maildir, and the null sender is fine', async () => {
    const dir = tempDir();
    await createMaildirCarrier(dir).send({ mailFrom: null, rcptTo: ['x@city.example.lg.jp'] }, raw(1));
    const again = createMaildirCarrier(dir);
    expect((await again.send({ mailFrom: null, rcptTo: ['x@city.example.lg.jp'] }, raw(2))).accepted).toEqual(['x@city.example.lg.jp']);
    expect(readdirSync(path.join(dir, 'new'))).toHaveLength(2);
  });

  it('an fs failure (the Maildir path is a regular file) is temporary for every recipient', async () => {
    const file = path.join(tempDir(), 'maildir');
    writeFileSync(file, 'not a directory');
    const carrier = createMaildirCarrier(file);
    const result = await carrier.send({ mailFrom: 'a@example.jp', rcptTo: ['x@city.example.lg.jp', 'y@city.example.lg.jp'] }, raw(1));
    expect(result.accepted).toEqual([]);
    expect(result.permanent).toEqual([]);
    expect(result.temporary.map((f) => [f.rcpt, f.code, f.status])).toEqual([
      ['x@city.example.lg.jp', null, null],
      ['y@city.example.lg.jp', null, null],
    ]);
    expect(result.temporary[0]!.reason).toMatch(/^maildir delivery failed: .*(EEXIST|ENOTDIR)/);
    expect(readFileSync(file, 'utf8')).toBe('not a directory');
  });

  it('an fs failure after the folders exist (new/ replaced by a file) leaves nothing behind in tmp/', async () => {
    const dir = tempDir();
    const carrier = createMaildirCarrier(dir);
    await carrier.send({ mailFrom: null, rcptTo: ['x@example.jp'] }, raw(1));
    rmSync(path.join(dir, 'new'), { recursive: true });
    writeFileSync(path.join(dir, 'new'), '');
    const result = await carrier.send({ mailFrom: null, rcptTo: ['x@example.jp'] }, raw(2));
    expect(result.accepted).toEqual([]);
    expect(result.temporary).toHaveLength(1);
    expect(result.temporary[0]!.reason).toMatch(/ENOTDIR/);
    expect(readdirSync(path.join(dir, 'tmp'))).toEqual([]);
  });

  it('unique names differ even within the same millisecond', () => {
    const now = Date.now();
    const names = new Set(Array.from({ length: 1000 }, () => maildirUniqueName(now)));
    expect(names.size).toBe(1000);
  });
});
