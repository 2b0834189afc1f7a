import { EXIT, OperatorError } from '../model/operator-error.js';
// What can go wrong when managing console users, in words an operator can act
// on (Japanese first, then English).

/** A user command that cannot be carried out as given: bad name, weak password, no such user. */
export class UserError extends OperatorError {
  override readonly name = 'UserError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT.failed, options);
  }
}
