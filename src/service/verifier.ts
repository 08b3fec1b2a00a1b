/**
 * The hot path: is this presented API key good, and whose is it?
 *   1. shape and checksum (no secret, no I/O): garbage and typos stop here;
 *   2. the in-memory cache, when it can be trusted, by a plain SHA-256 of the key;
 *   3. otherwise HMAC-SHA-256 under the server secret, and one indexed lookup by it.
 * The cache is not keyed by the HMAC because the HMAC costs six times a one-shot SHA-256, a
 * tenth of the server's CPU under load; for a 190-bit random key either is as one-way.
 * The verdict (expired, inactive, valid) is worked out from the record and the current clock.
 */
import { hash } from 'node:crypto';
import { hashApiKey, isWellFormedApiKey } from '../domain/apiKeyFormat.js';
import { evaluateKey, type Verification } from '../domain/verification.js';
import type { Store } from '../store/store.js';
import type { VerificationCache } from './verificationCache.js';

const NOT_FOUND: Verification = Object.freeze({ ok: false, code: 'NOT_FOUND' });

export class KeyVerifier {
  constructor(
    private readonly store: Store,
    private readonly cache: VerificationCache,
    private readonly opts: {
      secret: string;
      now: () => number;
      /** False while the cache may be missing invalidations (the key-change channel is down). */
      cacheTrusted: () => boolean;
    },
  ) {}

  /**
   * The verdict, at once where no I/O is needed (a bad shape, a cache hit), or a promise of it
   * after the database lookup: the common case costs no promise.
   */
  verify(candidate: string): Verification | Promise<Verification> {
    if (!isWellFormedApiKey(candidate)) return NOT_FOUND;
    const cacheId = hash('sha256', candidate, 'base64');
    const trusted = this.opts.cacheTrusted();
    if (trusted) {
      const hit = this.cache.get(cacheId);
      if (hit) return evaluateKey(hit, this.opts.now());
    }
    return this.lookup(candidate, cacheId, trusted);
  }

  private async lookup(candidate: string, cacheId: string, trusted: boolean): Promise<Verification> {
    const epoch = this.cache.epoch();
    const found = await this.store.apiKeys.findByHash(hashApiKey(this.opts.secret, candidate));
    if (found && trusted && this.opts.cacheTrusted()) this.cache.set(cacheId, found, epoch);
    return evaluateKey(found, this.opts.now());
  }
}
