/**
 * The key-change bus between processes sharing one database, over the database's own
 * notifications (PostgreSQL's LISTEN/NOTIFY; see StoreCapabilities.notifications). The
 * notification is sent inside the publishing transaction, so other instances hear of a change
 * exactly when it commits: never of one rolled back, and none is lost to a crash between commit
 * and send. The listener's heartbeat says whether the channel can be trusted (`healthy()`);
 * when it is re-established, subscribers are told events were missed.
 */
import type { ListenOptions, NotificationListener, Notifications } from '../../store/capabilities.js';
import type { Transaction } from '../../store/store.js';
import type { KeyChangeBus, KeyChangeListener, KeyEvent } from './bus.js';
import { Subscribers } from './subscribers.js';
import { UnreadableMessages } from './unreadable.js';
import { decodeEvent, encodeEvent } from './wire.js';

/** The one channel every key event travels on (its name predates the typed bus; keep it). */
export const KEY_EVENTS_CHANNEL = 'keyward_key_changes';

export interface NotificationBusOptions extends Pick<ListenOptions, 'heartbeatMs' | 'staleAfterMs' | 'now' | 'timers'> {
  onError: (err: unknown) => void;
}

export class NotificationKeyChangeBus implements KeyChangeBus {
  private readonly subscribers: Subscribers;
  private listener: NotificationListener | undefined;
  private unreadable: UnreadableMessages | undefined;

  constructor(
    private readonly notifications: Notifications,
    private readonly opts: NotificationBusOptions,
  ) {
    this.subscribers = new Subscribers(opts.onError);
  }

  async publish(tx: Transaction, event: KeyEvent): Promise<void> {
    const published = structuredClone(event);
    for (const payload of encodeEvent(published, this.notifications.maxPayloadBytes)) await tx.notify(KEY_EVENTS_CHANNEL, payload);
    // This instance hears its own notification too, a moment later: the hook makes the change
    // hold here before the request that made it is answered.
    tx.afterCommit(() => this.subscribers.event(published));
  }

  subscribe(listener: KeyChangeListener): () => void {
    return this.subscribers.add(listener);
  }

  healthy(): boolean {
    return this.listener?.healthy() ?? false;
  }

  async start(): Promise<void> {
    if (this.listener) return;
    const { onError, heartbeatMs, staleAfterMs, now, timers } = this.opts;
    // Another version's message, or garbage: what it said is unknown, so assume the worst.
    const unreadable = new UnreadableMessages({ channel: KEY_EVENTS_CHANNEL, clear: () => this.subscribers.missed(), log: onError, now, timers });
    this.unreadable = unreadable;
    const listener = this.notifications.listen(KEY_EVENTS_CHANNEL, {
      onNotification: (payload) => {
        const event = decodeEvent(payload);
        if (event) return this.subscribers.event(event);
        unreadable.heard(payload);
      },
      onListening: () => this.subscribers.missed(),
      onError,
      heartbeatMs,
      staleAfterMs,
      now,
      timers,
    });
    await listener.start();
    this.listener = listener;
  }

  async stop(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    this.unreadable?.stop();
    this.unreadable = undefined;
    await listener?.stop();
  }
}
