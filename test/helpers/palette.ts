/**
 * Validates response bodies against Palette's published schema (shared/palette/apikeys-openapi.json),
 * with Ajv over its swagger 2.0 `definitions`.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';

// The binding copy lives in shared/ beside the checkout; a copy is kept in test/fixtures for
// checkouts that have no shared/ beside them.
const sharedPath = fileURLToPath(new URL('../../../shared/palette/apikeys-openapi.json', import.meta.url));
const specPath = existsSync(sharedPath) ? sharedPath : fileURLToPath(new URL('../fixtures/palette-apikeys-openapi.json', import.meta.url));
const spec = JSON.parse(readFileSync(specPath, 'utf8'));

const ajv = new Ajv({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv) => void)(ajv);
ajv.addFormat('password', true);
ajv.addSchema({ $id: 'palette', definitions: spec.definitions });

export function assertPalette(definition: string, body: unknown): void {
  const validate = ajv.getSchema(`palette#/definitions/${definition}`);
  if (!validate) throw new Error(`no definition ${definition} in Palette's schema`);
  if (!validate(body)) {
    throw new Error(`response does not match Palette's ${definition}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`);
  }
}

/**
 * `text` is an error body a Palette client can decode: the v1Error shape, with a code, a message
 * and a ref, and no stack trace or source path anywhere in it. Returns the parsed body.
 */
export function assertV1ErrorBody(text: string, what = 'error body'): { code: string; message: string; ref: string; details?: Record<string, unknown> } {
  const body = JSON.parse(text);
  assertPalette('v1Error', body);
  assert.equal(typeof body.code, 'string', what);
  assert.equal(typeof body.message, 'string', what);
  assert.equal(typeof body.ref, 'string', what);
  assert.ok(!/\.ts:\d+|node_modules/.test(text), `${what}: no stack trace`);
  return body;
}
