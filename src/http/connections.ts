/**
 * What a hostile or broken client can hold: every request must arrive within a deadline (headers
 * sooner), an idle kept-alive connection is closed, open connections are capped, and a shutdown
 * gives requests in flight a deadline before it closes whatever is left.
 */
import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { errorCodes } from '../domain/errors.js';
import { errorBody } from './errorBody.js';

export interface ConnectionLimits {
  /** The whole request, body included, must arrive within this; also how long a connection may stay silent mid-request. */
  requestTimeoutMs: number;
  /** The request line and headers must arrive within this (capped at requestTimeoutMs). */
  headersTimeoutMs: number;
  /** A kept-alive connection idle this long is closed. */
  keepAliveTimeoutMs: number;
  /** Open connections at most. */
  maxConnections: number;
  /** After a shutdown starts, requests in flight get this long before their connections are closed. */
  shutdownTimeoutMs: number;
}

export const defaultConnectionLimits: ConnectionLimits = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  // Longer than the idle timeout of common load balancers (60 s), so that they never send a
  // request on a connection we are closing; idle connections make room when the cap is reached.
  keepAliveTimeoutMs: 72_000,
  maxConnections: 1000,
  shutdownTimeoutMs: 10_000,
};

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
      connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(headersTimeout / 4))),
    },
  };
}

/** The response a socket is writing, if one has begun: Node keeps it on the socket while it is in progress. */
function currentResponse(socket: Socket): ServerResponse | null {
  return (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? null;
}

/** Whether a response has started on this socket, so that nothing else may be written to it. */
export function responseStarted(socket: Socket): boolean {
  return currentResponse(socket)?.headersSent === true;
}

const UNAVAILABLE_BODY = () => JSON.stringify(errorBody('ServiceUnavailable', 'The server is shutting down. Try again.'));

/**
 * Caps `server`'s connections and keeps track of them. Past the cap, Node closes a new connection
 * at once (no memory, no queue); idle kept-alive connections are then closed, so that the next
 * attempt finds room. Connections in the middle of a request hold their place at most until the
 * request timeout.
 */
export function trackConnections(server: Server, maxConnections: number) {
  const open = new Set<Socket>();
  server.maxConnections = maxConnections;
  server.on('drop', () => server.closeIdleConnections());
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });

  /** Ends every open connection: a request still waiting for its answer gets a 503 first. */
  function endAll(): number {
    const count = open.size;
    for (const socket of open) {
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
