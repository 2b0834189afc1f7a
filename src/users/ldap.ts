// The municipality's directory (LDAP / Active Directory) as the source of
// console users: who they are, their password (checked by binding as them,
// over LDAPS or StartTLS only), and their role (membership of the groups the
// configuration names). Nothing of it is kept but what the console shows: the
// name, display name, mail address and role, refreshed at every login.
//
// Every value that goes into a filter is escaped (RFC 4515), and the login
// name has already passed checkUserName: `*)(uid=*` finds nobody.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, Filter, InvalidCredentialsError, type Entry } from 'ldapts';
import type { LdapConfig } from '../config/schema.js';
import type { Role } from '../model/users.js';

export interface DirectoryProfile {
  dn: string;
  displayName: string;
  email: string | null;
  role: Role;
}

/** What the directory says of a user: found with a role, or why not. */
export type DirectoryAnswer =
  | { kind: 'ok'; profile: DirectoryProfile }
  | { kind: 'unknown' }
  | { kind: 'bad-password' }
  | { kind: 'no-group' }
  | { kind: 'conflicting-groups'; roles: Role[] }
  | { kind: 'unavailable'; error: string };

export interface Directory {
  /** Binds as the user with the password, then reads their entry and groups. */
  authenticate(name: string, password: string): Promise<DirectoryAnswer>;
  /** The user's entry and groups as the service account sees them now (a session's re-check). */
  lookup(name: string): Promise<Exclude<DirectoryAnswer, { kind: 'bad-password' }>>;
}

export interface DirectorySettings extends LdapConfig {
  bindPassword: string;
}

/** Reads the service account's password: MUGAIKA_LDAP_BIND_PASSWORD, else the first line of bindPasswordFile. */
export function ldapBindPassword(c: LdapConfig, env: NodeJS.ProcessEnv): string {
  const fromEnv = env.MUGAIKA_LDAP_BIND_PASSWORD;
  if (fromEnv) return fromEnv;
  if (!c.bindPasswordFile) {
    throw new Error('web.ldap.bindPasswordFile か MUGAIKA_LDAP_BIND_PASSWORD を設定してください / set web.ldap.bindPasswordFile or MUGAIKA_LDAP_BIND_PASSWORD');
  }
  return readFileSync(c.bindPasswordFile, 'utf8').split(/\r?\n/)[0] ?? '';
}

/** Roles in the order that wins when a user is in several groups; admin and auditor together are refused (separation of duties). */
const PRECEDENCE: readonly Role[] = ['admin', 'auditor', 'staff'];

class Deadline extends Error {}

export function createLdapDirectory(s: DirectorySettings): Directory {
  const host = new URL(s.url).hostname.replace(/^\[|\]$/g, '');
  // The certificate is checked against the URL's host; for StartTLS too (tls.connect over the open socket would check "localhost").
  const tlsOptions: ConnectionOptions = { minVersion: 'TLSv1.2', host, ...(isIP(host) ? {} : { servername: host }), ...(s.caFile ? { ca: readFileSync(s.caFile) } : {}) };
  const ldaps = s.url.startsWith('ldaps://');

  /** A connection of its own per use: a user's bind must never share the service account's. */
  const connect = async (): Promise<Client> => {
    // ldapts speaks TLS from the first byte whenever tlsOptions are given: only for ldaps://.
    const client = new Client({ url: s.url, timeout: s.timeoutMs, connectTimeout: s.timeoutMs, strictDN: false, ...(ldaps ? { tlsOptions } : {}) });
    if (!ldaps) await client.startTLS({ ...tlsOptions });
    return client;
  };

  /** Runs `work` on fresh connections, all closed afterwards; a directory slower than timeoutMs is down. */
  const session = async <T>(work: (open: () => Promise<Client>) => Promise<T>): Promise<T> => {
    const clients: Client[] = [];
    const open = async (): Promise<Client> => {
      const c = await connect();
      clients.push(c);
      return c;
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        work(open),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Deadline(`no answer within ${s.timeoutMs} ms`)), s.timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      for (const c of clients) void c.unbind().catch(() => undefined);
    }
  };

  const first = (e: Entry, attribute: string): string | null => {
    const v = e[attribute] ?? e[Object.keys(e).find((k) => k.toLowerCase() === attribute.toLowerCase()) ?? ''];
    const one = Array.isArray(v) ? v[0] : v;
    return typeof one === 'string' && one !== '' ? one : Buffer.isBuffer(one) ? one.toString('utf8') : null;
  };

  /** The user's entry (service account bound on `c`); null when there is not exactly one. */
  const findUser = async (c: Client, name: string): Promise<Entry | null> => {
    const filter = s.userFilter.replaceAll('{name}', Filter.escape(name));
    const { searchEntries } = await c.search(s.userBase, { scope: 'sub', filter, sizeLimit: 2, attributes: [s.mailAttribute, s.displayNameAttribute, 'cn'] });
    return searchEntries.length === 1 ? searchEntries[0]! : null;
  };

  const rolesOf = async (c: Client, dn: string): Promise<Role[]> => {
    const rule = s.nestedGroups ? `${s.memberAttribute}:1.2.840.113556.1.4.1941:` : s.memberAttribute;
    const found: Role[] = [];
    for (const role of PRECEDENCE) {
      const group = s.groups[role];
      if (!group) continue;
      const { searchEntries } = await c.search(group, { scope: 'base', filter: `(${rule}=${Filter.escape(dn)})`, attributes: ['1.1'] }).catch((err: unknown) => {
        // A group that does not exist has no members; anything else is the directory's trouble.
        if (err instanceof Error && err.name === 'NoSuchObjectError') return { searchEntries: [] };
        throw err;
      });
      if (searchEntries.length > 0) found.push(role);
    }
    return found;
  };

  const profileOf = async (service: Client, entry: Entry): Promise<DirectoryAnswer> => {
    const roles = await rolesOf(service, entry.dn);
    if (roles.length === 0) return { kind: 'no-group' };
    if (roles.includes('admin') && roles.includes('auditor')) return { kind: 'conflicting-groups', roles };
    const email = first(entry, s.mailAttribute);
    return {
      kind: 'ok',
      profile: { dn: entry.dn, displayName: (first(entry, s.displayNameAttribute) ?? first(entry, 'cn') ?? '').slice(0, 200), email: email ? email.toLowerCase() : null, role: roles[0]! },
    };
  };

  const unavailable = (err: unknown): DirectoryAnswer & { kind: 'unavailable' } => ({ kind: 'unavailable', error: (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 300) });

  return {
    async authenticate(name, password) {
      // An empty password would be an unauthenticated bind, which succeeds (RFC 4513 5.1.2).
      if (password === '') return { kind: 'bad-password' };
      try {
        return await session(async (open) => {
          const service = await open();
          await service.bind(s.bindDn, s.bindPassword);
          const entry = await findUser(service, name);
          if (!entry) return { kind: 'unknown' };
          const asUser = await open();
          try {
            await asUser.bind(entry.dn, password);
          } catch (err) {
            if (err instanceof InvalidCredentialsError) return { kind: 'bad-password' };
            throw err;
          }
          return profileOf(service, entry);
        });
      } catch (err) {
        return unavailable(err);
      }
    },
    async lookup(name) {
      try {
        return await session(async (open) => {
          const service = await open();
          await service.bind(s.bindDn, s.bindPassword);
          const entry = await findUser(service, name);
          if (!entry) return { kind: 'unknown' as const };
          return (await profileOf(service, entry)) as Exclude<DirectoryAnswer, { kind: 'bad-password' }>;
        });
      } catch (err) {
        return unavailable(err);
      }
    },
  };
}
