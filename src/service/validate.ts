/** Field rules shared by the use cases; the JSON schemas at the edge check types and shapes. */
import { badRequest } from '../domain/errors.js';
import { checkNewPassword } from '../domain/passwordPolicy.js';

// C0/C1 control characters have no place in names people read.
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;

export function checkText(value: string, field: string, opts: { min: number; max: number }): string {
  const length = [...value].length;
  if (opts.min > 0 && value.trim().length === 0) throw badRequest(`${field} is required.`, { field });
  if (length < opts.min || length > opts.max) {
    throw badRequest(`${field} must be ${opts.min} to ${opts.max} characters long.`, { field, max: opts.max });
  }
  if (CONTROL_RE.test(value)) throw badRequest(`${field} must not contain control characters.`, { field });
  return value;
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+$/;

export function checkEmail(value: string): string {
  const email = value.trim().toLowerCase();
  if (!EMAIL_RE.test(email) || email.length > 254) throw badRequest('spec.emailId must be an email address.', { field: 'spec.emailId' });
  return email;
}

/** A new user's password, under the one policy (see domain/passwordPolicy.ts). */
export function checkPassword(value: string, email: string): string {
  return checkNewPassword(value, email, 'spec.password');
}
