/**
 * The key-change bus where one process has the database (SQLite): events go to this process's
 * subscribers after commit, and there is nobody else to tell. Always healthy.
 */
import type { Transaction } from '../../store/store.js';
import type { KeyChangeBus, KeyChangeListener, KeyEvent } from './bus.js';
import { Subscribers } from './subscribers.js';

export class InProcessKeyChangeBus implements KeyChangeBus {
  private readonly subscribers: Subscribers;

  constructor(opts: { onError: (err: unknown) => void }) {
    this.subscribers = new Subscribers(opts.onError);
  }

  async publish(tx: Transaction, event: KeyEvent): Promise<void> {
    // A copy: the caller may reuse its arrays before the transaction commits.
    const published = structuredClone(event);
    tx.afterCommit(() => this.subscribers.event(published));
  }

  subscribe(listener: KeyChangeListener): () => void {
    return this.subscribers.add(listener);
  }

  healthy(): boolean {
    return true;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}
}
