/** API key use cases: create, read, edit, revoke, re-activate, delete. */
import { newApiKey } from '../domain/apiKeyFormat.js';
import { conflict, forbidden, KeywardError, notFound } from '../domain/errors.js';
import { limits, textRange } from '../domain/limits.js';
import { checkNewExpiry, isExpired, toRfc3339 } from '../domain/expiry.js';
import type { ApiKeyWithOwner } from '../domain/model.js';
import { FULL_ACCESS, uncovered } from '../domain/scopes.js';
import { canSeeKey, keyOwnerRequest, mayReactivate } from '../domain/policies.js';
import type { KeyFilter } from '../store/apiKeys.js';
import type { Repositories, Store } from '../store/store.js';
import { auditEntry, newUid, type RequestContext } from './context.js';
import type { KeyChangePublisher, KeyChangeReason } from './keyChanges/bus.js';
import { checkCidrs, checkHandOut, checkKnownScopes, checkMayRevive, checkScopes, opensAddresses, sameSet } from './keyRestrictions.js';
import { type ListQuery, type Listing, list, type OrderedSource, type RowStream, startOf, stream } from './listing.js';
import { checkText } from './validate.js';

export interface KeyServiceOptions {
  secret: string;
  maxLifetimeDays: number;
  now: () => number;
  /** Every change that can make a key verify differently is published here, inside its transaction. */
  keyChanges: KeyChangePublisher;
}

export interface CreateKeyInput {
  name: string;
  description?: string;
  expiry: string;
  userUid?: string;
  /** Absent: `["*"]`, the owner's full power (Palette's keys). */
  scopes?: readonly string[];
  /** Absent or empty: any address. */
  allowedCidrs?: readonly string[];
}

/** Absent fields stay as they are. */
export interface UpdateKeyInput {
  name?: string;
  description?: string;
  expiry?: string;
  scopes?: readonly string[];
  allowedCidrs?: readonly string[];
}

const NAME = textRange(limits.apiKey.name);
const DESCRIPTION = { ...textRange(limits.apiKey.description), multiline: true };
const keyResource = (k: Pick<ApiKeyWithOwner, 'uid' | 'name' | 'userUid'>) => ({
  kind: 'apiKey',
  uid: k.uid,
  name: k.name,
  ownerUid: k.userUid,
});

const nameTaken = (name: string) =>
  conflict(`The owner already has an API key named "${name}". Choose another name.`, { field: 'metadata.name' });

export class KeyService {
  constructor(
    private readonly store: Store,
    private readonly opts: KeyServiceOptions,
  ) {}

  async create(ctx: RequestContext, input: CreateKeyInput): Promise<{ apiKey: string; uid: string }> {
    const name = checkText(input.name, 'metadata.name', NAME);
    const description = checkText(input.description ?? '', 'metadata.annotations.description', DESCRIPTION);
    const now = this.opts.now();
    const expiry = checkNewExpiry(input.expiry, now, this.opts.maxLifetimeDays);
    const ownerUid = this.resolveOwner(ctx, input.userUid);
    const scopes = input.scopes === undefined ? [...FULL_ACCESS] : checkScopes(input.scopes);
    const allowedCidrs = checkCidrs(input.allowedCidrs ?? []);
    // A key creating a key: never more than it holds itself, and never from more places.
    checkHandOut(ctx.actor, { scopes, cidrs: allowedCidrs });
    const { key, hash, start } = newApiKey(this.opts.secret);
    const record = {
      uid: newUid(),
      tenantUid: ctx.actor.tenantUid,
      userUid: ownerUid,
      name,
      description,
      start,
      expiry,
      isActive: true,
      revokedAt: null,
      revokedByUid: null,
      revokedByAdmin: false,
      createdAt: now,
      updatedAt: now,
      lastUsedAt: null,
      scopes,
      allowedCidrs,
    };
    const ownerGone = () => notFound(`User ${ownerUid}`);
    try {
      await this.store.transaction(async (tx) => {
        // Held until commit, so a deletion of the owner either waits for this key (and deletes and
        // announces it) or has happened already and we answer 404: see UserService.delete.
        const owner = await tx.users.findByUid(ownerUid, { lock: 'noKeyUpdate' });
        if (!owner || owner.tenantUid !== ctx.actor.tenantUid) throw ownerGone();
        await checkKnownScopes(tx, ctx.actor.tenantUid, scopes);
        await tx.apiKeys.insert(record, hash);
        await tx.audits.insert(auditEntry(ctx, now, 'apiKey.create', keyResource(record), { expiry: toRfc3339(expiry), scopes, allowedCidrs }));
      });
    } catch (err) {
      const { capabilities } = this.store;
      if (capabilities.isUniqueViolation(err)) throw nameTaken(name);
      // Cannot happen under the lock above; kept so that a vanished owner can never surface as a 500.
      if (capabilities.isForeignKeyViolation(err)) throw ownerGone();
      throw err;
    }
    return { apiKey: key, uid: record.uid };
  }

  /** Whose key this is to be; whether that user exists (in the caller's tenant) is checked under lock. */
  private resolveOwner(ctx: RequestContext, requested: string | undefined): string {
    const owner = keyOwnerRequest(ctx.actor, requested);
    if (owner.self) return ctx.actor.userUid;
    if (!ctx.actor.isAdmin) throw forbidden('Only a tenant admin can create API keys for other users.');
    return owner.userUid;
  }

  /** A page of the keys the caller may see (see listing.ts for limit, continue and offset). */
  async list(ctx: RequestContext, query: ListQuery & { userUid?: string }): Promise<Listing<ApiKeyWithOwner>> {
    const source = this.visibleKeys(ctx, query.userUid);
    if (!source) {
      startOf(query); // a bad continue token is still a bad request
      return { items: [], continue: '', count: 0, offset: 0 };
    }
    return list(source, query);
  }

  /**
   * Every key the caller may see from the start position, read a chunk at a time, for an
   * answer written out as it is read (Palette's clients read all keys in one answer).
   */
  async stream(ctx: RequestContext, query: Omit<ListQuery, 'limit'> & { userUid?: string }): Promise<RowStream<ApiKeyWithOwner>> {
    const source = this.visibleKeys(ctx, query.userUid);
    if (!source) {
      startOf(query);
      return { firstIndex: 0, chunks: (async function* () {})(), count: async () => 0 };
    }
    return stream(source, query);
  }

  /** The keys a listing by `ctx` shows, or undefined when it shows none. */
  private visibleKeys(ctx: RequestContext, userUid: string | undefined): OrderedSource<ApiKeyWithOwner> | undefined {
    // A plain user sees only their own keys, whatever the filter asks for.
    if (!ctx.actor.isAdmin && userUid !== undefined && userUid !== ctx.actor.userUid) return undefined;
    const filter: KeyFilter = { tenantUid: ctx.actor.tenantUid, userUid: ctx.actor.isAdmin ? userUid : ctx.actor.userUid };
    return { page: (request) => this.store.apiKeys.page(filter, request), count: (upTo, order) => this.store.apiKeys.count(filter, upTo, order) };
  }

  async get(ctx: RequestContext, uid: string): Promise<ApiKeyWithOwner> {
    return this.visibleKey(this.store, ctx, uid);
  }

  private async visibleKey(repos: Repositories, ctx: RequestContext, uid: string, forUpdate = false): Promise<ApiKeyWithOwner> {
    const key = await repos.apiKeys.findByUid(uid, { forUpdate });
    // Not yours to see is reported exactly as not there, so that existence is not revealed.
    if (!key || !canSeeKey(ctx.actor, key)) throw notFound(`API key ${uid}`);
    return key;
  }

  /**
   * Changes name, description, expiry, scopes and allowed addresses; the key value and its owner
   * never change. Scopes or addresses sent back unchanged (as a client that read the key does)
   * are no change, and need no right to hand them out.
   */
  async update(ctx: RequestContext, uid: string, input: UpdateKeyInput): Promise<void> {
    const now = this.opts.now();
    try {
      await this.store.transaction(async (tx) => {
        const key = await this.visibleKey(tx, ctx, uid, true);
        const name = input.name === undefined ? key.name : checkText(input.name, 'metadata.name', NAME);
        const description =
          input.description === undefined ? key.description : checkText(input.description, 'metadata.annotations.description', DESCRIPTION);
        let expiry = key.expiry;
        // Clients often send back the expiry they read: only a changed expiry must be a valid new one.
        if (input.expiry !== undefined && input.expiry !== toRfc3339(key.expiry)) {
          expiry = checkNewExpiry(input.expiry, now, this.opts.maxLifetimeDays);
        }
        const expiryChanged = expiry !== key.expiry;
        const requestedScopes = input.scopes === undefined ? undefined : checkScopes(input.scopes);
        const scopesChanged = requestedScopes !== undefined && !sameSet(requestedScopes, key.scopes);
        const requestedCidrs = input.allowedCidrs === undefined ? undefined : checkCidrs(input.allowedCidrs);
        const cidrsChanged = requestedCidrs !== undefined && !sameSet(requestedCidrs, key.allowedCidrs);
        const scopes = scopesChanged ? requestedScopes : key.scopes;
        const allowedCidrs = cidrsChanged ? requestedCidrs : key.allowedCidrs;
        // A change gives along both dimensions: new scopes work wherever the key may be used, and
        // new addresses let in whatever the key holds. So where a change gives something, the key
        // that results must lie within the caller key on the other dimension too.
        const givesScopes = scopesChanged && uncovered(key.scopes, scopes).length > 0;
        const givesAddresses = cidrsChanged && opensAddresses(key.allowedCidrs, allowedCidrs);
        checkHandOut(ctx.actor, {
          scopes: scopesChanged || givesAddresses ? scopes : undefined,
          cidrs: cidrsChanged || givesScopes ? allowedCidrs : undefined,
        });
        // A later expiry keeps the key's power alive for longer (or brings an expired key back).
        if (expiry > key.expiry) checkMayRevive(ctx.actor, { scopes, allowedCidrs }, 'extend the expiry of');
        if (scopesChanged) await checkKnownScopes(tx, ctx.actor.tenantUid, scopes);
        await tx.apiKeys.update(uid, { name, description, expiry, scopes, allowedCidrs, updatedAt: now });
        // Every instance forgets what it cached about the key, so the change holds everywhere within the second.
        const reasons: KeyChangeReason[] = [];
        if (expiryChanged) reasons.push('expiryChanged');
        if (scopesChanged) reasons.push('scopesChanged');
        if (cidrsChanged) reasons.push('addressesChanged');
        for (const reason of reasons) await this.opts.keyChanges.publish(tx, { type: 'keys.changed', keyUids: [uid], reason });
        const changes: Record<string, unknown> = {};
        if (name !== key.name) changes.name = { from: key.name, to: name };
        if (description !== key.description) changes.description = true;
        if (expiryChanged) changes.expiry = { from: toRfc3339(key.expiry), to: toRfc3339(expiry) };
        if (scopesChanged) changes.scopes = { from: key.scopes, to: scopes };
        if (cidrsChanged) changes.allowedCidrs = { from: key.allowedCidrs, to: allowedCidrs };
        await tx.audits.insert(auditEntry(ctx, now, 'apiKey.update', keyResource({ ...key, name }), changes));
      });
    } catch (err) {
      if (this.store.capabilities.isUniqueViolation(err)) throw nameTaken(input.name ?? '');
      throw err;
    }
  }

  /** Revoke (`isActive: false`) or re-activate (`true`). Both are idempotent. */
  async setActive(ctx: RequestContext, uid: string, isActive: boolean): Promise<void> {
    const now = this.opts.now();
    const { actor } = ctx;
    await this.store.transaction(async (tx) => {
      const key = await this.visibleKey(tx, ctx, uid, true);
      let change: Parameters<Repositories['apiKeys']['setState']>[1] | undefined;
      if (isActive) {
        if (isExpired(key.expiry, now)) {
          throw new KeywardError(
            'ApiKeyExpired',
            `This API key expired on ${toRfc3339(key.expiry)}. Extend its expiry date first, then re-activate it.`,
            { status: 409, details: { expiry: toRfc3339(key.expiry) } },
          );
        }
        if (!mayReactivate(actor, key)) {
          throw forbidden('A tenant admin revoked this API key, so only a tenant admin can re-activate it.');
        }
        if (!key.isActive) {
          checkMayRevive(actor, key, 're-activate');
          change = { isActive: true, revokedAt: null, revokedByUid: null, revokedByAdmin: false, updatedAt: now };
        }
      } else if (key.isActive || (actor.isAdmin && !key.revokedByAdmin)) {
        // An admin revoking a key its owner had revoked takes the revocation over, with its lock.
        change = {
          isActive: false,
          revokedAt: key.revokedAt ?? now,
          revokedByUid: actor.userUid,
          revokedByAdmin: actor.isAdmin,
          updatedAt: now,
        };
      }
      if (change) {
        await tx.apiKeys.setState(uid, change);
        // Re-activation too: a cached "inactive" must not outlive it.
        await this.opts.keyChanges.publish(tx, { type: 'keys.changed', keyUids: [uid], reason: change.isActive ? 'reactivated' : 'revoked' });
      }
      await tx.audits.insert(
        auditEntry(ctx, now, isActive ? 'apiKey.activate' : 'apiKey.revoke', keyResource(key), { changed: change !== undefined }),
      );
    });
  }

  async delete(ctx: RequestContext, uid: string): Promise<void> {
    const now = this.opts.now();
    await this.store.transaction(async (tx) => {
      const key = await this.visibleKey(tx, ctx, uid, true);
      await tx.apiKeys.delete(uid);
      await this.opts.keyChanges.publish(tx, { type: 'keys.changed', keyUids: [uid], reason: 'deleted' });
      await tx.audits.insert(auditEntry(ctx, now, 'apiKey.delete', keyResource(key)));
    });
  }
}
