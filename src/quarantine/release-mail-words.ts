// The mails the release workflow sends to people: a new request to the
// administrators (one per request, or a digest), a decision to the one who
// asked. Plain text we wrote, in the policy's language; nothing of the
// quarantined mail but its id and time (its subject and sender stay sealed).
import { jstLong, jstLongEn } from '../core/jst.js';

export interface RequestLine {
  id: string;
  requester: string;
  reason: string;
  requestedAt: Date;
}

export interface MailText {
  subject: string;
  text: string;
}

type Lang = 'ja' | 'en';

const requestBlock = (r: RequestLine, lang: Lang): string =>
  lang === 'ja'
    ? `隔離ID: ${r.id}\n申請者: ${r.requester}\n申請日時: ${jstLong(r.requestedAt)}\n理由: ${r.reason || '（記載なし）'}`
    : `Quarantine ID: ${r.id}\nRequested by: ${r.requester}\nRequested at: ${jstLongEn(r.requestedAt)}\nReason: ${r.reason || '(none given)'}`;

export function requestMail(requests: readonly RequestLine[], lang: Lang): MailText {
  const one = requests.length === 1 ? requests[0]! : null;
  if (lang === 'ja') {
    return {
      subject: one ? `【無害化ゲートウェイ】原本の解放申請があります（${one.id}）` : `【無害化ゲートウェイ】原本の解放申請が${requests.length}件あります`,
      text: `${one ? '原本の解放申請がありました。' : `原本の解放申請が${requests.length}件ありました。`}管理コンソールの「申請の一覧」で内容を確かめ、承認または却下してください。\n\n${requests.map((r) => requestBlock(r, lang)).join('\n\n')}\n\nこのメールは無害化ゲートウェイが自動で送信しています。\n`,
    };
  }
  return {
    subject: one ? `[mugaika] Release requested (${one.id})` : `[mugaika] ${requests.length} release requests`,
    text: `${one ? 'A release of an original was requested.' : `${requests.length} releases of originals were requested.`} Check them under "Release requests" in the console, then approve or reject.\n\n${requests.map((r) => requestBlock(r, lang)).join('\n\n')}\n\nThis mail was sent automatically by the sanitization gateway.\n`,
  };
}

export function decisionMail(d: { id: string; released: boolean; by: string; comment: string; at: Date }, lang: Lang): MailText {
  if (lang === 'ja') {
    return d.released
      ? {
          subject: `【無害化ゲートウェイ】解放申請を承認しました（${d.id}）`,
          text: `申請された原本（隔離ID ${d.id}）を解放し、宛先へ配送しました。件名に【原本】が付いたメールとして届きます。\n\n承認者: ${d.by}\n承認日時: ${jstLong(d.at)}\n${d.comment ? `コメント: ${d.comment}\n` : ''}\nこのメールは無害化ゲートウェイが自動で送信しています。\n`,
        }
      : {
          subject: `【無害化ゲートウェイ】解放申請は却下されました（${d.id}）`,
          text: `申請された原本（隔離ID ${d.id}）の解放は、却下されました。\n\n理由: ${d.comment}\n判断者: ${d.by}\n判断日時: ${jstLong(d.at)}\n\nご不明な点は、隔離IDを添えて情報政策担当へご相談ください。\nこのメールは無害化ゲートウェイが自動で送信しています。\n`,
        };
  }
  return d.released
    ? {
        subject: `[mugaika] Release approved (${d.id})`,
        text: `The original you asked for (quarantine ID ${d.id}) was released and delivered to its recipients. It arrives marked as the original in its subject.\n\nApproved by: ${d.by}\nApproved at: ${jstLongEn(d.at)}\n${d.comment ? `Comment: ${d.comment}\n` : ''}\nThis mail was sent automatically by the sanitization gateway.\n`,
      }
    : {
        subject: `[mugaika] Release rejected (${d.id})`,
        text: `The release of the original you asked for (quarantine ID ${d.id}) was rejected.\n\nReason: ${d.comment}\nDecided by: ${d.by}\nDecided at: ${jstLongEn(d.at)}\n\nFor questions, contact the information policy team with the quarantine ID.\nThis mail was sent automatically by the sanitization gateway.\n`,
      };
}
