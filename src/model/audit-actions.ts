// What the audit log can say happened: every action, in one list. Adding one
// is a code change, on purpose; the store keeps them (src/store/), the audit
// log chains and signs them (src/audit/).

/** Every action the audit log knows. Adding one is a code change, on purpose. */
export const auditActions = [
  // the relay and `mugaika sanitize`
  'received',
  'verdict',
  'quarantined',
  'delivered',
  'deferred',
  'bounced',
  'rejected',
  'bounce-delivered',
  'bounce-failed',
  // the release workflow
  'release-requested',
  'release-approved',
  'release-rejected',
  'release-delivered',
  'release-failed',
  'purged',
  // the first of two approvals (policy release.approvals: 2), recorded before the second releases
  'release-approval-recorded',
  // an original downloaded from the console by an administrator
  'original-downloaded',
  // a mail to people from the console's workflow (a new release request, a decision)
  'notification-sent',
  // `queue retry|bounce` asked from the console
  'queue-controlled',
  // an original read out of the quarantine (`mugaika quarantine show --raw`)
  'original-viewed',
  // people and settings
  'login-succeeded',
  'login-failed',
  // a password accepted, the second factor (or its enrolment) still due
  'login-password-accepted',
  // failed logins that changed nothing, counted per client address instead of written one by one
  'login-failures-summarised',
  'logout',
  // a session ended by its user from another session, or by an administrator
  'session-ended',
  'user-changed',
  // TOTP: enrolled (with new recovery codes), and reset (`mugaika user reset-2fa`)
  'second-factor-enrolled',
  'second-factor-reset',
  'policy-changed',
  // the policy's allow and exclusion lists downloaded from the console as CSV
  'policy-exported',
  'key-rotated',
  'audit-verified',
  // the console's auditor: a verification started from the browser, a search exported
  'audit-verify-started',
  'audit-exported',
  'gateway-started',
  'gateway-stopped',
  // a recipient's attempt to open a password-protected attachment in the console
  // (never with the password), and an administrator lifting the lock after too many failures
  'unlock-succeeded',
  'unlock-failed',
  'unlock-reset',
  // `mugaika backup` (a copy of the database, keys and originals taken) and `mugaika restore` (recorded in the restored log)
  'backup-created',
  'restored',
] as const;
export type AuditAction = (typeof auditActions)[number];
