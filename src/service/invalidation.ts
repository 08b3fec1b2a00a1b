/**
 * Told whenever a key stops being good (revoked, deleted, expiry changed, owner deleted), after
 * the change has committed. Caches subscribe to it; on several instances it is carried between
 * them by a bus. The default does nothing: there is nothing cached to forget.
 */
export interface KeyInvalidation {
  keysChanged(keyUids: string[]): Promise<void> | void;
}

export const noInvalidation: KeyInvalidation = { keysChanged: () => {} };
