/**
 * The CLI prints what a database or a server holds, and a terminal obeys what it prints: ESC
 * starts colour, cursor, title and hyperlink sequences (some terminals also take C1's U+009B as
 * one), and format characters such as U+202E reorder or hide text. Values stored before names
 * refused these, or sent by a hostile server, must reach the terminal escaped, never raw: every
 * value the CLI prints goes through here.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeOne(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const cp = c.codePointAt(0)!;
  return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
}

/** `value` with every control, format and separator character written as an escape (`\u001b`, `\n`). */
export function escapeForTerminal(value: string): string {
  return value.replace(UNPRINTABLE, escapeOne);
}

/** A template tag: each interpolated value is escaped, the template's own line breaks are kept. */
export function safe(strings: TemplateStringsArray, ...values: unknown[]): string {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += escapeForTerminal(String(values[i])) + strings[i + 1];
  return out;
}

// JSON.stringify escapes C0 controls and lone surrogates, but writes DEL, C1, format characters
// and U+2028/2029 as they are; as \u escapes (UTF-16 units) the JSON means the same.
const JSON_UNPRINTABLE = /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/gu;

/** `data` as indented JSON that a terminal shows as text. */
export function jsonForTerminal(data: unknown): string {
  return JSON.stringify(data, null, 2).replace(JSON_UNPRINTABLE, (c) => {
    let out = '';
    for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return out;
  });
}
