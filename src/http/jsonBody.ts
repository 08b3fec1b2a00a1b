/**
 * The one parser for request bodies: JSON in UTF-8, checked strictly before it is parsed, so that
 * what is stored is exactly what was sent, the same on SQLite and PostgreSQL.
 */
import type { FastifyInstance } from 'fastify';
import { badRequest, KeywardError } from '../domain/errors.js';

// `fatal`: a byte sequence that is not UTF-8 (FF, an encoded surrogate such as ED A0 80, an
// overlong form) is an error, never silently replaced with U+FFFD.
const utf8 = new TextDecoder('utf-8', { fatal: true });

const JSON_WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const isBlank = (body: Buffer) => body.every((b) => JSON_WHITESPACE.has(b));

/** The charset parameter of a Content-Type, lower-cased, or undefined when there is none. */
export function charsetOf(contentType: string | undefined): string | undefined {
  const m = contentType === undefined ? null : /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType);
  return m ? (m[1] ?? m[2]).toLowerCase() : undefined;
}

// "utf8" is the WHATWG Encoding Standard's own label for UTF-8, and common in the wild.
const UTF8_LABELS = new Set(['utf-8', 'utf8']);

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Why a parsed value cannot be taken, or undefined. JSON escapes can spell what UTF-8 cannot:
 * a lone surrogate (`"\ud800"`), which each database stores differently, and NUL, which
 * PostgreSQL cannot store in text and no value Keyward takes has a use for.
 */
function badString(value: unknown): string | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return 'Text in the request body must not contain NUL characters.';
    if (LONE_SURROGATE.test(value)) return 'Text in the request body must not contain unpaired UTF-16 surrogates (such as "\\ud800"): send valid Unicode.';
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const bad = badString(k) ?? badString(v);
      if (bad) return bad;
    }
  }
  return undefined;
}

export function registerJsonBody(app: FastifyInstance) {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    // Palette's clients send Content-Type: application/json with an empty body (a DELETE):
    // that is no body, left for the route's schema to accept or refuse.
    if (isBlank(body)) return done(null, undefined);
    const charset = charsetOf(request.headers['content-type']);
    if (charset !== undefined && !UTF8_LABELS.has(charset)) {
      return done(
        new KeywardError('UnsupportedMediaType', `Send the request body as JSON in UTF-8 (Content-Type: application/json; charset=utf-8), not charset=${charset.slice(0, 40)}.`),
        undefined,
      );
    }
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      return done(badRequest('The request body is not valid UTF-8. Send JSON encoded in UTF-8.'), undefined);
    }
    parseJson(request, text, (err, parsed) => {
      if (err) return done(err, undefined);
      // Both can only be spelled as a \u escape: most bodies have none and skip the walk.
      const bad = text.includes('\\u') ? badString(parsed) : undefined;
      if (bad) return done(badRequest(bad), undefined);
      done(null, parsed);
    });
  });
  // Every body is JSON: a text/plain body is an unsupported media type, not a string to validate.
  app.removeContentTypeParser('text/plain');
}
