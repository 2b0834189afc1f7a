// Errors that are the operator's to fix (a bad setting, a missing key, a
// step the item's state does not allow, a port someone else holds): their
// message says what went wrong and what to do, in Japanese and English, and
// is the whole story (no stack trace). Each carries the exit code the CLI
// ends with, so that main.ts needs no list of class names.

/** The CLI's exit codes (sysexits.h where one fits). */
export const EXIT = {
  /** The operation failed; its message says why. */
  failed: 1,
  /** The command line or a settings file is wrong. */
  usage: 2,
  /** Temporary: try again later (EX_TEMPFAIL; an MTA retries). */
  tempfail: 75,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class OperatorError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failed,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export const isOperatorError = (err: unknown): err is OperatorError => err instanceof OperatorError;
