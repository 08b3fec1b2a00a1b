/**
 * Told, after the change has committed, whenever a key changes in a way a cache must not
 * outlive (revoked, re-activated, deleted, expiry changed, owner deleted). This instance's
 * cache listens here; other instances hear through the database (see store/keyEvents.ts).
 */
export interface KeyInvalidation {
  keysChanged(keyUids: string[]): Promise<void> | void;
}
