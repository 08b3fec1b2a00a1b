/** User and tenant use cases. */
import { randomBytes } from 'node:crypto';
import { badRequest, conflict, forbidden, notFound } from '../domain/errors.js';
import { limits, textRange } from '../domain/limits.js';
import { isTenantAdmin, TENANT_ADMIN_ROLE, type UserKind } from '../domain/model.js';
import { canSeeUser } from '../domain/policies.js';
import { applyUserPatch, applyUserUpdate, type EditableUser, type PatchOperation, type UserUpdate, userChanges } from '../domain/userEdits.js';
import type { Store } from '../store/store.js';
import type { UserWithPassword } from '../store/users.js';
import { auditEntry, newUid, type RequestContext } from './context.js';
import { checkFullPower } from './keyRestrictions.js';
import type { KeyChangePublisher } from './keyChanges/bus.js';
import { type ListQuery, type Listing, list, type OrderedSource, type RowStream, stream } from './listing.js';
import { hashPassword } from './passwords.js';
import { checkEmail, checkPassword, checkText } from './validate.js';

export interface CreateUserInput {
  email: string;
  firstName?: string;
  lastName?: string;
  roles?: string[];
  /** Absent: the user cannot sign in (keys can still be made for them by an admin). */
  password?: string;
  /** Default 'person'. A service account takes no password, and never signs in. */
  kind?: UserKind;
}

const NAME = textRange(limits.user.name);
const ROLE = textRange(limits.user.role);
const MAX_ROLES = limits.user.roles.maxItems;
const SEARCH = { min: 0, max: 128 };

/** A strong generated password: 24 base64url characters, 144 bits. */
export const generatePassword = () => randomBytes(18).toString('base64url');

const userResource = (u: { uid: string; email: string }) => ({ kind: 'user', uid: u.uid, name: u.email, ownerUid: u.uid });

export class UserService {
  constructor(
    private readonly store: Store,
    private readonly opts: { now: () => number; keyChanges: KeyChangePublisher },
  ) {}

  /** Builds a user record from input; throws on bad fields. Shared by the API, tenant creation and the CLI. */
  async newUser(tenantUid: string, input: CreateUserInput): Promise<UserWithPassword> {
    const now = this.opts.now();
    const kind = input.kind ?? 'person';
    if (kind !== 'person' && kind !== 'service') throw badRequest('spec.kind must be "person" or "service".', { field: 'spec.kind' });
    if (kind === 'service' && input.password !== undefined) {
      throw badRequest('A service account has no password: it never signs in, and uses API keys a tenant admin makes for it. Leave spec.password out.', {
        field: 'spec.password',
      });
    }
    const roles = [...new Set((input.roles ?? []).map((r) => checkText(r, 'spec.roles', ROLE)))];
    return {
      uid: newUid(),
      kind,
      tenantUid,
      email: checkEmail(input.email),
      firstName: checkText(input.firstName ?? '', 'spec.firstName', NAME),
      lastName: checkText(input.lastName ?? '', 'spec.lastName', NAME),
      roles,
      passwordHash: input.password === undefined ? '' : await hashPassword(checkPassword(input.password, input.email)),
      createdAt: now,
      updatedAt: now,
      lastSignInAt: null,
    };
  }

  async create(ctx: RequestContext, input: CreateUserInput): Promise<{ uid: string }> {
    if (!ctx.actor.isAdmin) throw forbidden('Only a tenant admin can create users.');
    // Before the password is hashed: a refusal should cost nothing.
    if (input.password !== undefined) checkFullPower(ctx.actor, 'create a user with a password');
    const user = await this.newUser(ctx.actor.tenantUid, input);
    if (isTenantAdmin(user.roles)) checkFullPower(ctx.actor, 'create a tenant admin');
    await this.insertUser(user, ctx);
    return { uid: user.uid };
  }

  /** Stores a new user with its audit entry, in one transaction; a taken email is a conflict. */
  private async insertUser(user: UserWithPassword, ctx: { actor?: RequestContext['actor']; address: string }): Promise<void> {
    try {
      await this.store.transaction(async (tx) => {
        await tx.users.insert(user);
        await tx.audits.insert(auditEntry(ctx, user.createdAt, 'user.create', userResource(user), { roles: user.roles, kind: user.kind }, user.tenantUid));
      });
    } catch (err) {
      if (this.store.capabilities.isUniqueViolation(err)) throw conflict(`A user with email ${user.email} already exists.`, { field: 'spec.emailId' });
      throw err;
    }
  }

  /**
   * A page of the tenant's users, or all of them with `limit: 'all'` (see listing.ts); with
   * `search`, those whose email or name contains it, in any case.
   */
  async list(ctx: RequestContext, query: ListQuery & { search?: string }): Promise<Listing<UserWithPassword>> {
    return list(this.visibleUsers(ctx, query.search), query);
  }

  /**
   * Every user of the tenant from the start position, read a chunk at a time, for an answer
   * written out as it is read (`limit=0`): a tenant of 100,000 users is never held in memory.
   */
  async stream(ctx: RequestContext, query: Omit<ListQuery, 'limit'> & { search?: string }): Promise<RowStream<UserWithPassword>> {
    return stream(this.visibleUsers(ctx, query.search), query);
  }

  private visibleUsers(ctx: RequestContext, searchText: string | undefined): OrderedSource<UserWithPassword> {
    if (!ctx.actor.isAdmin) throw forbidden('Only a tenant admin can list the users of the tenant.');
    const search = searchText === undefined ? '' : checkText(searchText, 'search', SEARCH).trim();
    const filter = { tenantUid: ctx.actor.tenantUid, search: search || undefined };
    return { page: (request) => this.store.users.page(filter, request), count: (upTo, order) => this.store.users.count(filter, upTo, order) };
  }

  async get(ctx: RequestContext, uid: string): Promise<UserWithPassword> {
    const user = await this.store.users.findByUid(uid);
    if (!user || !canSeeUser(ctx.actor, user)) throw notFound(`User ${uid}`);
    return user;
  }

  /**
   * `PUT /v1/users/{uid}`: a tenant admin changes any user of the tenant; anyone else only their
   * own first and last name.
   */
  update(ctx: RequestContext, uid: string, update: UserUpdate): Promise<void> {
    return this.edit(ctx, uid, 'PUT', (user) => {
      // A person turned service account would keep a password it must not have; a service
      // account turned person would have none. Neither is an edit: make a new user.
      if (update.kind !== undefined && update.kind !== user.kind) {
        throw badRequest(`A user's kind cannot be changed (this user is a ${user.kind === 'service' ? 'service account' : 'person'}). Create a new user of the other kind instead.`, {
          field: 'spec.kind',
        });
      }
      return applyUserUpdate(user, update);
    });
  }

  /** `PATCH /v1/users/{uid}` (a JSON Patch, see userEdits.ts): tenant admins only. */
  patch(ctx: RequestContext, uid: string, ops: PatchOperation[]): Promise<void> {
    return this.edit(ctx, uid, 'PATCH', (user) => applyUserPatch(user, ops));
  }

  /**
   * One user change, checked as a create is, in one transaction with its audit entry. A change
   * of roles or email changes the principal that the user's API keys carry, which verification
   * caches (here and on every other instance): all of the user's keys are announced as changed.
   */
  private async edit(ctx: RequestContext, uid: string, via: 'PUT' | 'PATCH', change: (user: UserWithPassword) => EditableUser): Promise<void> {
    const { actor } = ctx;
    const now = this.opts.now();
    let email = '';
    try {
      await this.store.transaction(async (tx) => {
        // Tenant first, then user: edits that could leave the tenant without an admin run one at a time.
        await tx.tenants.lock(actor.tenantUid);
        const user = await tx.users.findByUid(uid, { lock: 'update' });
        if (!user || !canSeeUser(actor, user)) throw notFound(`User ${uid}`);
        if (via === 'PATCH' && !actor.isAdmin) {
          throw forbidden('Only a tenant admin can patch users. To change your own first or last name, use PUT /v1/users/{uid}.');
        }
        const next = checkEditable(change(user));
        email = next.email;
        const changes = userChanges(user, next);
        if (!actor.isAdmin && (changes.email || changes.roles)) {
          throw forbidden('You can change only your own first and last name. Ask a tenant admin to change your email or roles.');
        }
        if (!isTenantAdmin(user.roles) && isTenantAdmin(next.roles)) checkFullPower(actor, 'give a user the tenant-admin role');
        if (isTenantAdmin(user.roles) && !isTenantAdmin(next.roles) && !(await tx.users.hasOtherAdmin(user.tenantUid, uid))) {
          throw conflict(`${user.email} is the tenant's only tenant admin. Make another user a tenant admin first.`, { field: 'spec.roles' });
        }
        if (Object.keys(changes).length > 0) {
          await tx.users.update(uid, { ...next, updatedAt: now });
          if (changes.email || changes.roles) {
            // The user's row is locked: no key can be added for them before this commits.
            const keyUids = await tx.apiKeys.uidsOfUser(uid);
            if (keyUids.length > 0) await this.opts.keyChanges.publish(tx, { type: 'keys.changed', keyUids, reason: 'ownerChanged' });
          }
        }
        await tx.audits.insert(auditEntry(ctx, now, 'user.update', userResource({ uid, email: next.email }), { via, changes }));
      });
    } catch (err) {
      if (this.store.capabilities.isUniqueViolation(err)) throw conflict(`A user with email ${email} already exists.`, { field: 'spec.emailId' });
      throw err;
    }
  }

  /** Deletes the user and their keys; the keys stop authenticating at once. */
  async delete(ctx: RequestContext, uid: string): Promise<void> {
    if (!ctx.actor.isAdmin) throw forbidden('Only a tenant admin can delete users.');
    if (uid === ctx.actor.userUid) throw conflict('You cannot delete your own account. Ask another tenant admin.');
    const now = this.opts.now();
    await this.store.transaction(async (tx) => {
      // The lock waits for keys being created for the user to commit, and makes later ones wait
      // and then find the user gone (KeyService.create), so the delete below returns every key
      // the user has, one committed a moment ago included: none is cascaded away unannounced to
      // live on in another instance's cache. The tenant first, as edits take it: deleting one
      // admin while being demoted by them must not leave the tenant with none.
      await tx.tenants.lock(ctx.actor.tenantUid);
      const user = await tx.users.findByUid(uid, { lock: 'update' });
      if (!user || user.tenantUid !== ctx.actor.tenantUid) throw notFound(`User ${uid}`);
      const keyUids = await tx.apiKeys.deleteOfUser(uid);
      if (keyUids.length > 0) await this.opts.keyChanges.publish(tx, { type: 'keys.changed', keyUids, reason: 'ownerDeleted' });
      await tx.users.delete(uid);
      await tx.audits.insert(auditEntry(ctx, now, 'user.delete', userResource(user), { apiKeysDeleted: keyUids.length }));
    });
  }

  /**
   * Creates a tenant with its first tenant admin (the CLI's `tenant create`, and first start).
   * Returns the generated password when none was given.
   */
  async createTenant(input: { name: string; adminEmail: string; adminPassword?: string }) {
    const name = checkText(input.name, 'name', textRange(limits.tenant.name));
    const password = input.adminPassword ?? generatePassword();
    const now = this.opts.now();
    const tenant = { uid: newUid(), name, createdAt: now };
    const admin = await this.newUser(tenant.uid, { email: input.adminEmail, password, roles: [TENANT_ADMIN_ROLE], firstName: 'Tenant', lastName: 'Admin' });
    try {
      await this.store.transaction(async (tx) => {
        await tx.tenants.insert(tenant);
        await tx.users.insert(admin);
        const ctx = { address: 'cli' };
        await tx.audits.insert(auditEntry(ctx, now, 'tenant.create', { kind: 'tenant', uid: tenant.uid, name, ownerUid: null }, {}, tenant.uid));
        await tx.audits.insert(auditEntry(ctx, now, 'user.create', userResource(admin), { roles: admin.roles }, tenant.uid));
      });
    } catch (err) {
      if (this.store.capabilities.isUniqueViolation(err)) throw conflict(`A tenant named "${name}" or a user with email ${admin.email} already exists.`);
      throw err;
    }
    return { tenant, admin, generatedPassword: input.adminPassword === undefined ? password : undefined };
  }

  /** For the CLI's `user create`: a user in a named tenant, without a signed-in actor. */
  async createInTenant(tenantName: string, input: CreateUserInput): Promise<UserWithPassword> {
    const tenant = await this.store.tenants.findByName(tenantName);
    if (!tenant) throw notFound(`Tenant "${tenantName}"`);
    const user = await this.newUser(tenant.uid, input);
    await this.insertUser(user, { address: 'cli' });
    return user;
  }
}

/** The rules a create applies, applied to an edited user. */
function checkEditable(u: EditableUser): EditableUser {
  const roles = [...new Set(u.roles.map((r) => checkText(r, 'spec.roles', ROLE)))];
  if (roles.length > MAX_ROLES) throw badRequest(`A user can have at most ${MAX_ROLES} roles.`, { field: 'spec.roles' });
  return {
    email: checkEmail(u.email),
    firstName: checkText(u.firstName, 'spec.firstName', NAME),
    lastName: checkText(u.lastName, 'spec.lastName', NAME),
    roles,
  };
}
