/**
 * Migrations, run at start. Kysely's migrator takes a lock (an advisory lock on PostgreSQL),
 * so several instances starting at once on one database do not race.
 * Never edit a migration that has shipped: add a new one.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import type { SerialColumn } from './capabilities.js';

/** `serial`: an auto-incrementing sequence column, the one DDL difference between our databases. */
function migrations(serial: SerialColumn): Record<string, Migration> {
  return {
    '0001_initial': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('tenants')
          .addColumn('uid', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('users')
          .addColumn('uid', 'text', (c) => c.primaryKey())
          .addColumn('tenant_uid', 'text', (c) => c.notNull().references('tenants.uid').onDelete('cascade'))
          .addColumn('email', 'text', (c) => c.notNull().unique())
          .addColumn('first_name', 'text', (c) => c.notNull())
          .addColumn('last_name', 'text', (c) => c.notNull())
          .addColumn('roles', 'text', (c) => c.notNull())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('last_sign_in_at', 'bigint')
          .execute();
        await db.schema.createIndex('users_tenant_created').on('users').columns(['tenant_uid', 'created_at', 'uid']).execute();
        await db.schema
          .createTable('api_keys')
          .addColumn('uid', 'text', (c) => c.primaryKey())
          .addColumn('tenant_uid', 'text', (c) => c.notNull())
          .addColumn('user_uid', 'text', (c) => c.notNull().references('users.uid').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('start', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull().unique())
          .addColumn('expiry', 'bigint', (c) => c.notNull())
          .addColumn('is_active', 'integer', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .addColumn('revoked_by_uid', 'text')
          .addColumn('revoked_by_admin', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('last_used_at', 'bigint')
          .addUniqueConstraint('api_keys_owner_name', ['user_uid', 'name'])
          .execute();
        await db.schema.createIndex('api_keys_tenant_created').on('api_keys').columns(['tenant_uid', 'created_at', 'uid']).execute();
        await db.schema
          .createTable('audits')
          .addColumn('seq', serial.dataType, serial.build)
          .addColumn('uid', 'text', (c) => c.notNull().unique())
          .addColumn('tenant_uid', 'text')
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('actor_user_uid', 'text')
          .addColumn('actor_email', 'text')
          .addColumn('actor_api_key_uid', 'text')
          .addColumn('resource_kind', 'text', (c) => c.notNull())
          .addColumn('resource_uid', 'text')
          .addColumn('resource_name', 'text')
          .addColumn('resource_owner_uid', 'text')
          .addColumn('address', 'text')
          .addColumn('details', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('audits_tenant_seq').on('audits').columns(['tenant_uid', 'seq']).execute();
        await db.schema.createIndex('audits_resource').on('audits').columns(['resource_uid', 'seq']).execute();
        await db.schema
          .createTable('sign_in_failures')
          .addColumn('seq', serial.dataType, serial.build)
          .addColumn('email', 'text', (c) => c.notNull())
          .addColumn('address', 'text', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('sign_in_failures_email').on('sign_in_failures').columns(['email', 'at']).execute();
        await db.schema.createIndex('sign_in_failures_address').on('sign_in_failures').columns(['address', 'at']).execute();
      },
    },
    '0002_credential_failures': {
      async up(db: Kysely<any>) {
        // One row per address and one-minute window: a flood of bad keys costs one row, not one per guess.
        await db.schema
          .createTable('credential_failures')
          .addColumn('address', 'text', (c) => c.notNull())
          .addColumn('window_start', 'bigint', (c) => c.notNull())
          .addColumn('failures', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('credential_failures_pk', ['address', 'window_start'])
          .execute();
        await db.schema.createIndex('credential_failures_window').on('credential_failures').column('window_start').execute();
      },
    },
    '0003_sessions': {
      async up(db: Kysely<any>) {
        // Tokens and cookies name a session, looked up on every use: logout, a password change
        // or deleting the user (the cascade) ends it at once, on every instance.
        await db.schema
          .createTable('sessions')
          .addColumn('uid', 'text', (c) => c.primaryKey())
          .addColumn('user_uid', 'text', (c) => c.notNull().references('users.uid').onDelete('cascade'))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('sessions_user').on('sessions').column('user_uid').execute();
        await db.schema.createIndex('sessions_expires').on('sessions').column('expires_at').execute();
      },
    },
    // Sorts between 0003_sessions and 0004: the sign-in limits and the counted audit entries.
    '0003_sign_in_attempts': {
      async up(db: Kysely<any>) {
        // One row per guessing budget, reserved atomically before a password is checked,
        // instead of a row per failure counted afterwards.
        await db.schema
          .createTable('sign_in_attempts')
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('failures', 'integer', (c) => c.notNull())
          .addColumn('last_at', 'bigint', (c) => c.notNull())
          .addColumn('prev_at', 'bigint')
          .addPrimaryKeyConstraint('sign_in_attempts_pk', ['scope', 'subject'])
          .execute();
        await db.schema.createIndex('sign_in_attempts_last').on('sign_in_attempts').columns(['scope', 'last_at']).execute();
        await db.schema.dropTable('sign_in_failures').execute();
        // Refused sign-ins are one entry per account, address and window, counting its repeats.
        await db.schema.alterTable('audits').addColumn('occurrences', 'integer').execute();
      },
    },
    '0004_audit_indexes': {
      async up(db: Kysely<any>) {
        // A plain user reads the entries they made and the entries about what they own: one
        // index range per side, newest first, instead of a walk through the tenant's whole log.
        await db.schema.createIndex('audits_tenant_actor').on('audits').columns(['tenant_uid', 'actor_user_uid', 'seq']).execute();
        await db.schema.createIndex('audits_tenant_owner').on('audits').columns(['tenant_uid', 'resource_owner_uid', 'seq']).execute();
        // Retention deletes by age.
        await db.schema.createIndex('audits_at').on('audits').column('at').execute();
      },
    },
    // Numbered after the sessions and audit migrations of the same release.
    '0005_api_keys_user_created': {
      async up(db: Kysely<any>) {
        // A user's own listing (every plain user's GET /v1/apiKeys) in its order, page after page,
        // without reading the rest of the tenant's keys for each page.
        await db.schema.createIndex('api_keys_user_created').on('api_keys').columns(['user_uid', 'created_at', 'uid']).execute();
      },
    },
    '0006_key_scopes': {
      async up(db: Kysely<any>) {
        // JSON arrays as text, read with the key (and cached with it) on the verification path.
        // Existing keys keep their owner's full power and any address: Palette's behaviour.
        await db.schema.alterTable('api_keys').addColumn('scopes', 'text', (c) => c.notNull().defaultTo('["*"]')).execute();
        await db.schema.alterTable('api_keys').addColumn('allowed_cidrs', 'text', (c) => c.notNull().defaultTo('[]')).execute();
        // A tenant's own scopes, for the services behind Keyward (the built-in ones are in code).
        await db.schema
          .createTable('tenant_scopes')
          .addColumn('tenant_uid', 'text', (c) => c.notNull().references('tenants.uid').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('tenant_scopes_pk', ['tenant_uid', 'name'])
          .execute();
      },
    },
    '0007_service_accounts_and_auth_routes': {
      async up(db: Kysely<any>) {
        // 'person' or 'service': a service account has no password and never signs in; it owns
        // keys a tenant admin makes for it. Every user made before it is a person.
        await db.schema.alterTable('users').addColumn('kind', 'text', (c) => c.notNull().defaultTo('person')).execute();
        // A tenant's forward-auth route rules, one JSON document per tenant: read whole, compiled
        // whole and cached whole (service/authRoutes.ts), never queried by part.
        await db.schema
          .createTable('auth_routes')
          .addColumn('tenant_uid', 'text', (c) => c.primaryKey().references('tenants.uid').onDelete('cascade'))
          .addColumn('config', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_by_uid', 'text')
          .execute();
      },
    },
  };
}

export async function migrateToLatest(db: Kysely<any>, serial: SerialColumn): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(serial) };
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`);
  }
}
