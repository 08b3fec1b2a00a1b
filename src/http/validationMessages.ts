/**
 * Messages for request bodies, queries and parameters that fail their schema, in words a person
 * can act on. Ajv runs with `verbose`, so a failed error carries the schema it failed and the data.
 */
import type { FastifySchemaValidationError } from 'fastify';
import { lengthRefusal } from '../service/validate.js';

type VerboseError = FastifySchemaValidationError & { parentSchema?: { description?: unknown; minLength?: number; maxLength?: number }; data?: unknown };

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'empty or null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

export function schemaErrorFormatter(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const first = errors[0] as VerboseError;
  // The body itself is not an object: `null`, an array, a number, or no body at all.
  if (dataVar === 'body' && first.instancePath === '' && first.keyword === 'type') {
    return new Error(`the request body must be a JSON object, and it was ${describe(first.data)}`);
  }
  // anyOf says what is missing in the schema's description, which /docs shows too; Ajv's own
  // text lists every branch that failed.
  const last = errors[errors.length - 1] as VerboseError;
  if (last.keyword === 'anyOf' && typeof last.parentSchema?.description === 'string') {
    return new Error(`${dataVar}${last.instancePath}: ${last.parentSchema.description.replace(/\.$/, '')}`);
  }
  // Ajv's "must be equal to one of the allowed values" does not say which values those are.
  if (first.keyword === 'enum' && Array.isArray(first.params.allowedValues)) {
    return new Error(`${dataVar}${first.instancePath} must be one of ${first.params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`);
  }
  // Ajv's "must NOT have additional properties" does not say which one.
  if (first.keyword === 'additionalProperties' && typeof first.params.additionalProperty === 'string') {
    return new Error(`${dataVar}${first.instancePath} has an unknown field "${first.params.additionalProperty}"`);
  }
  // A text field outside its length limits (domain/limits.ts): refused in the services' own words
  // and details, whichever of the two checks it first.
  const { minLength, maxLength } = first.parentSchema ?? {};
  if (dataVar === 'body' && (first.keyword === 'minLength' || first.keyword === 'maxLength') && maxLength !== undefined && typeof first.data === 'string') {
    return lengthRefusal(first.data, first.instancePath.slice(1).replaceAll('/', '.'), { min: minLength ?? 0, max: maxLength });
  }
  return new Error(errors.map((e) => `${dataVar}${e.instancePath} ${e.message}`).join(', '));
}
