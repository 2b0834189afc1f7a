import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { withReleasedBy } from '../../src/quarantine/release-header.js';

describe('X-Mugaika-Released-By', () => {
  it('is one header line whatever the actor holds, in the original’s own line ending', async () => {
    const crlf = Buffer.from('Subject: a\r\nTo: b@city.example.lg.jp\r\n\r\nbody\r\n');
    const out = withReleasedBy(crlf, 'evil\r\nBcc: all@city.example.lg.jp');
    expect(out.toString()).toBe(`X-Mugaika-Released-By: evil Bcc: all@city.example.lg.jp\r\n${crlf.toString()}`);
    const parsed = await simpleParser(out);
    expect(parsed.bcc).toBeUndefined();
    expect(parsed.headers.get('x-mugaika-released-by')).toBe('evil Bcc: all@city.example.lg.jp');

    const lf = Buffer.from('Subject: a\n\nbody\n');
    const jp = withReleasedBy(lf, '管理者 佐藤');
    expect(jp.subarray(jp.length - lf.length).equals(lf)).toBe(true);
    const word = /^X-Mugaika-Released-By: =\?UTF-8\?B\?([A-Za-z0-9+/=]+)\?=\nSubject: a\n/.exec(jp.toString());
    expect(Buffer.from(word?.[1] ?? '', 'base64').toString('utf8')).toBe('管理者 佐藤');
  });
});
