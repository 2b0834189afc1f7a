// The words of the PPAP pages (unlock-routes.ts): a recipient opening a
// password-protected attachment, and an administrator lifting a lock.
export type UnlockLang = 'ja' | 'en';

const ja = {
  heading: 'パスワード付きファイルを開く',
  item: '隔離ID',
  intro: 'このメールに添付されていたパスワード付きファイルです。送信者から別に届いたパスワードを入力すると、中身を無害化して、あなた宛てのメールでお送りします。パスワードは保存しません。',
  kinds: { zip: 'ZIP ファイル', pdf: 'PDF' },
  unnamed: '名前のないファイル',
  password: 'パスワード',
  submit: '開く',
  nothing: 'このメールには、パスワードで開けるファイルがありません。',
  notFound: 'お探しのメールは見つかりません。',
  expired: 'このメールの原本は保存期間を過ぎて削除されたため、開けません。',
  sent: (files: number) => `パスワード付きファイルを開きました（${files}件）。中身を無害化して、メールでお送りします。届くまで少しお待ちください。`,
  wrong: (left: number) => `パスワードが違います。あと${left}回間違えると、このメールではパスワードを入力できなくなります。`,
  locked: 'パスワードを続けて間違えたため、このメールではパスワードを入力できません。情報政策担当へご連絡ください。',
  unopenable: 'パスワード付きファイルを開けませんでした（大きすぎるか、壊れているか、開けない形式です）。情報政策担当へご相談ください。',
  tooLong: 'パスワードが長すぎます。',
  back: 'はじめのページへ戻る',
  adminHeading: 'パスワード入力の制限',
  adminIntro: 'このメールのパスワード付きファイルで、パスワードを間違えた利用者です。制限を解除すると、その利用者は再びパスワードを入力できます。',
  col: { user: '利用者', failures: '間違えた回数', locked: '制限', last: '最後の入力', action: '操作' },
  isLocked: '入力できません',
  notLocked: '入力できます',
  resetButton: '制限を解除する',
  resetDone: (user: string) => `${user} さんの制限を解除しました。`,
  noLocks: 'パスワードを間違えた利用者はいません。',
};

type Words = typeof ja;

const en: Words = {
  heading: 'Open a password-protected attachment',
  item: 'Quarantine ID',
  intro:
    'These password-protected files were attached to this mail. Enter the password the sender sent you separately: their contents will be sanitized and mailed to you. The password is not stored.',
  kinds: { zip: 'ZIP file', pdf: 'PDF' },
  unnamed: 'unnamed file',
  password: 'Password',
  submit: 'Open',
  nothing: 'This mail has no file a password opens.',
  notFound: 'The mail you are looking for was not found.',
  expired: 'The original of this mail was deleted after its retention period, so it cannot be opened.',
  sent: (files: number) => `The password-protected attachment was opened (${files} file(s)). Its contents will be sanitized and mailed to you shortly.`,
  wrong: (left: number) => `Wrong password. After ${left} more wrong attempt(s) you can no longer enter a password for this mail.`,
  locked: 'Too many wrong passwords: you can no longer enter a password for this mail. Please contact the information policy section.',
  unopenable: 'The password-protected attachment could not be opened (too large, damaged, or a format we cannot open). Please ask the information policy section.',
  tooLong: 'The password is too long.',
  back: 'Back to the start page',
  adminHeading: 'Password attempts',
  adminIntro: "Users who entered a wrong password for this mail's password-protected attachments. Lifting the lock lets that user enter a password again.",
  col: { user: 'User', failures: 'Wrong attempts', locked: 'Lock', last: 'Last attempt', action: 'Action' },
  isLocked: 'locked',
  notLocked: 'not locked',
  resetButton: 'Lift the lock',
  resetDone: (user: string) => `The lock of ${user} was lifted.`,
  noLocks: 'No user entered a wrong password.',
};

export const unlockMessages: Record<UnlockLang, Words> = { ja, en };
