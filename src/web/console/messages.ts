// The console's words, Japanese by default and English on request (?lang=en).
import type { ItemState, Role } from '../../store/types.js';

export const langs = ['ja', 'en'] as const;
export type Lang = (typeof langs)[number];

const ja = {
  title: '無害化ゲートウェイ 管理コンソール',
  loginHeading: 'ログイン',
  userName: 'ユーザー名',
  password: 'パスワード',
  loginButton: 'ログイン',
  loginFailed: 'ユーザー名またはパスワードが違います。続けて失敗するとアカウントは一時的にロックされます。',
  badRequest: 'フォームの有効期限が切れました。もう一度お試しください。',
  logoutButton: 'ログアウト',
  loggedOut: 'ログアウトしました。',
  signedInAs: 'ログイン中',
  sessionUntil: 'セッション有効期限',
  otherLang: 'English',
  role: { staff: '職員', admin: '管理者', auditor: '監査者' } satisfies Record<Role, string>,
  state: { held: '保留中', 'release-requested': '解放申請中', released: '解放済み', rejected: '却下', expired: '保存期間終了' } satisfies Record<ItemState, string>,
  myQuarantine: 'あなた宛ての隔離メッセージ',
  myQuarantineHint: '原本が必要なときは、隔離 ID を添えて管理者に解放を依頼してください。',
  reviewQueue: '解放の申請と保留中の原本',
  auditRecent: '監査ログ (最新 50 件)',
  none: 'ありません。',
  col: { id: '隔離 ID', received: '受信日時', from: '差出人', to: '宛先', findings: '検出内容', state: '状態', seq: '連番', time: '日時', actor: '操作者', action: '操作', object: '対象' },
  noEmail: 'メールアドレスが登録されていません。管理者に登録を依頼してください。',
  forbidden: 'この操作の権限がありません。',
};

type Messages = typeof ja;

const en: Messages = {
  title: 'mugaika sanitization gateway console',
  loginHeading: 'Log in',
  userName: 'User name',
  password: 'Password',
  loginButton: 'Log in',
  loginFailed: 'Wrong user name or password. Repeated failures lock the account for a while.',
  badRequest: 'The form has expired. Please try again.',
  logoutButton: 'Log out',
  loggedOut: 'You have logged out.',
  signedInAs: 'Signed in as',
  sessionUntil: 'Session valid until',
  otherLang: '日本語',
  role: { staff: 'staff', admin: 'administrator', auditor: 'auditor' },
  state: { held: 'held', 'release-requested': 'release requested', released: 'released', rejected: 'rejected', expired: 'expired' },
  myQuarantine: 'Quarantined messages addressed to you',
  myQuarantineHint: 'If you need an original, ask an administrator to release it, giving its quarantine ID.',
  reviewQueue: 'Release requests and held originals',
  auditRecent: 'Audit log (latest 50 records)',
  none: 'None.',
  col: { id: 'Quarantine ID', received: 'Received', from: 'From', to: 'To', findings: 'Findings', state: 'State', seq: 'Seq', time: 'Time', actor: 'Actor', action: 'Action', object: 'Object' },
  noEmail: 'No mail address is registered for you: ask an administrator to add it.',
  forbidden: 'You are not allowed to do this.',
};

export const messages: Record<Lang, Messages> = { ja, en };
export type { Messages };
