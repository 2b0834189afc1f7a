// Which quarantined mail is a user's: the items addressed to their mail
// address or to one of the aliases an admin recorded for them.

/** The addresses whose quarantined mail is this user's, lower-case, without repeats. */
export const ownAddresses = (u: { email: string | null; aliases?: readonly string[] }): string[] => [
  ...new Set([u.email, ...(u.aliases ?? [])].filter((a): a is string => Boolean(a)).map((a) => a.toLowerCase())),
];
