/**
 * The hot path: is this presented API key good, and whose is it?
 *   1. shape and checksum (no secret, no I/O): garbage and typos stop here;
 *   2. HMAC-SHA-256 under the server secret;
 *   3. the in-memory cache, when it can be trusted;
 *   4. otherwise one indexed lookup by hash.
 * The verdict (expired, inactive, valid) is worked out from the record and the current clock.
 */
import { hashApiKey, isWellFormedApiKey } from '../domain/apiKeyFormat.js';
import { evaluateKey, type Verification } from '../domain/verification.js';
import type { Store } from '../store/store.js';
import type { VerificationCache } from './verificationCache.js';

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

  async verify(candidate: string): Promise<Verification> {
    if (!isWellFormedApiKey(candidate)) return { ok: false, code: 'NOT_FOUND' };
    const hash = hashApiKey(this.opts.secret, candidate);
    const trusted = this.opts.cacheTrusted();
    if (trusted) {
      const hit = this.cache.get(hash);
      if (hit) return evaluateKey(hit, this.opts.now());
    }
    const epoch = this.cache.epoch();
    const found = await this.store.apiKeys.findByHash(hash);
    if (found && trusted && this.opts.cacheTrusted()) this.cache.set(hash, found, epoch);
    return evaluateKey(found, this.opts.now());
  }
}
