// The sender facts the relay hands over, and the organisation a policy knows,
// as the sender tests build them (test/core/sender-assessment.test.ts,
// test/core/sender-banner.test.ts).
import type { PolicyInput } from '../../src/core/policy.js';
import type { AuthenticationFacts, SenderFacts } from '../../src/model/sender-trust.js';

/** The city's own names and domains, and one partner's. */
export const SENDERS: PolicyInput['senders'] = { own: { names: ['山田市役所'], domains: ['city.yamada.lg.jp'] }, partners: [{ names: ['山田信用金庫'], domains: ['yamada-shinkin.co.jp'] }] };

/** SPF, DKIM and DMARC all passing for example.jp; `over` replaces any of them. */
export const auth = (over: Partial<AuthenticationFacts> = {}): AuthenticationFacts => ({
  spf: { result: 'pass', domain: 'example.jp', detail: 'sender IP is permitted' },
  dkim: [{ result: 'pass', domain: 'example.jp', selector: 's1', detail: 'signature ok' }],
  dmarc: { result: 'pass', domain: 'example.jp', policy: 'reject', detail: 'aligned' },
  arc: null,
  authservId: 'gw.test.invalid',
  ...over,
});

/** What the relay found at receipt; by default no recipient is contacted for the first time. */
export const facts = (authentication: AuthenticationFacts | null, firstContactFor: string[] | null = []): SenderFacts => ({ authentication, firstContactFor });
