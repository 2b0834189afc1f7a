// The words of the policy page's allow and exclusion lists (download and
// replace by CSV), Japanese first, English on request.
import type { Lang } from './messages.js';

const ja = {
  heading: '送信元の許可リストと除外リスト',
  inForce: (allow: number, exclude: number): string => `適用中のポリシーでは、許可リストが ${allow} 件、除外リストが ${exclude} 件です。`,
  download: 'CSV をダウンロード',
  downloadFromFile: 'ダウンロードする CSV は、ポリシーファイルに書かれている内容です。',
  downloadInForce: 'ダウンロードする CSV は、適用中のポリシーの内容です。',
  notApplied: 'ポリシーファイルは変更されていますが、まだ反映されていません。ゲートウェイを再起動すると反映されます。',
  noFile: 'このゲートウェイはポリシーファイルを使っていない（組み込みの既定値で動いている）ため、ここでは変更できません。設定ファイルの policyFile にポリシーファイルを指定してください。',
  replaceHeading: 'CSV で置き換える',
  replaceHint:
    'ダウンロードした CSV を Excel などで編集し、その内容をここに貼り付けてください。1 行目は見出し「list,sender,note」です。list は allow（許可）か exclude（除外）、sender はメールアドレスかドメインです。貼り付けた内容で両方のリストを置き換えます。',
  reload: '変更はポリシーファイルに書き込まれ、ゲートウェイを再起動すると反映されます（再起動せずに読み込み直す仕組みはありません）。',
  csvLabel: 'CSV の内容',
  reasonLabel: '変更の理由（監査ログに記録します）',
  submit: 'リストを置き換える',
  done: (allow: number, exclude: number): string => `許可リストを ${allow} 件、除外リストを ${exclude} 件にしました。ゲートウェイを再起動すると反映されます。`,
  same: '内容は前と同じでした。',
  reasonRequired: '変更の理由を入力してください。ポリシーは変更していません。',
  csvRequired: 'CSV の内容を貼り付けてください。ポリシーは変更していません。',
  hasErrors: 'CSV に誤りがあるため、ポリシーは変更していません。',
  notChanged: 'ポリシーは変更していません。',
  problem: (line: number | null, ja: string, _en: string): string => (line === null ? ja : `${line} 行目: ${ja}`),
  more: (n: number): string => `ほか ${n} 件`,
};

type Words = typeof ja;

const en: Words = {
  heading: 'Allowed and excluded senders',
  inForce: (allow, exclude) => `The policy in force allows ${allow} and excludes ${exclude} senders.`,
  download: 'Download as CSV',
  downloadFromFile: 'The CSV holds what the policy file says.',
  downloadInForce: 'The CSV holds what the policy in force says.',
  notApplied: 'The policy file has changed but is not in force yet: restart the gateway to apply it.',
  noFile: 'This gateway runs on the embedded default policy, not a policy file, so the lists cannot be changed here. Give a policy file as policyFile in the configuration.',
  replaceHeading: 'Replace with a CSV',
  replaceHint:
    'Edit the downloaded CSV (in Excel or elsewhere) and paste it here. Line 1 is the header "list,sender,note"; list is allow or exclude, sender an address or a domain. What you paste replaces both lists.',
  reload: 'The change is written to the policy file and takes effect when the gateway restarts (there is no reload without a restart).',
  csvLabel: 'CSV',
  reasonLabel: 'Why (recorded in the audit log)',
  submit: 'Replace the lists',
  done: (allow, exclude) => `The allow list now has ${allow} and the exclusion list ${exclude} senders. Restart the gateway to apply them.`,
  same: 'Nothing changed in effect.',
  reasonRequired: 'Give a reason for the change. The policy was not changed.',
  csvRequired: 'Paste the CSV. The policy was not changed.',
  hasErrors: 'The CSV has mistakes, so the policy was not changed.',
  notChanged: 'The policy was not changed.',
  problem: (line, _ja, en) => (line === null ? en : `line ${line}: ${en}`),
  more: (n) => `and ${n} more`,
};

export const policyListsMessages: Record<Lang, Words> = { ja, en };
