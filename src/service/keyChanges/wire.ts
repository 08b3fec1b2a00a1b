/**
 * Key events as notification payloads: `<type>:<arg>:...,<item>,<item>,...`, for example
 * `keys.changed:revoked,3f9c...,a07e...`. A payload must stay under the database's limit (8000
 * bytes on PostgreSQL), so an event with many items (a deleted user's keys) is sent as several
 * events of the same type, each with some of the items.
 *
 * Not JSON, on purpose: instances from before the typed bus read a payload as comma-separated
 * key uids, so during a rolling upgrade they still evict every key named here (the head is one
 * uid that matches nothing). A payload this version cannot read (an older or newer instance's)
 * decodes to undefined, and its receiver treats it as a missed event.
 */
import { KEY_CHANGE_REASONS, type KeyEvent } from './bus.js';

interface Codec<E extends KeyEvent> {
  encode(event: E): { args: string[]; items: string[] };
  decode(args: string[], items: string[]): E | undefined;
}

// Keyed by every event type: a new member of KeyEvent does not compile until it has a wire form.
const codecs: { [T in KeyEvent['type']]: Codec<Extract<KeyEvent, { type: T }>> } = {
  'keys.changed': {
    encode: (e) => ({ args: [e.reason], items: e.keyUids }),
    decode: ([reason, ...rest], keyUids) => {
      const known = KEY_CHANGE_REASONS.find((r) => r === reason);
      if (!known || rest.length > 0 || keyUids.some((uid) => uid === '')) return undefined;
      return { type: 'keys.changed', reason: known, keyUids };
    },
  },
  // `authRoutes.changed:<tenantUid>`, no items: an instance from before route rules reads it as
  // one key uid that matches nothing, and evicts nothing (it has no rules to forget either).
  'authRoutes.changed': {
    encode: (e) => ({ args: [e.tenantUid], items: [] }),
    decode: (args, items) => {
      if (args.length !== 1 || args[0] === '' || items.length > 0) return undefined;
      return { type: 'authRoutes.changed', tenantUid: args[0] };
    },
  },
};

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** The payloads that carry `event`, each at most `maxBytes` long, items in order. */
export function encodeEvent(event: KeyEvent, maxBytes: number): string[] {
  const codec = codecs[event.type] as Codec<KeyEvent>;
  const { args, items } = codec.encode(event);
  for (const part of [event.type, ...args]) {
    if (/[,:]/.test(part)) throw new Error(`key event ${event.type}: "${part}" cannot be sent (it holds "," or ":")`);
  }
  const head = [event.type, ...args].join(':');
  if (bytes(head) > maxBytes) throw new Error(`key event ${event.type}: its head does not fit in one notification`);
  const payloads: string[] = [];
  let payload = head;
  let size = bytes(head);
  let itemsInPayload = 0;
  for (const item of items) {
    if (item.includes(',')) throw new Error(`key event ${event.type}: item "${item}" cannot be sent (it holds ",")`);
    const cost = 1 + bytes(item);
    if (size + cost > maxBytes) {
      if (itemsInPayload === 0) throw new Error(`key event ${event.type}: item "${item}" does not fit in one notification`);
      payloads.push(payload);
      payload = head;
      size = bytes(head);
      itemsInPayload = 0;
    }
    payload += `,${item}`;
    size += cost;
    itemsInPayload++;
  }
  payloads.push(payload);
  return payloads;
}

/** The event a payload carries, or undefined when this version cannot read it. */
export function decodeEvent(payload: string): KeyEvent | undefined {
  const [head, ...items] = payload.split(',');
  const [type, ...args] = head.split(':');
  if (!Object.hasOwn(codecs, type)) return undefined;
  return (codecs[type as KeyEvent['type']] as Codec<KeyEvent>).decode(args, items);
}
