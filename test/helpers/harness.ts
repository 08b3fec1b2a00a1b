/**
 * One Keyward app on a fresh database, driven with `app.inject()`, with a controllable clock
 * and helpers that act as a person would: sign in, create users and keys, call the API.
 */
import { after, before, describe } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import type { SignInLimits } from '../../src/service/auth.js';
import { createServices, type Services } from '../../src/service/services.js';
import { Store } from '../../src/store/store.js';
import { databases as allDatabases, type TestDatabase } from './databases.js';

export const SECRET = 'test-secret-0123456789abcdef';
export const DAY = 86_400_000;

export interface Caller {
  uid: string;
  email: string;
  password: string;
  token: string;
  tenantUid: string;
  /** Headers that authenticate as this user. */
  auth: Record<string, string>;
}

export interface HarnessOptions {
  signInLimits?: SignInLimits;
  maxKeyLifetimeDays?: number;
  authFailuresPerMinute?: number;
}

export class Harness {
  /** The clock the services read; tests move it forward. */
  clock = { now: Date.now() };
  app!: FastifyInstance;
  services!: Services;
  store!: Store;
  admin!: Caller;
  tenantUid!: string;
  private seq = 0;

  constructor(
    readonly db: TestDatabase,
    private readonly opts: HarnessOptions = {},
  ) {}

  static async start(db: TestDatabase, opts: HarnessOptions = {}) {
    const h = new Harness(db, opts);
    await h.init();
    return h;
  }

  private async init() {
    this.store = await Store.open(this.db.url);
    this.services = createServices(this.store, {
      secret: SECRET,
      now: () => this.clock.now,
      signInLimits: this.opts.signInLimits,
      maxKeyLifetimeDays: this.opts.maxKeyLifetimeDays,
      // Suites send many bad credentials from one address; the limit has its own test.
      authFailuresPerMinute: this.opts.authFailuresPerMinute ?? 100_000,
    });
    await this.services.start();
    this.app = await buildApp({ services: this.services });
    const { tenant, admin } = await this.services.users.createTenant({ name: 'default', adminEmail: 'admin@example.com', adminPassword: 'keeper-password-1' });
    this.tenantUid = tenant.uid;
    this.admin = await this.signIn(admin.email, 'keeper-password-1');
  }

  /** Moves the clock for the length of `fn` only: the harness's own tokens must stay valid after it. */
  async later(fn: (advance: (ms: number) => void) => Promise<void>): Promise<void> {
    const saved = this.clock.now;
    try {
      await fn((ms) => {
        this.clock.now += ms;
      });
    } finally {
      this.clock.now = saved;
    }
  }

  async close() {
    await this.app.close();
    await this.services.stop();
    await this.store.close();
  }

  inject(method: string, url: string, opts: { headers?: Record<string, string>; body?: unknown; payload?: string } = {}): Promise<LightMyRequestResponse> {
    return this.app.inject({
      method: method as any,
      url,
      headers: opts.headers,
      ...(opts.payload !== undefined ? { payload: opts.payload } : opts.body !== undefined ? { payload: opts.body as any } : {}),
    });
  }

  async signIn(email: string, password: string): Promise<Caller> {
    const res = await this.inject('POST', '/v1/auth/authenticate', { body: { emailId: email, password } });
    if (res.statusCode !== 200) throw new Error(`sign-in of ${email} failed: ${res.statusCode} ${res.body}`);
    const token = res.json().Authorization as string;
    const info = await this.inject('GET', '/v1/users/info', { headers: { Authorization: token } });
    const { userUid, tenantUid } = info.json();
    return { uid: userUid, email, password, token, tenantUid, auth: { Authorization: token } };
  }

  /** Creates a user through the API as `by` (a tenant admin) and signs them in. */
  async createUser(opts: { admin?: boolean; by?: Caller; firstName?: string } = {}): Promise<Caller> {
    const by = opts.by ?? this.admin;
    const email = `user${++this.seq}-${Math.random().toString(36).slice(2, 6)}@example.com`;
    const password = `password-${this.seq}-xyz`;
    const res = await this.inject('POST', '/v1/users', {
      headers: by.auth,
      body: {
        metadata: { name: email },
        spec: { emailId: email, firstName: opts.firstName ?? `First${this.seq}`, lastName: `Last${this.seq}`, roles: opts.admin ? ['tenant-admin'] : [], password },
      },
    });
    if (res.statusCode !== 201) throw new Error(`user create failed: ${res.statusCode} ${res.body}`);
    return this.signIn(email, password);
  }

  /** A second tenant with its own admin, made as the CLI makes it. */
  async createTenant(name: string): Promise<Caller> {
    const email = `admin-${name}@example.com`;
    await this.services.users.createTenant({ name, adminEmail: email, adminPassword: 'tenant-password-1' });
    return this.signIn(email, 'tenant-password-1');
  }

  expiryIn(days: number): string {
    return new Date(this.clock.now + days * DAY).toISOString();
  }

  async createKey(by: Caller, opts: { name?: string; description?: string; days?: number; userUid?: string } = {}): Promise<{ uid: string; apiKey: string; name: string }> {
    const name = opts.name ?? `key-${++this.seq}`;
    const res = await this.inject('POST', '/v1/apiKeys', {
      headers: by.auth,
      body: { metadata: { name, annotations: { description: opts.description ?? 'a test key' } }, spec: { expiry: this.expiryIn(opts.days ?? 30), userUid: opts.userUid } },
    });
    if (res.statusCode !== 201) throw new Error(`key create failed: ${res.statusCode} ${res.body}`);
    return { ...res.json(), name };
  }

  /** The status of a request authenticated by `apiKey` alone. */
  async useKey(apiKey: string): Promise<number> {
    return (await this.inject('GET', '/v1/users/info', { headers: { ApiKey: apiKey } })).statusCode;
  }
}


/**
 * Declares `suite` once per database (SQLite, PostgreSQL), each with its own fresh database
 * and harness. `h()` returns the harness inside tests.
 */
export function eachDatabase(title: string, suite: (h: () => Harness) => void, opts: HarnessOptions = {}) {
  for (const factory of allDatabases()) {
    describe(`${title} [${factory.name}]`, () => {
      let harness: Harness | undefined;
      let db: TestDatabase | undefined;
      before(async () => {
        db = await factory.create();
        harness = await Harness.start(db, opts);
      });
      after(async () => {
        await harness?.close();
        await db?.drop();
      });
      suite(() => harness!);
    });
  }
}
