/**
 * The key-change bus: how every instance hears that a key may now verify differently.
 *
 * A use case publishes an event inside its unit of work, and that one call does all of it: the
 * event reaches this instance's subscribers once the transaction has committed (never if it
 * rolls back), and other instances sharing the database hear it through the database. No
 * caller can do one half and forget the other.
 *
 * A new fact about keys (scopes, addresses, rotation, policy) is a new member of `KeyEvent` and
 * its wire form in wire.ts, not a new mechanism. The service layer owns this interface; each
 * implementation (inProcess.ts, overNotifications.ts) passes the contract suite in
 * test/keyChangeBus.test.ts.
 *
 * Delivery, as subscribers may rely on it:
 * - after commit only, and on the publishing instance before `Store.transaction` returns, so a
 *   change is in force locally when its request is answered;
 * - in publish order within a transaction, and in commit order across transactions;
 * - at least once: an event may arrive twice (the publishing instance also hears its own
 *   events back from the database), so subscribers must be idempotent;
 * - when events may have been missed (the channel was down, or a message could not be read),
 *   subscribers are told so (`missed`) and must forget whatever they derived from events;
 * - `healthy()` false means events may be missing right now: callers must not trust caches.
 */
import type { Transaction } from '../../store/store.js';

export const KEY_CHANGE_REASONS = ['revoked', 'reactivated', 'deleted', 'expiryChanged', 'ownerDeleted', 'ownerChanged', 'scopesChanged', 'addressesChanged'] as const;
export type KeyChangeReason = (typeof KEY_CHANGE_REASONS)[number];

/** These keys may now verify differently (or not at all): forget what was cached about them. */
export interface KeysChanged {
  type: 'keys.changed';
  keyUids: string[];
  reason: KeyChangeReason;
}

/**
 * The tenant's forward-auth route rules changed: forget its compiled rules (service/authRoutes.ts).
 * Not about one key, but about what every key of the tenant may reach through the proxy.
 */
export interface AuthRoutesChanged {
  type: 'authRoutes.changed';
  tenantUid: string;
}

/** Every event the bus carries. */
export type KeyEvent = KeysChanged | AuthRoutesChanged;

export interface KeyChangeListener {
  /** A committed event. */
  event(event: KeyEvent): void;
  /** Events may have been missed: drop everything derived from them. */
  missed(): void;
}

export interface KeyChangePublisher {
  /** Inside the unit of work `tx`: delivered here and elsewhere if and when `tx` commits. */
  publish(tx: Transaction, event: KeyEvent): Promise<void>;
}

export interface KeyChangeBus extends KeyChangePublisher {
  /** Returns a function that ends the subscription. */
  subscribe(listener: KeyChangeListener): () => void;
  /** False while events from other instances may be missing: bypass caches. */
  healthy(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}
