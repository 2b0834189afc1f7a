import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { SettingsError } from '../../src/settings/yaml-file.js';
import { tempDir } from '../helpers/run.js';

const write = (text: string): string => {
  const file = path.join(tempDir(), 'mugaika.yaml');
  writeFileSync(file, text);
  return file;
};

describe('gateway configuration', () => {
  it('the embedded defaults listen on loopback and deliver to the Maildir', async () => {
    const c = await loadConfig(undefined, {});
    expect(c.smtp.listen).toBe('127.0.0.1:2525');
    expect(c.web.listen).toBe('127.0.0.1:8025');
    expect(c.delivery.nextHop).toBeUndefined();
    expect(c.smtp.maxRecipients).toBe(1000);
    expect(c.delivery.maxAgeHours).toBe(120);
  });

  it('examples/mugaika.yaml is valid and says what it says', async () => {
    const c = await loadConfig('examples/mugaika.yaml', {});
    expect(c.delivery.nextHop).toBe('192.0.2.20:25');
    expect(c.smtp.relayDomains).toEqual(['city.example.lg.jp']);
  });

  it('the four environment variables override the file', async () => {
    const file = write('smtp:\n  listen: 127.0.0.1:2600\ndataDir: /x\n');
    const c = await loadConfig(file, {
      MUGAIKA_SMTP_LISTEN: '[::1]:2700',
      MUGAIKA_NEXT_HOP: 'lgwan-mta.example.lg.jp:25',
      MUGAIKA_DATA_DIR: '/var/lib/mugaika',
      MUGAIKA_WEB_LISTEN: '127.0.0.1:9000',
      MUGAIKA_UNRELATED: 'ignored',
    });
    expect(c.smtp.listen).toBe('[::1]:2700');
    expect(c.delivery.nextHop).toBe('lgwan-mta.example.lg.jp:25');
    expect(c.dataDir).toBe('/var/lib/mugaika');
    expect(c.web.listen).toBe('127.0.0.1:9000');
  });

  it('a bad environment value is named with the variable that set it', async () => {
    const err = await loadConfig(undefined, { MUGAIKA_NEXT_HOP: 'no-port' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SettingsError);
    expect((err as Error).message).toContain('MUGAIKA_NEXT_HOP');
    expect((err as Error).message).toContain('delivery.nextHop');
  });

  it('bad keys are refused by name in Japanese and English', async () => {
    const msg = String(await loadConfig(write('smtp:\n  relayDomain: [a.jp]\n  maxRecipients: -1\n'), {}).catch((e: Error) => e.message));
    expect(msg).toContain('不明な設定項目です: relayDomain');
    expect(msg).toContain('smtp.maxRecipients: must be');
    expect(msg).toContain('設定ファイル');
  });

  it('TLS needs both the key and the certificate', async () => {
    await expect(loadConfig(write('smtp:\n  tlsKeyFile: /k.pem\n'), {})).rejects.toThrow(/tlsKeyFile and smtp.tlsCertFile go together/);
  });

  it('the console: HTTPS needs both files, the ops listener can be moved (MUGAIKA_OPS_LISTEN), trusted proxies are listed', async () => {
    await expect(loadConfig(write('web:\n  tlsCertFile: /c.pem\n'), {})).rejects.toThrow(/web.tlsKeyFile and web.tlsCertFile go together/);
    const c = await loadConfig(write('web:\n  trustProxy: [192.0.2.5, 10.0.0.0/8]\n  staffTotp: required\n'), { MUGAIKA_OPS_LISTEN: '127.0.0.1:9025' });
    expect(c.web).toMatchObject({ opsListen: '127.0.0.1:9025', trustProxy: ['192.0.2.5', '10.0.0.0/8'], staffTotp: 'required', idleMinutes: 30, lockoutAttempts: 5 });
    await expect(loadConfig(write('web:\n  staffTotp: never\n'), {})).rejects.toThrow(/web.staffTotp/);
  });

  it('a directory is reached over LDAPS or StartTLS only, and the example (uncommented) is valid', async () => {
    const ldap = (url: string, extra = '') => write(`web:\n  ldap:\n    url: ${url}\n    bindDn: cn=x\n    userBase: ou=people\n    groups:\n      staff: cn=s\n${extra}`);
    await expect(loadConfig(ldap('ldap://ad.example:389'), {})).rejects.toThrow(/use ldaps:\/\/ or startTls: true/);
    expect((await loadConfig(ldap('ldap://ad.example:389', '    startTls: true\n'), {})).web.ldap?.startTls).toBe(true);
    expect((await loadConfig(ldap('ldaps://ad.example'), {})).web.ldap).toMatchObject({ userFilter: '(&(objectClass=person)(uid={name}))', memberAttribute: 'member', timeoutMs: 5000 });
    await expect(loadConfig(write('web:\n  ldap:\n    url: ldaps://ad\n    bindDn: cn=x\n    userBase: ou=p\n    userFilter: (uid=x)\n    groups: {staff: cn=s}\n'), {})).rejects.toThrow(/userFilter/);
    // The commented ldap block of examples/mugaika.yaml, uncommented.
    const text = readFileSync('examples/mugaika.yaml', 'utf8');
    const at = text.indexOf('  # ldap:');
    const block = text
      .slice(at)
      .split('\n')
      .filter((l) => l.startsWith('  # ') && !/^ {2}# {3,}#/.test(l))
      .map((l) => `  ${l.slice(4)}`)
      .join('\n');
    const c = await loadConfig(write(`${text.slice(0, at)}${block}\n`), {});
    expect(c.web.ldap).toMatchObject({ url: 'ldaps://ad.city.example.lg.jp:636', nestedGroups: true, groups: { admin: expect.stringContaining('mugaika-admin') } });
  });
});
