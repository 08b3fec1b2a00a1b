import { badRequest } from './errors.js';

const DAY_MS = 24 * 60 * 60 * 1000;
// RFC 3339 date-time: a date, a time with optional fraction, and Z or a numeric offset.
const RFC3339_RE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function parseTimestamp(value: string, field: string): number {
  const ms = RFC3339_RE.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    throw badRequest(`${field} must be an RFC 3339 date-time, such as 2030-01-31T00:00:00Z.`, { field });
  }
  return ms;
}

/** Checks a requested expiry: in the future, and no further away than the maximum lifetime. */
export function checkNewExpiry(value: string, now: number, maxLifetimeDays: number): number {
  const expiry = parseTimestamp(value, 'spec.expiry');
  if (expiry <= now) {
    throw badRequest('spec.expiry must be in the future.', { field: 'spec.expiry' });
  }
  if (expiry > now + maxLifetimeDays * DAY_MS) {
    throw badRequest(`spec.expiry must be at most ${maxLifetimeDays} days from now.`, {
      field: 'spec.expiry',
      maxLifetimeDays,
    });
  }
  return expiry;
}

export const isExpired = (expiry: number, now: number) => expiry <= now;

export const toRfc3339 = (ms: number) => new Date(ms).toISOString();
