import { EXIT, OperatorError } from '../model/operator-error.js';
// What can go wrong with a quarantined item, in words an operator can act on
// (Japanese first, then English).

/** An item cannot be read back whole: absent, purged, altered, or sealed under a key not held here. */
export class QuarantineReadError extends OperatorError {
  override readonly name = 'QuarantineReadError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT.failed, options);
  }
}

/** A workflow step the item's state does not allow, or a release that could not be delivered. */
export class QuarantineWorkflowError extends OperatorError {
  override readonly name = 'QuarantineWorkflowError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT.failed, options);
  }
}
