/** Field rules shared by the use cases, for every caller: the route schemas check the same limits (domain/limits.ts), the CLI has none. */
import { badRequest } from '../domain/errors.js';
import { limits } from '../domain/limits.js';
import { checkNewPassword } from '../domain/passwordPolicy.js';

// Control characters (Unicode Cc: C0, DEL, C1, among them ESC, which starts terminal escape
// sequences), format characters (Cf: bidi overrides such as U+202E, zero-width characters, soft
// hyphen, BOM, tags), the line and paragraph separators, and lone surrogates: in a name a person
// reads they are invisible, rewrite what a terminal shows, or make one name pass for another.
const UNSAFE_IN_NAME = /[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029]/u;
// Free text (a description) may keep its line breaks and tabs; nothing else from that list.
const UNSAFE_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\p{Cf}\p{Cs}\u2028\u2029]/u;
// Letters and marks that render as nothing (Unicode's Default_Ignorable_Code_Point: U+3164 HANGUL
// FILLER, U+115F, U+034F COMBINING GRAPHEME JOINER, variation selectors, tags): a tenant named
// U+3164 shows blank, and "admin" followed by one looks like "admin". The one exception is an
// emoji's own presentation selector (U+FE0F after ❤), which is how many emoji are written.
const INVISIBLE = /(?<!\p{Extended_Pictographic})[\uFE0E\uFE0F]|(?![\uFE0E\uFE0F])\p{Default_Ignorable_Code_Point}/u;
// What a name must hold more than: whitespace of every kind, invisible letters, and U+2800
// BRAILLE PATTERN BLANK, a visible character that shows as a space.
const BLANK = /[\p{White_Space}\p{Default_Ignorable_Code_Point}\u2800]/gu;

const codePoint = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

function refuseUnsafe(value: string, field: string, multiline: boolean): void {
  const found = (multiline ? UNSAFE_IN_TEXT : UNSAFE_IN_NAME).exec(value) ?? INVISIBLE.exec(value);
  if (found) {
    throw badRequest(
      `${field} must not contain control or invisible formatting characters (found ${codePoint(found[0])}${multiline ? '; line breaks and tabs are allowed' : ''}).`,
      { field },
    );
  }
}

/**
 * A name or text field. `multiline` is for free text such as descriptions, which may hold line
 * breaks and tabs; names may not.
 */
export function checkText(value: string, field: string, opts: { min: number; max: number; multiline?: boolean }): string {
  const length = [...value].length;
  if (length < opts.min || length > opts.max || (opts.min > 0 && value.trim().length === 0)) throw lengthRefusal(value, field, opts);
  refuseUnsafe(value, field, opts.multiline === true);
  if (opts.min > 0 && value.replace(BLANK, '').length === 0) {
    throw badRequest(`${field} is required, and must hold more than blank characters.`, { field });
  }
  return value;
}

/**
 * The refusal of a text outside its length limits. The route schemas refuse most such values
 * first (http/validationMessages.ts), in these same words.
 */
export function lengthRefusal(value: string, field: string, opts: { min: number; max: number }) {
  if (opts.min > 0 && value.trim().length === 0) return badRequest(`${field} is required.`, { field });
  const range = opts.min === 0 ? `at most ${opts.max}` : `${opts.min} to ${opts.max}`;
  return badRequest(`${field} must be ${range} characters long.`, { field, max: opts.max });
}

// An address a mail server takes as one recipient: a dot-atom before the @ (RFC 5322 atext, or
// any letter, digit or mark, as RFC 6531 allows), and a domain of labels of letters, digits and
// inner hyphens joined by dots. Anything else (a comma, a quote, brackets, a space, `a@x.com,evil.com`)
// would read as another address, or as none, in a mail header.
const ATOM = "[\\p{L}\\p{N}\\p{M}!#$%&'*+/=?^_`{|}~-]+";
const LABEL = '[\\p{L}\\p{N}](?:[\\p{L}\\p{N}\\p{M}-]{0,61}[\\p{L}\\p{N}\\p{M}])?';
const EMAIL_RE = new RegExp(`^${ATOM}(?:\\.${ATOM})*@${LABEL}(?:\\.${LABEL})*$`, 'u');

export function checkEmail(value: string): string {
  refuseUnsafe(value, 'spec.emailId', false);
  const email = value.trim().toLowerCase();
  if (!EMAIL_RE.test(email) || email.length > limits.user.email.maxLength) throw badRequest('spec.emailId must be an email address.', { field: 'spec.emailId' });
  return email;
}

/** A new user's password, under the one policy (see domain/passwordPolicy.ts). */
export function checkPassword(value: string, email: string): string {
  return checkNewPassword(value, email, 'spec.password');
}
