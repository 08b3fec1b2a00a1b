/**
 * Request logging: JSON lines (pino), one per request with its id. Credentials never reach a
 * log line: headers are not logged, URLs are redacted after decoding (a credential can sit in
 * the path of /v1/auth/refresh/{token} or in a query parameter, spelled in many ways), and
 * anything shaped like a Keyward key or a session token is masked wherever it appears, in URLs
 * and in logged errors.
 */
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import pino, { type LoggerOptions } from 'pino';
import { hasLongRun, maskCredentials, REDACTED } from '../domain/credentialShapes.js';

// What a credential looks like is the domain's (credentialShapes.ts): the forward-auth check masks
// secrets in the paths it reports with the same test.
export { maskCredentials };

// Anything a credential could hide behind: a percent-encoding, a `;` (another parameter
// separator), the refresh path, a key or token shape, a query parameter with a credential-like
// name, a request target that is not a path (absolute form, with possible user:password@), or
// (hasLongRun) a run as long as a secret's. Most URLs have none of these (a uid is a run of 24),
// and cost this one test and one scan.
const SUSPECT = /[%;]|refresh|kw_|eyj|[?&#][^&=]*(?:api|key|tok|auth|pass|secret|sess|sig)|^[^/]/i;

// ASCII triplets always decode to one character; a run of non-ASCII triplets decodes when it is
// UTF-8 and stays as it is otherwise, so invalid bytes next to a credential cannot hide it.
const TRIPLETS = /(?:%[89a-f][0-9a-f])+|%[0-7][0-9a-f]/gi;

function decodeOnce(s: string): string {
  return s.replace(TRIPLETS, (run) => {
    if (run.length === 3 && run.charCodeAt(1) < 0x38) return String.fromCharCode(parseInt(run.slice(1), 16));
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

/** Percent-decoding repeated until nothing changes (a double-encoded `%2541piKey` is `ApiKey`). */
function decodeAll(s: string): string {
  for (let i = 0; i < 5 && s.includes('%'); i++) {
    const next = decodeOnce(s);
    if (next === s) break;
    s = next;
  }
  return s;
}

function isCredentialName(decodedName: string): boolean {
  const name = decodedName.toLowerCase().replace(/[^a-z]/g, '');
  return /apikey|token|auth|passw|secret|session|signature/.test(name) || name === 'key';
}

/** A path as logged: decoded and cut after /refresh where a token may follow, else as sent. */
function redactPath(path: string): string {
  // user:password@ in an absolute-form request target.
  const p = path.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, `$1${REDACTED}@`);
  const decoded = decodeAll(p);
  // Any case, any slashes before it, %2F after it: whatever follows /refresh may be a token.
  const refresh = /\/refresh/i.exec(decoded);
  let out = refresh && refresh.index + 8 < decoded.length ? `${decoded.slice(0, refresh.index + 8)}/${REDACTED}` : decoded;
  out = maskCredentials(out);
  return out === decoded ? p : out;
}

/** Query parameters, split on `&`, `;` and `#`, whose decoded name looks like a credential's. */
function redactQuery(query: string): string {
  return query.replace(/[^&;#]+/g, (pair) => {
    const eq = pair.indexOf('=');
    const rawName = eq >= 0 ? pair.slice(0, eq) : undefined;
    const decoded = decodeAll(pair.replace(/\+/g, ' '));
    // The name as the server would read it, or, where `=` itself was encoded, up to the decoded `=`.
    const name = rawName !== undefined ? decodeAll(rawName.replace(/\+/g, ' ')) : decoded.slice(0, Math.max(0, decoded.indexOf('=')));
    if (name !== '' && isCredentialName(name)) {
      // The name itself may hold an encoded credential: then it is shown decoded and masked.
      const maskedName = maskCredentials(name);
      return `${maskedName === name && rawName !== undefined ? rawName : maskedName}=${REDACTED}`;
    }
    const masked = maskCredentials(decoded);
    return masked === decoded ? pair : masked;
  });
}

export function redactUrl(url: string): string {
  if (!SUSPECT.test(url) && !hasLongRun(url)) return url;
  // Masked once as sent, so that a shape is caught even where decoding would merge its first
  // character into a neighbouring escape; then again, in each part, after decoding.
  const masked = maskCredentials(url);
  const q = masked.indexOf('?');
  return q < 0 ? redactPath(masked) : `${redactPath(masked.slice(0, q))}?${redactQuery(masked.slice(q + 1))}`;
}

/** pino's error serializer, with every string it keeps (message, stack, a driver's detail) masked. */
function serializeError(err: Error) {
  const out = pino.stdSerializers.err(err) as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(out)) if (typeof v === 'string') out[k] = maskCredentials(v);
  return out;
}

/** Whether `logger` writes lines of `level` (its level is set once, at start). */
export function logsAt(logger: { level: string }, level: 'info' | 'warn'): boolean {
  return (pino.levels.values[logger.level] ?? Number.POSITIVE_INFINITY) <= pino.levels.values[level];
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    // The message of a line, as opposed to its fields, is a plain string: Fastify writes an
    // error's own message there when it logs one itself.
    hooks: {
      logMethod(args, method) {
        for (let i = 0; i < args.length; i++) {
          const arg: unknown = args[i];
          if (typeof arg === 'string') args[i] = maskCredentials(arg);
        }
        return method.apply(this, args);
      },
    },
    // No `redact` paths: the serializers below are the redaction. A request is logged as its id,
    // method, masked URL and address, never its headers, and a response as its status; pino's
    // path redaction would cost a few per cent of throughput to mask fields that are never there.
    serializers: {
      req(req: FastifyRequest) {
        return { id: req.id, method: req.method, url: redactUrl(req.url), remoteAddress: req.ip };
      },
      err: serializeError,
    },
  };
}

/** A JSON string literal of `s`: quoted as it is unless it holds what JSON must escape. */
function jsonString(s: string): string {
  return /["\\\u0000-\u001f\ud800-\udfff]/.test(s) ? JSON.stringify(s) : `"${s}"`;
}

export type AccessLine = (request: FastifyRequest, statusCode: number, responseTime: number) => void;

const ACCESS_MESSAGE = 'request completed';

/**
 * The access line written after each response, at `info`: the line pino writes for
 * `log.info({ reqId, req, res: { statusCode }, responseTime }, 'request completed')` with the
 * serializers above, byte for byte, but built from pre-serialised parts (pino's level, time and
 * bindings, constant field names) and handed straight to the logger's destination. Through pino
 * the same line cost about 2 µs more a request (an object per field, the serializers' objects,
 * a generic walk over them, the logMethod hook), the largest part of `info`'s cost beyond `warn`.
 *
 * Undefined when `logger` does not write `info` lines. A logger this cannot read as plain pino
 * writing to one stream with the standard time and message key (a multistream, a transport, other
 * options) gets its line through pino as before.
 */
export function accessLine(logger: FastifyBaseLogger): AccessLine | undefined {
  if (!logsAt(logger, 'info')) return undefined;
  const internals = logger as unknown as Record<symbol, unknown>;
  const stream = internals[pino.symbols.streamSym] as { write?: (line: string) => unknown } | undefined;
  const time = internals[pino.symbols.timeSym];
  const level = (internals[pino.symbols.lsCacheSym] as Record<number, string> | undefined)?.[pino.levels.values.info];
  const bindings = internals[pino.symbols.chindingsSym];
  const plain =
    typeof stream?.write === 'function' &&
    !(stream as Record<symbol, unknown>)[pino.symbols.needsMetadataGsym] &&
    time === pino.stdTimeFunctions.epochTime &&
    internals[pino.symbols.messageKeySym] === 'msg' &&
    level === '{"level":30' &&
    typeof bindings === 'string';
  if (!plain) {
    return (request, statusCode, responseTime) =>
      request.log.info({ reqId: request.id, req: request, res: { statusCode }, responseTime }, ACCESS_MESSAGE);
  }
  const write = stream.write!.bind(stream);
  const start = `{"level":30,"time":`;
  const end = `,"msg":"${ACCESS_MESSAGE}"}\n`;
  return (request, statusCode, responseTime) => {
    const id = jsonString(request.id);
    const ip = request.ip;
    write(
      `${start}${Date.now()}${bindings},"reqId":${id},"req":{"id":${id},"method":${jsonString(request.method)},"url":${jsonString(redactUrl(request.url))}` +
        `${typeof ip === 'string' ? `,"remoteAddress":${jsonString(ip)}` : ''}},"res":{"statusCode":${statusCode}},"responseTime":${Number.isFinite(responseTime) ? responseTime : null}${end}`,
    );
  };
}
