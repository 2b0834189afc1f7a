// The notice's first line about the sender (sender-assessment.ts decides it),
// in Japanese and English: the level in one sentence, then each reason in a
// short sentence of its own, then, for a suspicious sender, what to do.
import type { AuthResultWord, SenderAssessment, SenderReason } from '../model/sender-trust.js';

const ERRORS: ReadonlySet<AuthResultWord> = new Set(['temperror', 'permerror']);

function reasonJa(r: SenderReason): string {
  switch (r.kind) {
    case 'dmarc':
      if (r.result === 'pass') return 'ドメイン認証（DMARC）に合格しました。';
      if (r.result === 'fail') return `ドメイン認証（DMARC）に不合格でした。${r.policy === 'reject' ? '差出人のドメインは、不合格のメールを受け取らないよう求めています。' : ''}`;
      if (r.result === 'none') return '差出人のドメインは、ドメイン認証（DMARC）を設定していません。';
      return ERRORS.has(r.result) ? 'ドメイン認証（DMARC）を確認できませんでした。' : 'ドメイン認証（DMARC）に合格していません。';
    case 'spf':
      if (r.result === 'pass') return r.otherDomain ? `送信サーバーの確認（SPF）は、差出人と別のドメイン（${r.otherDomain}）について合格しました。` : '送信サーバーの確認（SPF）に合格しました。';
      if (r.result === 'fail') return '送信サーバーの確認（SPF）に不合格でした。';
      if (r.result === 'none') return '差出人のドメインは、送信サーバーの確認（SPF）を設定していません。';
      return ERRORS.has(r.result) ? '送信サーバーの確認（SPF）ができませんでした。' : '送信サーバーの確認（SPF）に合格していません。';
    case 'spf-not-evaluated':
      return '送信サーバーの確認（SPF）は行っていません。';
    case 'dkim':
      if (r.result === 'pass') return r.otherDomain ? `電子署名（DKIM）は、差出人と別のドメイン（${r.otherDomain}）のものです。` : '電子署名（DKIM）を確認できました。';
      if (r.result === 'fail') return '電子署名（DKIM）が正しくありません。';
      if (r.result === 'none') return '電子署名（DKIM）はありません。';
      return '電子署名（DKIM）を確認できませんでした。';
    case 'display-name':
      return `表示名が、差出人と別のアドレスや組織（${r.names}）を名乗っています。`;
    case 'reply-to-domain':
      return `返信先（Reply-To）が別のドメイン（${r.domain}）です。`;
    case 'return-path-domain':
      return `配送上の差出人（Return-Path）が別のドメイン（${r.domain}）です。`;
    case 'look-alike':
      return `差出人のドメイン（${r.domain}）は、${r.resembles} に似た別のドメインです。`;
    case 'first-contact':
      return r.some ? `宛先の一部には、過去${r.days}日間にこの差出人からのメールがありません。` : `過去${r.days}日間に、この差出人からのメールはありません。`;
    case 'authentication-not-checked':
      return '送信元の認証（SPF・DKIM・DMARC）は行っていません。';
    case 'own-domain-unverified':
      return `組織内のドメイン（${r.domain}）を名乗っていますが、確かめられませんでした。`;
  }
}

function reasonEn(r: SenderReason): string {
  switch (r.kind) {
    case 'dmarc':
      if (r.result === 'pass') return 'It passed domain authentication (DMARC).';
      if (r.result === 'fail') return `It failed domain authentication (DMARC).${r.policy === 'reject' ? " The sender's domain asks for such mail to be refused." : ''}`;
      if (r.result === 'none') return "The sender's domain has no domain authentication (DMARC).";
      return ERRORS.has(r.result) ? 'Domain authentication (DMARC) could not be checked.' : 'It did not pass domain authentication (DMARC).';
    case 'spf':
      if (r.result === 'pass') return r.otherDomain ? `The sending server check (SPF) passed for another domain (${r.otherDomain}).` : 'It passed the sending server check (SPF).';
      if (r.result === 'fail') return 'It failed the sending server check (SPF).';
      if (r.result === 'none') return "The sender's domain has no sending server check (SPF).";
      return ERRORS.has(r.result) ? 'The sending server check (SPF) could not be done.' : 'It did not pass the sending server check (SPF).';
    case 'spf-not-evaluated':
      return 'The sending server check (SPF) was not done.';
    case 'dkim':
      if (r.result === 'pass') return r.otherDomain ? `Its signature (DKIM) is another domain's (${r.otherDomain}).` : 'Its signature (DKIM) was verified.';
      if (r.result === 'fail') return 'Its signature (DKIM) is not valid.';
      if (r.result === 'none') return 'It has no signature (DKIM).';
      return 'Its signature (DKIM) could not be checked.';
    case 'display-name':
      return `The display name claims an address or organisation other than the sender's (${r.names}).`;
    case 'reply-to-domain':
      return `Replies are asked to go to another domain (${r.domain}).`;
    case 'return-path-domain':
      return `The delivery sender (Return-Path) is on another domain (${r.domain}).`;
    case 'look-alike':
      return `The sender's domain (${r.domain}) looks like ${r.resembles} but is another domain.`;
    case 'first-contact':
      return r.some ? `Some recipients got no mail from this sender in the past ${r.days} days.` : `No mail came from this sender in the past ${r.days} days.`;
    case 'authentication-not-checked':
      return 'Sender authentication (SPF, DKIM, DMARC) was not done.';
    case 'own-domain-unverified':
      return `It claims to come from our own domain (${r.domain}), and this could not be confirmed.`;
  }
}

export function senderLineJa(a: SenderAssessment, contact: string): string {
  const head = { verified: '送信元を確認できました。', unverified: '送信元を確認できません。', suspicious: '【注意】なりすましの疑いがあります。' }[a.level];
  const tail = a.level === 'suspicious' ? `本文の指示に従わず、${contact}へご相談ください。` : '';
  return `${head}${a.reasons.map(reasonJa).join('')}${tail}`;
}

export function senderLineEn(a: SenderAssessment, contact: string): string {
  const head = { verified: 'The sender was confirmed.', unverified: 'The sender could not be confirmed.', suspicious: '[CAUTION] The sender may be an impostor.' }[a.level];
  const tail = a.level === 'suspicious' ? ` Do not follow the instructions in the message; contact ${contact}.` : '';
  return [head, ...a.reasons.map(reasonEn)].join(' ') + tail;
}
