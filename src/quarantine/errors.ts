// What can go wrong with a quarantined item, in words an operator can act on
// (Japanese first, then English).

/** An item cannot be read back whole: absent, purged, altered, or sealed under a key not held here. */
export class QuarantineReadError extends Error {
  override readonly name = 'QuarantineReadError';
}

/** A workflow step the item's state does not allow, or a release that could not be delivered. */
export class QuarantineWorkflowError extends Error {
  override readonly name = 'QuarantineWorkflowError';
}
