/** The subscribers of one bus, each told independently: one that throws does not deafen the others. */
import type { KeyChangeListener, KeyEvent } from './bus.js';

export class Subscribers {
  private listeners: KeyChangeListener[] = [];

  constructor(private readonly onError: (err: unknown) => void) {}

  add(listener: KeyChangeListener): () => void {
    // A wrapper per subscription, so that subscribing one listener twice is two subscriptions.
    const entry: KeyChangeListener = { event: (e) => listener.event(e), missed: () => listener.missed() };
    this.listeners = [...this.listeners, entry];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== entry);
    };
  }

  event(event: KeyEvent): void {
    for (const listener of this.listeners) {
      try {
        listener.event(event);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  missed(): void {
    for (const listener of this.listeners) {
      try {
        listener.missed();
      } catch (err) {
        this.onError(err);
      }
    }
  }
}
