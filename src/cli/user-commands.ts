// `mugaika user ...`: the console's accounts. Each change is audited
// (`user-changed`) with the actor (--by), in the same transaction.
import { randomBytes } from 'node:crypto';
import { Argument, Option, type Command } from 'commander';
import { jstTableOf } from '../core/jst.js';
import { roles, type Role } from '../model/users.js';
import type { UserSummary } from '../users/directory.js';
import { inContext, withCommonOptions } from '../app/cli-context.js';

interface Common {
  dataDir?: string;
  config?: string;
  by?: string;
}

/** The first line of standard input, without its line end. */
async function passwordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

/** A password to hand over once: 20 characters from a 120-bit random value. */
const generatedPassword = (): string => randomBytes(15).toString('base64url');

const roleLabel: Record<Role, string> = { staff: '職員', admin: '管理者', auditor: '監査者' };

const line = (u: UserSummary): string =>
  [
    u.name.padEnd(16),
    `${u.role} (${roleLabel[u.role]})`.padEnd(16),
    (u.email ?? '-').padEnd(32),
    u.aliases.length > 0 ? `(+${u.aliases.join(', ')})` : '',
    u.disabled ? '無効 / disabled' : u.lockedUntil && u.lockedUntil > new Date().toISOString() ? `ロック中 / locked until ${jstTableOf(u.lockedUntil)}` : '有効 / enabled',
    u.source === 'ldap' ? 'ディレクトリ / directory' : '',
    u.secondFactor ? '2FA' : '',
    u.displayName,
  ]
    .filter((f) => f !== '')
    .join(' ');

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('コンソールの利用者の管理 / manage console users (staff, admin, auditor)');

  withCommonOptions(user.command('list').description('利用者の一覧 / list users'))
    .option('--json', 'JSON 行で出力 / print JSON lines')
    .action((opts: Common & { json?: boolean }) =>
      inContext(opts, async ({ store, audit }) => {
        const { createUserDirectory } = await import('../users/directory.js');
        const users = await createUserDirectory(store, audit).list();
        for (const u of users) process.stdout.write(opts.json ? `${JSON.stringify(u)}\n` : `${line(u)}\n`);
        if (!opts.json) process.stdout.write(`${users.length} 人 / ${users.length} users\n`);
      }),
    );

  withCommonOptions(user.command('add').description('利用者を追加する / add a user').argument('<name>', 'ログイン名 / login name'))
    .addOption(new Option('--role <role>', '役割 / role: staff=職員, admin=管理者, auditor=監査者').choices(roles).makeOptionMandatory())
    .option('--email <address>', 'メールアドレス(職員は必須)/ mail address (required for staff: their quarantined mail)')
    .option('--display-name <name>', '表示名 / display name')
    .option('--alias <address...>', '別名のアドレス(この宛先の隔離メールも本人のものになります)/ other addresses whose quarantined mail is theirs too')
    .option('--password-stdin', 'パスワードを標準入力の 1 行目から読む / read the password from the first line of standard input')
    .action((name: string, opts: Common & { role: Role; email?: string; alias?: string[]; displayName?: string; passwordStdin?: boolean }) =>
      inContext(opts, async ({ store, audit }, actor) => {
        const { createUserDirectory } = await import('../users/directory.js');
        const password = opts.passwordStdin ? await passwordFromStdin() : generatedPassword();
        const u = await createUserDirectory(store, audit).add({ name, role: opts.role, email: opts.email ?? null, aliases: opts.alias ?? [], displayName: opts.displayName, password }, actor);
        process.stdout.write(`利用者 ${u.name} (${u.role}) を追加しました / added ${u.name} (${u.role})\n`);
        if (!opts.passwordStdin) {
          process.stdout.write(`初期パスワード / initial password: ${password}\n(本人に安全な方法で伝えてください。この表示は一度だけです / hand it over safely: it is shown only once)\n`);
        }
      }),
    );

  withCommonOptions(user.command('role').description("役割を変える / change a user's role").argument('<name>').addArgument(new Argument('<role>', '役割 / role').choices(roles))).action(
    (name: string, role: Role, opts: Common) =>
      inContext(opts, async ({ store, audit }, actor) => {
        const { createUserDirectory } = await import('../users/directory.js');
        const u = await createUserDirectory(store, audit).setRole(name, role, actor);
        process.stdout.write(`${u.name} の役割を ${u.role} にしました(ログイン中のセッションは終了)/ ${u.name} is now ${u.role}; their sessions have ended\n`);
      }),
  );

  withCommonOptions(user.command('email').description("メールアドレスを変える / change a user's mail address").argument('<name>').argument('<address>')).action(
    (name: string, address: string, opts: Common) =>
      inContext(opts, async ({ store, audit }, actor) => {
        const { createUserDirectory } = await import('../users/directory.js');
        const u = await createUserDirectory(store, audit).setEmail(name, address, actor);
        process.stdout.write(`${u.name} のメールアドレスを ${u.email ?? '-'} にしました / ${u.name}'s address is now ${u.email ?? '-'}\n`);
      }),
  );

  withCommonOptions(
    user
      .command('aliases')
      .description("別名のアドレスを設定する(指定しなければすべて削除)/ set a user's other addresses (none removes them all)")
      .argument('<name>')
      .argument('[address...]', '別名のアドレス / addresses'),
  ).action((name: string, addresses: string[], opts: Common) =>
    inContext(opts, async ({ store, audit }, actor) => {
      const { createUserDirectory } = await import('../users/directory.js');
      const u = await createUserDirectory(store, audit).setAliases(name, addresses, actor);
      const list = u.aliases.length > 0 ? u.aliases.join(', ') : '-';
      process.stdout.write(`${u.name} の別名のアドレスを ${list} にしました(ログイン中のセッションは終了)/ ${u.name}'s aliases are now ${list}; their sessions have ended\n`);
    }),
  );

  withCommonOptions(user.command('passwd').description('パスワードを再設定する / set a new password').argument('<name>'))
    .option('--password-stdin', 'パスワードを標準入力の 1 行目から読む / read the password from the first line of standard input')
    .action((name: string, opts: Common & { passwordStdin?: boolean }) =>
      inContext(opts, async ({ store, audit }, actor) => {
        const { createUserDirectory } = await import('../users/directory.js');
        const password = opts.passwordStdin ? await passwordFromStdin() : generatedPassword();
        const u = await createUserDirectory(store, audit).setPassword(name, password, actor);
        process.stdout.write(`${u.name} のパスワードを再設定しました / set a new password for ${u.name}\n`);
        if (!opts.passwordStdin) process.stdout.write(`新しいパスワード / new password: ${password}\n`);
      }),
    );

  withCommonOptions(user.command('disable').description('利用を止める(ログイン不可、セッション終了)/ disable: no logins, sessions end').argument('<name>')).action((name: string, opts: Common) =>
    inContext(opts, async ({ store, audit }, actor) => {
      const { createUserDirectory } = await import('../users/directory.js');
      const u = await createUserDirectory(store, audit).disable(name, actor);
      process.stdout.write(`${u.name} を無効にしました / disabled ${u.name}\n`);
    }),
  );

  withCommonOptions(
    user
      .command('reset-2fa')
      .description('二要素認証を解除する(スマートフォンの紛失時。次のログインで再設定)/ remove the second factor (a lost phone): they enrol again at their next login')
      .argument('<name>'),
  ).action((name: string, opts: Common) =>
    inContext(opts, async ({ store, audit }, actor) => {
      const { createUserDirectory } = await import('../users/directory.js');
      const u = await createUserDirectory(store, audit).resetSecondFactor(name, actor);
      process.stdout.write(
        `${u.name} の二要素認証を解除しました。ログイン中のセッションは終了しました。次のログインで設定し直します / removed the second factor of ${u.name}; their sessions have ended, and they enrol again at their next login\n`,
      );
    }),
  );

  withCommonOptions(user.command('enable').description('利用を再開する(ロックも解除)/ enable again, and lift a lockout').argument('<name>')).action((name: string, opts: Common) =>
    inContext(opts, async ({ store, audit }, actor) => {
      const { createUserDirectory } = await import('../users/directory.js');
      const u = await createUserDirectory(store, audit).enable(name, actor);
      process.stdout.write(`${u.name} を有効にしました / enabled ${u.name}\n`);
    }),
  );
}
