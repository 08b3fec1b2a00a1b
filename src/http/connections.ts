/**
 * What a hostile or broken client can hold: every request must arrive within a deadline (headers
 * sooner), and every response must be taken within one; an idle kept-alive connection is closed;
 * open connections are capped, in all and per client address; a pipelining client gets at most a
 * few requests worked on at a time; and a shutdown gives requests in flight a deadline before it
 * closes whatever is left.
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { errorCodes } from '../domain/errors.js';
import { limiterKey } from '../domain/networkAddress.js';
import { errorBody } from './errorBody.js';

export interface ConnectionLimits {
  /** The whole request, body included, must arrive within this; also how long a connection may stay silent mid-request. */
  requestTimeoutMs: number;
  /** The request line and headers must arrive within this (capped at requestTimeoutMs). */
  headersTimeoutMs: number;
  /** A response must be written, from its first byte to its last, within this; a client reading slower is cut off. */
  responseTimeoutMs: number;
  /** A kept-alive connection idle this long is closed. */
  keepAliveTimeoutMs: number;
  /** Open connections at most. */
  maxConnections: number;
  /** Open connections from one client address at most (an IPv6 /64 counts as one address); trusted proxies are exempt. */
  maxConnectionsPerAddress: number;
  /** After a shutdown starts, requests in flight get this long before their connections are closed. */
  shutdownTimeoutMs: number;
}

export const defaultConnectionLimits: ConnectionLimits = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  // Long enough for the biggest answer over a slow link (every key of a tenant with 100,000 keys
  // is 43 MB: about 3 Mbit/s); a client reading slower than that holds the connection rather
  // than uses it.
  responseTimeoutMs: 120_000,
  // Longer than the idle timeout of common load balancers (60 s), so that they never send a
  // request on a connection we are closing; idle connections make room when the cap is reached.
  keepAliveTimeoutMs: 72_000,
  maxConnections: 1000,
  // A tenth of the cap: one client cannot take every place, and a service's connection pool or
  // an office behind one NAT still fits.
  maxConnectionsPerAddress: 100,
  shutdownTimeoutMs: 10_000,
};

/**
 * Requests of one connection handed to the application and not yet answered. A pipelining client
 * (HTTP/1.1 lets it send requests without waiting for answers) that has this many waits for them:
 * without a bound, one connection writing small requests and never reading the answers makes the
 * server work on thousands of them at once and hold every answer in memory.
 */
export const IN_FLIGHT_PER_CONNECTION = 8;
/**
 * Requests Node has already parsed past those, held in order until there is room. Node's parser
 * hands over every request in the chunk it has read (64 KB: up to thousands of small requests)
 * before reading stops, so some must be held; a connection with more than this waiting is not a
 * client waiting for its answers, and is closed.
 */
export const HELD_PER_CONNECTION = 64;
/**
 * A response written for this long to a client that is not keeping up (the socket's buffer is
 * full) is stalled: its connection may be closed to make room for a new one.
 */
const STALLED_MS = 1000;

/** Fastify's and Node's server options for these limits. */
export function serverOptions(limits: ConnectionLimits) {
  const headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  return {
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      headersTimeout,
      requestTimeout: limits.requestTimeoutMs,
      // Node checks the two timeouts above on this interval (30 s by default, which would let a
      // 1 s timeout run for 30 s); a check walks only connections with a request under way.
      connectionsCheckingInterval: checkInterval(headersTimeout),
    },
  };
}

function checkInterval(timeoutMs: number): number {
  return Math.max(25, Math.min(1000, Math.floor(timeoutMs / 4)));
}

/**
 * Node's own fields on a server socket: the response being written, the parser, and the flag by
 * which Node stops reading while a client does not take its answers (its HTTP code checks it
 * before it reads again; a plain pause() would be undone by the next request body read).
 */
type ServerSocket = Socket & {
  _httpMessage?: ServerResponse | null;
  _paused?: boolean;
  parser?: { resume(): void; onIncoming?: ((req: IncomingMessage, keepAlive: boolean) => number) | null } | null;
};

/**
 * What Node's parser is told, at a request's headers, to stop parsing the chunk it is in (the
 * answer for a protocol upgrade, which hands the rest of the bytes to someone else).
 */
const STOP_PARSING = 2;

/** The response a socket is writing, if one has begun: Node keeps it on the socket while it is in progress. */
function currentResponse(socket: Socket): ServerResponse | null {
  return (socket as ServerSocket)._httpMessage ?? null;
}

/** Whether a response has started on this socket, so that nothing else may be written to it. */
export function responseStarted(socket: Socket): boolean {
  return currentResponse(socket)?.headersSent === true;
}

const UNAVAILABLE_BODY = () => JSON.stringify(errorBody('ServiceUnavailable', 'The server is shutting down. Try again.'));

interface Connection {
  readonly socket: ServerSocket;
  /** The address group it counts against; null for a trusted proxy. */
  readonly group: string | null;
  /** Closed or being closed: whatever it still emits changes nothing. */
  gone: boolean;
  /** When it began waiting for a request (connected, or answered its last one); meaningless while inFlight > 0. */
  since: number;
  /** Requests handed to the application whose responses have not closed. */
  inFlight: number;
  /** Requests parsed and not yet handed over, oldest first. */
  held: [IncomingMessage, ServerResponse][];
  /** Whether reading was stopped here (not by Node's own backpressure). */
  paused: boolean;
  /** The response last seen being written, and since when. */
  writing: ServerResponse | null;
  writingSince: number;
}

/** Why connections were closed, counted between two log lines. */
type Cut = 'refused' | 'madeRoom' | 'pipelining' | 'slowResponse';

export interface TrackOptions {
  /** Peers whose connections do not count against a per-address limit (trusted proxies: everybody's connections come from them). */
  exempt?: (address: string | undefined) => boolean;
  /** Where a summary of connections closed by these limits goes, at most once a check interval. */
  log?: { warn(obj: object, msg: string): void };
}

const kConnection = Symbol('keyward.connection');
type TaggedResponse = ServerResponse & { [kConnection]?: Connection };

/**
 * Enforces `limits` on `server`'s connections and keeps track of them.
 *
 * At the cap (in all, or for the new connection's address), the new connection is kept and room
 * is made by closing the connection that has waited longest for request headers (an idle
 * kept-alive connection, or one still sending its headers: a slowloris) or, failing that, the one
 * longest stalled writing a response to a client that does not read. Only when every place is
 * held by a request under way is the newcomer closed. Without this, clients reconnecting as their
 * slow connections are cut would keep everybody else out.
 *
 * Must be called before anything else listens for 'request': it hands requests to those listeners
 * itself, a few per connection at a time.
 */
export function trackConnections(server: Server, limits: ConnectionLimits, opts: TrackOptions = {}) {
  // No sets of waiting and busy connections kept up to date as each request starts and ends:
  // that was four set operations a request on the hot path, for the rare moments (the cap
  // reached, the once-a-second check) that walk the open connections instead.
  const open = new Map<Socket, Connection>();
  const groups = new Map<string, Set<Connection>>();
  const cuts: Record<Cut, number> = { refused: 0, madeRoom: 0, pipelining: 0, slowResponse: 0 };

  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  const handOver: RequestListener = listeners.length === 1 ? listeners[0] : (req, res) => listeners.forEach((l) => l.call(server, req, res));

  function forget(c: Connection) {
    if (c.gone) return;
    c.gone = true;
    c.held = [];
    open.delete(c.socket);
    if (c.group !== null) {
      const group = groups.get(c.group);
      group?.delete(c);
      if (group?.size === 0) groups.delete(c.group);
    }
  }

  function cut(c: Connection, why: Cut) {
    forget(c);
    // A reset, not a close: a close would leave whatever is unsent in the kernel's buffers, still
    // to be delivered to the client that is not reading it.
    if (why === 'madeRoom' && c.inFlight === 0) c.socket.destroy();
    else c.socket.resetAndDestroy();
    cuts[why]++;
  }

  /** How long `c` has been writing a response its client is not keeping up with, if it is. */
  function stalledFor(c: Connection, now: number): number {
    const res = currentResponse(c.socket);
    if (res === null || res !== c.writing || !c.socket.writableNeedDrain) return 0;
    return now - c.writingSince;
  }

  function longestStalled(candidates: Iterable<Connection>, now: number): Connection | undefined {
    let found: Connection | undefined;
    let longest = STALLED_MS - 1;
    for (const c of candidates) {
      const t = c.inFlight > 0 ? stalledFor(c, now) : 0;
      if (t > longest) [found, longest] = [c, t];
    }
    return found;
  }

  function longestWaiting(candidates: Iterable<Connection>): Connection | undefined {
    let found: Connection | undefined;
    for (const c of candidates) if (c.inFlight === 0 && (found === undefined || c.since < found.since)) found = c;
    return found;
  }

  /** Closes a connection of `group` (or of all, when null) that may make room for a new one; false if none may. */
  function makeRoom(group: Set<Connection> | null, now: number): boolean {
    const c =
      group === null ? (longestWaiting(open.values()) ?? longestStalled(open.values(), now)) : (longestWaiting(group) ?? longestStalled(group, now));
    if (c === undefined) return false;
    cut(c, 'madeRoom');
    return true;
  }

  server.on('connection', (socket: ServerSocket) => {
    const now = Date.now();
    const address = socket.remoteAddress;
    // One client's addresses share one count: an IPv4 address, or an IPv6 /64 (as the guessing limits count).
    const key = opts.exempt?.(address) ? null : limiterKey(address ?? '');
    const group = key === null ? undefined : groups.get(key);
    if (group !== undefined && group.size >= limits.maxConnectionsPerAddress && !makeRoom(group, now)) {
      cuts.refused++;
      return void socket.destroy();
    }
    if (open.size >= limits.maxConnections && !makeRoom(null, now)) {
      cuts.refused++;
      return void socket.destroy();
    }
    const c: Connection = { socket, group: key, gone: false, since: now, inFlight: 0, held: [], paused: false, writing: null, writingSince: 0 };
    open.set(socket, c);
    if (key !== null) {
      if (group === undefined) groups.set(key, new Set([c]));
      else group.add(c);
    }
    socket.once('close', () => forget(c));
    // Once a connection is cut, the rest of the chunk its parser is in (up to 64 KB, a thousand
    // requests and more) would still be parsed, each into a request and a response, for nothing.
    const parser = socket.parser;
    const onIncoming = parser?.onIncoming;
    if (parser && typeof onIncoming === 'function') parser.onIncoming = (req, keepAlive) => (c.gone ? STOP_PARSING : onIncoming(req, keepAlive));
  });

  function start(c: Connection, req: IncomingMessage, res: ServerResponse) {
    c.inFlight++;
    (res as TaggedResponse)[kConnection] = c;
    // A response closes once, and is dropped after: no need for once()'s wrapper and removal.
    res.on('close', finished);
    handOver.call(server, req, res);
  }

  // One function for every response, not a closure each: this is the hot path.
  function finished(this: TaggedResponse) {
    const c = this[kConnection]!;
    if (c.gone) return;
    if (c.socket.destroyed) {
      // Its client went away: what it had pipelined is not worth answering.
      forget(c);
      return;
    }
    c.inFlight--;
    while (c.held.length > 0 && c.inFlight < IN_FLIGHT_PER_CONNECTION) {
      const [req, res] = c.held.shift()!;
      start(c, req, res);
    }
    if (c.inFlight === 0) {
      c.writing = null;
      c.since = Date.now();
    }
    if (c.paused && c.held.length === 0 && c.inFlight < IN_FLIGHT_PER_CONNECTION) resume(c);
  }

  /** Stops reading from the connection, the way Node's HTTP server itself does while its client does not read. */
  function pause(c: Connection) {
    c.paused = true;
    c.socket._paused = true;
    c.socket.pause();
  }

  function resume(c: Connection) {
    c.paused = false;
    const socket = c.socket;
    // If its client is not taking what it is sent, Node's own backpressure applies: Node reads
    // again once the socket drains.
    if (socket.destroyed || !socket._paused || socket.writableNeedDrain) return;
    socket._paused = false;
    socket.parser?.resume();
    socket.resume();
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const c = open.get(req.socket);
    if (c === undefined) {
      // A request parsed from a connection already closed (what its chunk held after the cut).
      if (!req.socket.destroyed) handOver.call(server, req, res);
      return;
    }
    if (c.inFlight < IN_FLIGHT_PER_CONNECTION && c.held.length === 0) return start(c, req, res);
    if (c.held.length >= HELD_PER_CONNECTION) return cut(c, 'pipelining');
    c.held.push([req, res]);
    pause(c);
  });

  // The response deadline, checked on the same kind of interval as Node's request timeouts.
  const checker = setInterval(() => {
    const now = Date.now();
    for (const c of open.values()) {
      if (c.inFlight === 0) continue;
      const res = currentResponse(c.socket);
      if (res === null || !res.headersSent) continue;
      if (c.writing !== res) {
        c.writing = res;
        c.writingSince = now;
      } else if (now - c.writingSince > limits.responseTimeoutMs) {
        cut(c, 'slowResponse');
      }
    }
    if (cuts.refused + cuts.madeRoom + cuts.pipelining + cuts.slowResponse > 0) {
      opts.log?.warn({ connectionsClosed: { ...cuts } }, 'connections closed by the connection limits');
      cuts.refused = cuts.madeRoom = cuts.pipelining = cuts.slowResponse = 0;
    }
  }, checkInterval(limits.responseTimeoutMs));
  checker.unref();
  server.once('close', () => clearInterval(checker));

  /** Ends every open connection: a request still waiting for its answer gets a 503 first. */
  function endAll(): number {
    const count = open.size;
    for (const socket of open.keys()) {
      const res = currentResponse(socket);
      if (res && !res.headersSent && socket.writable) {
        const body = UNAVAILABLE_BODY();
        res.writeHead(errorCodes.ServiceUnavailable.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
        res.end(body, () => socket.destroy());
      } else {
        socket.destroy();
      }
    }
    return count;
  }

  return {
    /** Starts the shutdown deadline: whatever is still open when it passes is ended. */
    endAfter(ms: number, onForced?: (count: number) => void) {
      const timer = setTimeout(() => {
        const count = endAll();
        if (count > 0) onForced?.(count);
        // A client that never reads would keep a socket open past its 503: end those too.
        setTimeout(() => server.closeAllConnections(), 500).unref();
      }, ms);
      timer.unref();
      server.once('close', () => clearTimeout(timer));
    },
  };
}
