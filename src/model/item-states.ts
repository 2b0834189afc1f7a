// The states of a quarantined original (src/quarantine/workflow.ts moves it
// between them; the store keeps them).

export const itemStates = ['held', 'release-requested', 'released', 'rejected', 'expired'] as const;
export type ItemState = (typeof itemStates)[number];
