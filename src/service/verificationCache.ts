/**
 * A bounded in-memory cache of verified keys, by key hash, so that a request with a known key
 * costs no database round trip. It holds what the database said about the key (active flag,
 * expiry, owner); the verdict is worked out again on every hit with the current clock, so a key
 * that expires while cached is refused at its expiry, not at the end of a TTL.
 *
 * Correctness under change: every change that can make a key stop working (revoke, delete,
 * expiry change, owner deleted) and re-activation too evicts the key here on the instance
 * that made it, and on every other instance, through the key-change bus (cacheInvalidation below). A lookup that raced
 * with an eviction (it read the database before the change committed and returns after the
 * eviction) must not put the stale answer back: fills carry the eviction epoch they started in
 * and are dropped if any eviction happened since.
 */
import type { KeyWithPrincipal } from '../domain/verification.js';
import type { KeyChangeListener } from './keyChanges/bus.js';

interface Entry {
  value: KeyWithPrincipal;
  storedAt: number;
  /** The cache's move count when this entry was last moved to the newest end. */
  movedAt: number;
}

export interface VerificationCacheOptions {
  /** Most keys held; the least recently used go first. */
  maxEntries: number;
  /** A safety net: entries are re-read from the database after this long whatever happens. */
  ttlMs: number;
  now: () => number;
}

export class VerificationCache {
  private readonly entries = new Map<string, Entry>();
  private readonly hashByUid = new Map<string, string>();
  private evictions = 0;
  /** Entries moved to the newest end so far (stored, or used when no longer among the newest). */
  private moves = 0;

  constructor(private readonly opts: VerificationCacheOptions) {}

  get size(): number {
    return this.entries.size;
  }

  /** The current eviction epoch, to hand back to `set` after a database lookup. */
  epoch(): number {
    return this.evictions;
  }

  get(hash: string): KeyWithPrincipal | undefined {
    const entry = this.entries.get(hash);
    if (!entry) return undefined;
    if (this.opts.now() - entry.storedAt >= this.opts.ttlMs) {
      this.remove(hash, entry.value.key.uid);
      return undefined;
    }
    // Re-insert to mark it most recently used (a Map iterates in insertion order), but only once
    // it is no longer among the newest half: until then it cannot be the next to go, and a hit
    // costs no delete and insert (which, on the hot path, was the cache's main cost). An entry
    // in use still outlives at least half the cache's worth of newer ones.
    if (this.moves - entry.movedAt >= this.opts.maxEntries / 2) {
      entry.movedAt = ++this.moves;
      this.entries.delete(hash);
      this.entries.set(hash, entry);
    }
    return entry.value;
  }

  set(hash: string, value: KeyWithPrincipal, epochAtLookup: number): void {
    if (epochAtLookup !== this.evictions || this.opts.maxEntries <= 0) return;
    this.entries.delete(hash);
    this.entries.set(hash, { value, storedAt: this.opts.now(), movedAt: ++this.moves });
    this.hashByUid.set(value.key.uid, hash);
    while (this.entries.size > this.opts.maxEntries) {
      const [oldest, entry] = this.entries.entries().next().value as [string, Entry];
      this.remove(oldest, entry.value.key.uid);
    }
  }

  invalidate(keyUids: Iterable<string>): void {
    this.evictions++;
    for (const uid of keyUids) {
      const hash = this.hashByUid.get(uid);
      if (hash !== undefined) this.remove(hash, uid);
    }
  }

  clear(): void {
    this.evictions++;
    this.entries.clear();
    this.hashByUid.clear();
  }

  private remove(hash: string, uid: string): void {
    this.entries.delete(hash);
    this.hashByUid.delete(uid);
  }
}

/** How the cache hears of key changes: it forgets the keys named, or everything if events were missed. */
export function cacheInvalidation(cache: VerificationCache): KeyChangeListener {
  return {
    event(event) {
      switch (event.type) {
        case 'keys.changed':
          cache.invalidate(event.keyUids);
          break;
      }
    },
    missed: () => cache.clear(),
  };
}
