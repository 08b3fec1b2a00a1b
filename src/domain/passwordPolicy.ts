/**
 * The one password policy, applied wherever a password is set: a user created through the API
 * or the CLI, the first-start admin, a password change and an admin's reset. Each refusal names
 * its rule, so that a form can show it as it is.
 *
 * Length is what makes a password hard to guess (NIST SP 800-63B drops composition rules for
 * it); the email checks refuse the first thing a guesser tries for an account.
 */
import { badRequest } from './errors.js';
import { limits } from './limits.js';

export const PASSWORD_MIN_LENGTH = limits.password.minLength;
export const PASSWORD_MAX_LENGTH = limits.password.maxLength;
/**
 * A local part shorter than this is not checked for inside the password: refusing every
 * password that contains "a" for a@example.com would refuse good passphrases and stop no guess.
 */
const LOCAL_PART_MIN_CHECKED = 3;

/** The password, when it may be set for the account with this email; a 400 naming the rule otherwise. */
export function checkNewPassword(password: string, email: string, field: string): string {
  // Characters as a person counts them (code points), not UTF-16 units.
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) {
    throw badRequest(`The password must be at least ${PASSWORD_MIN_LENGTH} characters long.`, { field, rule: 'minLength', min: PASSWORD_MIN_LENGTH });
  }
  if (length > PASSWORD_MAX_LENGTH) {
    throw badRequest(`The password must be at most ${PASSWORD_MAX_LENGTH} characters long.`, { field, rule: 'maxLength', max: PASSWORD_MAX_LENGTH });
  }
  const lowered = password.toLowerCase();
  const address = email.trim().toLowerCase();
  if (lowered === address) throw badRequest('The password must not be the email address.', { field, rule: 'notEmail' });
  const localPart = address.slice(0, address.lastIndexOf('@') >= 0 ? address.lastIndexOf('@') : address.length);
  if ([...localPart].length >= LOCAL_PART_MIN_CHECKED && lowered.includes(localPart)) {
    throw badRequest('The password must not contain the name part of the email address (before the @).', { field, rule: 'notEmailName' });
  }
  return password;
}
