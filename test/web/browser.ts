// A minimal browser for the console tests: real HTTP on 127.0.0.1 with a
// cookie jar, no redirects followed (the tests check them), and the CSRF
// token read from the page as a browser's form would send it.
export interface Page {
  status: number;
  location: string | null;
  body: string;
  headers: Headers;
}

export class Browser {
  readonly cookies = new Map<string, string>();
  /** Extra request headers (X-Forwarded-For, User-Agent). */
  readonly headers: Record<string, string> = {};
  constructor(readonly port: number) {}

  private async request(method: 'GET' | 'HEAD' | 'POST', path: string, form?: Record<string, string>): Promise<Page> {
    const headers: Record<string, string> = { ...this.headers };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`, { method, headers, body: form ? new URLSearchParams(form).toString() : undefined, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || attrs.some((a) => /^\s*max-age=0\b/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: res.status, location: res.headers.get('location'), body: await res.text(), headers: res.headers };
  }

  /** A HEAD request (downloads must not be audited for it: nothing is sent). */
  head(path: string): Promise<Page> {
    return this.request('HEAD', path);
  }

  get(path: string): Promise<Page> {
    return this.request('GET', path);
  }

  post(path: string, form: Record<string, string>): Promise<Page> {
    return this.request('POST', path, form);
  }

  /** Submits the first form on `page` that posts to `action`, with its hidden fields (the CSRF token among them) and these. */
  submit(page: Page, action: string, fields: Record<string, string> = {}): Promise<Page> {
    const form = new RegExp(`<form[^>]*action="${action}"[\\s\\S]*?</form>`).exec(page.body)?.[0];
    if (!form) throw new Error(`no form posting to ${action} on the page:\n${page.body}`);
    const hidden = Object.fromEntries([...form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replace(/&amp;/g, '&')]));
    return this.post(action, { ...hidden, ...fields });
  }

  /** Opens the login page and logs in. */
  async login(name: string, password: string): Promise<Page> {
    return this.submit(await this.get('/login'), '/login', { name, password });
  }

  /** Follows a redirect (or stays), as a browser would after a form. */
  async follow(page: Page): Promise<Page> {
    return page.location ? this.get(page.location) : page;
  }
}

/** The key an enrolment page shows (the TOTP secret), spaces removed. */
export const secretOn = (page: Page): string => {
  const key = /<span class="secret">([A-Z2-7 ]+)<\/span>/.exec(page.body)?.[1];
  if (!key) throw new Error(`no TOTP key on the page:\n${page.body}`);
  return key.replace(/ /g, '');
};

/** The recovery codes a page lists. */
export const recoveryCodesOn = (page: Page): string[] => [...page.body.matchAll(/<li>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})<\/li>/g)].map((m) => m[1]!);
