/**
 * Text searched for with LIKE: the person's words, never a pattern. `%`, `_` and the escape
 * character itself are escaped, so `100%` finds "100%", not every row; queries add
 * `escape '\'` (SQLite has no default escape character; PostgreSQL's is the same backslash).
 */
import { type RawBuilder, sql } from 'kysely';

/** `text` as a LIKE pattern matching only itself: `%`, `_` and the backslash escaped. */
export const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

export function containsPattern(text: string): string {
  return `%${escapeLike(text)}%`;
}

/**
 * `expression` contains `text`, ignoring case as the database's lower() does (ASCII letters on
 * SQLite; on PostgreSQL, as the database's locale says). Both sides go through the same lower(),
 * so a search typed as the text is stored always finds it.
 */
export function containsIgnoringCase(expression: RawBuilder<unknown>, text: string): RawBuilder<boolean> {
  return sql<boolean>`lower(${expression}) like lower(${containsPattern(text)}) escape '\\'`;
}
