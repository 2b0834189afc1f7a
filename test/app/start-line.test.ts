// The first log line's console address and first-administrator hint.
import { describe, expect, it } from 'vitest';
import { consoleAddress, firstAdminHint } from '../../src/app/start-line.js';
import type { UserRow } from '../../src/model/users.js';

const user = (role: UserRow['role'], disabled = false) => ({ name: role, role, disabled }) as UserRow;

describe('the start line', () => {
  it('names the console as a browser opens it', () => {
    expect(consoleAddress(undefined, false, '127.0.0.1', 8025)).toBe('http://127.0.0.1:8025/');
    expect(consoleAddress(undefined, true, '0.0.0.0', 8443)).toBe('https://127.0.0.1:8443/');
    expect(consoleAddress(undefined, false, '::', 8025)).toBe('http://[::1]:8025/');
    expect(consoleAddress(undefined, false, '192.0.2.7', 8025)).toBe('http://192.0.2.7:8025/');
    // web.publicUrl, the address clerks reach, wins.
    expect(consoleAddress('https://mugaika.city.example.lg.jp', false, '127.0.0.1', 8025)).toBe('https://mugaika.city.example.lg.jp/');
  });

  it('says how to make the first administrator only while there is no enabled one and no directory', () => {
    expect(firstAdminHint([], false)).toMatch(/mugaika user add .* --role admin/);
    expect(firstAdminHint([user('staff'), user('auditor'), user('admin', true)], false)).not.toBeNull();
    expect(firstAdminHint([user('admin')], false)).toBeNull();
    expect(firstAdminHint([], true)).toBeNull();
  });
});
