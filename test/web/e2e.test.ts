// The console in a real browser (Debian's Chromium through playwright-core):
// an administrator logs in for the first time, enrols a phone from the QR
// page (the code computed from the key the page shows), keeps the recovery
// codes, looks at their account, logs out, and logs in again with a code.
// No script runs and the CSP is never violated. A screenshot of each screen
// goes to test-output/screenshots/.
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { totpCodeAt } from '../../src/users/totp.js';
import { launchChromium, type Chromium } from '../helpers/chromium.js';
import { sqliteBackend } from '../store/backends.js';
import { PASSWORD, startConsole, type Console } from './setup.js';

let cons: Console | undefined;
let chrome: Chromium | undefined;
afterEach(async () => {
  await chrome?.close();
  await cons?.close();
  chrome = cons = undefined;
});

describe('the console in Chromium', () => {
  it('logs an administrator in with TOTP: enrolment at the first login, a code the next time', async () => {
    cons = await startConsole(sqliteBackend);
    const c = cons;
    // The browser expires cookies by its own clock: the console's starts from now.
    c.clock.t = Date.now();
    await c.users.add({ name: 'kanri', role: 'admin', displayName: '総務課 管理者', password: PASSWORD }, 'cli:root');
    chrome = await launchChromium();
    const { page } = chrome;
    const base = `http://127.0.0.1:${c.port}`;

    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await chrome.screenshot('01-login');
    await page.getByLabel('ユーザー名').fill('kanri');
    await page.getByLabel('パスワード').fill(PASSWORD);
    await page.getByRole('button', { name: 'ログイン' }).click();

    await page.waitForURL(`${base}/login/enrol`);
    await expect(page.getByRole('img', { name: 'QR' }).isVisible()).resolves.toBe(true);
    await chrome.screenshot('02-enrol');
    const secret = (await page.locator('.secret').innerText()).replace(/\s/g, '');
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await page.getByLabel('確認コード').fill(await totpCodeAt(secret, c.now()));
    await page.getByRole('button', { name: '登録する' }).click();

    await page.getByRole('heading', { name: '回復コード' }).waitFor();
    expect(await page.locator('ol.codes li').count()).toBe(10);
    await chrome.screenshot('03-recovery-codes');
    await page.getByRole('link', { name: '管理コンソールへ進む' }).click();
    await page.getByText('総務課 管理者').waitFor();
    await chrome.screenshot('04-start-admin');

    await page.getByRole('link', { name: 'アカウント' }).click();
    await page.getByRole('heading', { name: 'ログイン中のセッション' }).waitFor();
    expect(await page.getByText('二要素認証は設定済みです').isVisible()).toBe(true);
    await chrome.screenshot('05-account');
    await page.getByRole('button', { name: 'ログアウト' }).click();
    await page.getByText('ログアウトしました').waitFor();

    // The next login asks for a code, and takes the next one (the enrolment's own is spent).
    c.clock.t += 30_000;
    await page.getByLabel('ユーザー名').fill('kanri');
    await page.getByLabel('パスワード').fill(PASSWORD);
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.waitForURL(`${base}/login/code`);
    await chrome.screenshot('06-code');
    await page.getByLabel('確認コード').fill('000000');
    await page.getByRole('button', { name: '確認する' }).click();
    await page.getByText('確認コードが違います').waitFor();
    await page.getByLabel('確認コード').fill(await totpCodeAt(secret, c.now()));
    await page.getByRole('button', { name: '確認する' }).click();
    await page.getByText('解放申請（古い順）').waitFor();
    await chrome.screenshot('07-start-again');

    // Nothing but the answers' own status codes (the 401 of the wrong code, the favicon's 404): no CSP violation, no script error.
    expect(chrome.errors.filter((e) => !e.startsWith('Failed to load resource: the server responded with a status of'))).toEqual([]);
    expect(existsSync(await chrome.screenshot('08-done'))).toBe(true);
    expect((await c.records('login-succeeded')).map((r) => r.details.factors)).toEqual([
      ['password', 'totp'],
      ['password', 'totp'],
    ]);
  });
});
