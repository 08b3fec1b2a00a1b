/**
 * Listens on a PostgreSQL notification channel over a dedicated connection, and says whether it
 * can be trusted right now. It cannot when the connection is down, or when it has not proved
 * itself alive recently: a connection that dies silently (a cut network, no FIN) would otherwise
 * leave an instance serving revoked keys from its cache for as long as TCP takes to notice. So
 * it pings every `heartbeatMs`; the channel counts as healthy only while the last successful
 * ping is younger than `staleAfterMs`. A ping's answer comes after every notification committed
 * before it was sent, so a fresh ping means nothing was missed.
 */
import pg from 'pg';
import type { ListenOptions, NotificationListener, Timers } from './capabilities.js';

/** The listening connection's name in pg_stat_activity, for operators (and tests) to find it. */
export const LISTENER_APPLICATION_NAME = 'keyward-key-events';

const nodeTimers: Timers = {
  // Unreferenced: a heartbeat or a pending reconnection must not keep the process alive.
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

export class PgNotificationListener implements NotificationListener {
  private client: pg.Client | undefined;
  private lastAliveAt = 0;
  private stopped = false;
  private heartbeat: unknown;
  private reconnectTimer: unknown;
  private readonly heartbeatMs: number;
  private readonly staleAfterMs: number;
  private readonly now: () => number;
  private readonly timers: Timers;

  constructor(
    private readonly pgConfig: pg.ClientConfig,
    private readonly channel: string,
    private readonly opts: ListenOptions,
  ) {
    this.heartbeatMs = opts.heartbeatMs ?? 200;
    this.staleAfterMs = opts.staleAfterMs ?? 750;
    this.now = opts.now ?? (() => performance.now());
    this.timers = opts.timers ?? nodeTimers;
  }

  healthy(): boolean {
    return this.client !== undefined && this.now() - this.lastAliveAt < this.staleAfterMs;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
    this.heartbeat = this.timers.setInterval(() => void this.ping(), this.heartbeatMs);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ ...this.pgConfig, keepAlive: true, application_name: LISTENER_APPLICATION_NAME });
    client.on('notification', (msg) => {
      if (msg.channel === this.channel && msg.payload !== undefined) this.opts.onNotification(msg.payload);
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error(`notification channel ${this.channel} closed`)));
    try {
      await client.connect();
      // The channel is one of ours, never user input; quoted as an identifier all the same.
      await client.query(`LISTEN ${client.escapeIdentifier(this.channel)}`);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      throw err;
    }
    this.client = client;
    // Anything derived from earlier notifications may be stale: whatever was sent while we were
    // not listening is lost.
    this.opts.onListening();
    this.lastAliveAt = this.now();
  }

  private lost(client: pg.Client, err: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.removeAllListeners();
    client.on('error', () => {});
    void client.end().catch(() => {});
    if (!this.stopped) {
      this.opts.onError(err);
      this.scheduleReconnect(100);
    }
  }

  private scheduleReconnect(delayMs: number): void {
    if (this.stopped || this.reconnectTimer !== undefined) return;
    this.reconnectTimer = this.timers.setTimeout(async () => {
      this.reconnectTimer = undefined;
      try {
        await this.connect();
      } catch (err) {
        this.opts.onError(err);
        this.scheduleReconnect(Math.min(delayMs * 2, 5000));
      }
    }, delayMs);
  }

  private async ping(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const sentAt = this.now();
    const timeout = this.timers.setTimeout(
      () => this.lost(client, new Error(`notification channel ${this.channel} did not answer its heartbeat`)),
      this.staleAfterMs,
    );
    try {
      await client.query('select 1');
      if (this.client === client) this.lastAliveAt = sentAt;
    } catch {
      // 'error' or 'end' will follow and reconnect.
    } finally {
      this.timers.clearTimeout(timeout);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.heartbeat !== undefined) this.timers.clearInterval(this.heartbeat);
    if (this.reconnectTimer !== undefined) this.timers.clearTimeout(this.reconnectTimer);
    this.heartbeat = this.reconnectTimer = undefined;
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners();
      client.on('error', () => {});
      await client.end().catch(() => {});
    }
  }
}
