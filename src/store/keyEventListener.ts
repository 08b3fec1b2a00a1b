/**
 * Listens for key-change notifications on a dedicated PostgreSQL connection, and says whether
 * it can be trusted right now. It cannot when the connection is down, or when it has not
 * proved itself alive recently: a connection that dies silently (a cut network, no FIN) would
 * otherwise leave an instance serving revoked keys from its cache for as long as TCP takes to
 * notice. So it pings every `heartbeatMs`; the channel counts as healthy only while the last
 * successful ping is younger than `staleAfterMs`. A ping's answer comes after every
 * notification committed before it was sent, so a fresh ping means nothing was missed.
 */
import pg from 'pg';
import { KEY_EVENTS_CHANNEL } from './keyEvents.js';

export const KEY_EVENTS_APPLICATION_NAME = 'keyward-key-events';

export interface KeyEventListenerOptions {
  pgConfig: pg.ClientConfig;
  onKeysChanged: (keyUids: string[]) => void;
  /** Called when the channel is (re)established: whatever was cached before may be stale. */
  onReconnected: () => void;
  onError: (err: unknown) => void;
  heartbeatMs?: number;
  staleAfterMs?: number;
  now?: () => number;
}

export class KeyEventListener {
  private client: pg.Client | undefined;
  private lastAliveAt = 0;
  private stopped = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly heartbeatMs: number;
  private readonly staleAfterMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: KeyEventListenerOptions) {
    this.heartbeatMs = opts.heartbeatMs ?? 200;
    this.staleAfterMs = opts.staleAfterMs ?? 750;
    this.now = opts.now ?? (() => performance.now());
  }

  /** True while notifications are known to be arriving. */
  healthy(): boolean {
    return this.client !== undefined && this.now() - this.lastAliveAt < this.staleAfterMs;
  }

  async start(): Promise<void> {
    await this.connect();
    this.heartbeat = setInterval(() => void this.ping(), this.heartbeatMs);
    this.heartbeat.unref();
  }

  private async connect(): Promise<void> {
    // Named, so an operator (or a test) can find this connection in pg_stat_activity.
    const client = new pg.Client({ ...this.opts.pgConfig, keepAlive: true, application_name: KEY_EVENTS_APPLICATION_NAME });
    client.on('notification', (msg) => {
      if (msg.channel === KEY_EVENTS_CHANNEL && msg.payload) this.opts.onKeysChanged(msg.payload.split(','));
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('key-change channel closed')));
    try {
      await client.connect();
      await client.query(`LISTEN ${KEY_EVENTS_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      throw err;
    }
    this.client = client;
    // Anything cached may have changed while we were not listening.
    this.opts.onReconnected();
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
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(async () => {
      this.reconnectTimer = undefined;
      try {
        await this.connect();
      } catch (err) {
        this.opts.onError(err);
        this.scheduleReconnect(Math.min(delayMs * 2, 5000));
      }
    }, delayMs);
    this.reconnectTimer.unref();
  }

  private async ping(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const sentAt = this.now();
    const timeout = setTimeout(() => this.lost(client, new Error('key-change channel did not answer its heartbeat')), this.staleAfterMs);
    try {
      await client.query('select 1');
      if (this.client === client) this.lastAliveAt = sentAt;
    } catch {
      // 'error' or 'end' will follow and reconnect.
    } finally {
      clearTimeout(timeout);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners();
      client.on('error', () => {});
      await client.end().catch(() => {});
    }
  }
}
