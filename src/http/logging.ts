/**
 * Request logging: JSON lines (pino), one per request with its id. Credentials never reach a
 * log line: headers are not logged, and the two places a credential can sit in a URL (the
 * `ApiKey` query parameter and the token in /v1/auth/refresh/{token}) are masked.
 */
import type { FastifyRequest } from 'fastify';
import type { LoggerOptions } from 'pino';

const REDACTED = '[REDACTED]';

export function redactUrl(url: string): string {
  let out = url.replace(/^(\/v1\/auth\/refresh\/)[^?]*/i, `$1${REDACTED}`);
  const q = out.indexOf('?');
  if (q >= 0) {
    const params = out
      .slice(q + 1)
      .split('&')
      .map((pair) => {
        const name = pair.split('=')[0];
        return /^apikey$/i.test(decodeURIComponentSafe(name)) ? `${name}=${REDACTED}` : pair;
      });
    out = `${out.slice(0, q)}?${params.join('&')}`;
  }
  return out;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    // No `redact` paths: the serializers below are the redaction. A request is logged as its id,
    // method, masked URL and address, never its headers, and a response as its status; pino's
    // path redaction would cost a few per cent of throughput to mask fields that are never there.
    serializers: {
      req(req: FastifyRequest) {
        return { id: req.id, method: req.method, url: redactUrl(req.url), remoteAddress: req.ip };
      },
    },
  };
}
