import { writeFileSync } from 'node:fs';
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
});
