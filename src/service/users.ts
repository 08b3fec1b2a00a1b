/** User and tenant use cases. */
import { randomBytes } from 'node:crypto';
import { conflict, forbidden, notFound } from '../domain/errors.js';
import { TENANT_ADMIN_ROLE } from '../domain/model.js';
import { canSeeUser } from '../domain/policies.js';
import { isUniqueViolation } from '../store/dialects.js';
import { decodeContinue } from '../store/paging.js';
import type { Store } from '../store/store.js';
import type { UserWithPassword } from '../store/users.js';
import { auditEntry, newUid, type RequestContext } from './context.js';
import type { KeyInvalidation } from './invalidation.js';
import { hashPassword } from './passwords.js';
import { checkEmail, checkPassword, checkText } from './validate.js';

export interface CreateUserInput {
  email: string;
  firstName?: string;
  lastName?: string;
  roles?: string[];
  /** Absent: the user cannot sign in (keys can still be made for them by an admin). */
  password?: string;
}

const NAME = { min: 0, max: 128 };
const ROLE = { min: 1, max: 64 };

/** A strong generated password: 24 base64url characters, 144 bits. */
export const generatePassword = () => randomBytes(18).toString('base64url');

const userResource = (u: { uid: string; email: string }) => ({ kind: 'user', uid: u.uid, name: u.email, ownerUid: u.uid });

export class UserService {
  constructor(
    private readonly store: Store,
    private readonly opts: { now: () => number; invalidation: KeyInvalidation },
  ) {}

  /** Builds a user record from input; throws on bad fields. Shared by the API, tenant creation and the CLI. */
  async newUser(tenantUid: string, input: CreateUserInput): Promise<UserWithPassword> {
    const now = this.opts.now();
    const roles = [...new Set((input.roles ?? []).map((r) => checkText(r, 'spec.roles', ROLE)))];
    return {
      uid: newUid(),
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
    const user = await this.newUser(ctx.actor.tenantUid, input);
    await this.insertUser(user, ctx);
    return { uid: user.uid };
  }

  /** Stores a new user with its audit entry, in one transaction; a taken email is a conflict. */
  private async insertUser(user: UserWithPassword, ctx: { actor?: RequestContext['actor']; address: string }): Promise<void> {
    try {
      await this.store.transaction(async (tx) => {
        await tx.users.insert(user);
        await tx.audits.insert(auditEntry(ctx, user.createdAt, 'user.create', userResource(user), { roles: user.roles }, user.tenantUid));
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`A user with email ${user.email} already exists.`, { field: 'spec.emailId' });
      throw err;
    }
  }

  async list(ctx: RequestContext, query: { limit: number; continue?: string }) {
    if (!ctx.actor.isAdmin) throw forbidden('Only a tenant admin can list the users of the tenant.');
    return this.store.users.list(ctx.actor.tenantUid, { limit: query.limit, after: decodeContinue(query.continue) });
  }

  async get(ctx: RequestContext, uid: string): Promise<UserWithPassword> {
    const user = await this.store.users.findByUid(uid);
    if (!user || !canSeeUser(ctx.actor, user)) throw notFound(`User ${uid}`);
    return user;
  }

  /** Deletes the user and their keys; the keys stop authenticating at once. */
  async delete(ctx: RequestContext, uid: string): Promise<void> {
    if (!ctx.actor.isAdmin) throw forbidden('Only a tenant admin can delete users.');
    if (uid === ctx.actor.userUid) throw conflict('You cannot delete your own account. Ask another tenant admin.');
    const now = this.opts.now();
    const keyUids = await this.store.transaction(async (tx) => {
      const user = await tx.users.findByUid(uid);
      if (!user || user.tenantUid !== ctx.actor.tenantUid) throw notFound(`User ${uid}`);
      const uids = await tx.apiKeys.uidsOfUser(uid);
      await tx.users.delete(uid);
      await tx.keyEvents.changed(uids);
      await tx.audits.insert(auditEntry(ctx, now, 'user.delete', userResource(user), { apiKeysDeleted: uids.length }));
      return uids;
    });
    await this.opts.invalidation.keysChanged(keyUids);
  }

  /**
   * Creates a tenant with its first tenant admin (the CLI's `tenant create`, and first start).
   * Returns the generated password when none was given.
   */
  async createTenant(input: { name: string; adminEmail: string; adminPassword?: string }) {
    const name = checkText(input.name, 'name', { min: 1, max: 128 });
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
      if (isUniqueViolation(err)) throw conflict(`A tenant named "${name}" or a user with email ${admin.email} already exists.`);
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

