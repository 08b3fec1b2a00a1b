/**
 * Requirement expressions: which scopes a request needs, as scope names joined by AND and OR
 * (keywords in any case; AND binds tighter than OR) with parentheses:
 *
 *     apiKeys:read AND (users:read OR users:*)
 *
 * Used by verify's `require`, forward-auth's `?require=` and route rules' `require`. Parsed once
 * into a tree; `requirement(text)` memoises the parse because the same few texts arrive on every
 * request. `missing(held)` says what a key lacks, so a refusal can name it.
 */
import { badRequest } from './errors.js';
import { limits } from './limits.js';
import { grants, scopeNameProblem } from './scopes.js';

export interface Requirement {
  readonly text: string;
  /** Every scope name the expression mentions, in order of first appearance. */
  readonly scopes: readonly string[];
  /** The scopes `held` lacks for this requirement: empty (one shared frozen array) when met. */
  missing(held: readonly string[]): readonly string[];
}

/** Parentheses nested deeper than this are refused (the parser recurses once per level). */
export const MAX_REQUIREMENT_DEPTH = 32;

const NONE: readonly string[] = Object.freeze([]);

/** A node of the parsed expression; `missing` follows the rules of Requirement.missing. */
interface Node {
  missing(held: readonly string[]): readonly string[];
}

class ScopeNode implements Node {
  private readonly lacking: readonly string[];
  constructor(readonly name: string) {
    this.lacking = Object.freeze([name]);
  }
  missing(held: readonly string[]): readonly string[] {
    return grants(held, this.name) ? NONE : this.lacking;
  }
}

/** AND: the union of the failing parts' missing scopes, in order of first appearance. */
class AllNode implements Node {
  constructor(readonly parts: readonly Node[]) {}
  missing(held: readonly string[]): readonly string[] {
    let out: string[] | undefined;
    for (const part of this.parts) {
      const m = part.missing(held);
      if (m.length === 0) continue;
      if (out === undefined) out = [];
      for (const s of m) if (!out.includes(s)) out.push(s);
    }
    return out ?? NONE;
  }
}

/** OR: met when any alternative is; otherwise the missing of the alternative missing fewest (first on ties). */
class AnyNode implements Node {
  constructor(readonly parts: readonly Node[]) {}
  missing(held: readonly string[]): readonly string[] {
    let best: readonly string[] | undefined;
    for (const part of this.parts) {
      const m = part.missing(held);
      if (m.length === 0) return NONE;
      if (best === undefined || m.length < best.length) best = m;
    }
    return best ?? NONE;
  }
}

interface Token {
  /** '(' | ')' | 'AND' | 'OR' | 'name' */
  kind: string;
  text: string;
  /** 1-based character position in the expression, for messages. */
  at: number;
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

function tokenise(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === 0x28 || c === 0x29) {
      tokens.push({ kind: text[i], text: text[i], at: i + 1 });
      i++;
      continue;
    }
    const start = i;
    while (i < text.length) {
      const d = text.charCodeAt(i);
      if (isSpace(d) || d === 0x28 || d === 0x29) break;
      i++;
    }
    const word = text.slice(start, i);
    // Scope names always contain ':' or are '*', so the keywords cannot clash with one.
    const upper = word.toUpperCase();
    tokens.push({ kind: upper === 'AND' || upper === 'OR' ? upper : 'name', text: word, at: start + 1 });
  }
  return tokens;
}

function syntaxError(message: string, position: number) {
  return badRequest(`The requirement is not valid: ${message}`, { position });
}

class Parser {
  private i = 0;
  readonly scopes: string[] = [];
  constructor(
    private readonly tokens: Token[],
    private readonly length: number,
  ) {}

  parse(): Node {
    if (this.tokens.length === 0) throw badRequest('The requirement is empty: name at least one scope, such as "apiKeys:read".');
    const node = this.any(0);
    const extra = this.tokens[this.i];
    if (extra !== undefined) {
      if (extra.kind === ')') throw syntaxError(`")" at position ${extra.at} closes no "(".`, extra.at);
      throw syntaxError(`expected AND, OR or the end at position ${extra.at}, found "${extra.text}".`, extra.at);
    }
    return node;
  }

  private any(depth: number): Node {
    const parts = [this.all(depth)];
    while (this.tokens[this.i]?.kind === 'OR') {
      this.i++;
      parts.push(this.all(depth));
    }
    return parts.length === 1 ? parts[0] : new AnyNode(parts);
  }

  private all(depth: number): Node {
    const parts = [this.operand(depth)];
    while (this.tokens[this.i]?.kind === 'AND') {
      this.i++;
      parts.push(this.operand(depth));
    }
    return parts.length === 1 ? parts[0] : new AllNode(parts);
  }

  private operand(depth: number): Node {
    const token = this.tokens[this.i];
    if (token === undefined) {
      throw syntaxError(`it ends after position ${this.length}, where a scope name or "(" was expected.`, this.length);
    }
    if (token.kind === '(') {
      if (depth >= MAX_REQUIREMENT_DEPTH) {
        throw syntaxError(`parentheses nest deeper than ${MAX_REQUIREMENT_DEPTH} levels at position ${token.at}.`, token.at);
      }
      this.i++;
      const inner = this.any(depth + 1);
      const close = this.tokens[this.i];
      if (close?.kind !== ')') {
        const where = close === undefined ? 'the end' : `"${close.text}" at position ${close.at}`;
        throw syntaxError(`the "(" at position ${token.at} is not closed (found ${where}).`, close?.at ?? this.length);
      }
      this.i++;
      return inner;
    }
    if (token.kind !== 'name') {
      throw syntaxError(`expected a scope name or "(" at position ${token.at}, found "${token.text}".`, token.at);
    }
    const problem = scopeNameProblem(token.text);
    if (problem !== undefined) throw syntaxError(`at position ${token.at}: ${problem}`, token.at);
    this.i++;
    if (!this.scopes.includes(token.text)) this.scopes.push(token.text);
    return new ScopeNode(token.text);
  }
}

/** Parses `text`; throws BadRequest naming the position of a syntax error or a bad scope name. */
export function parseRequirement(text: string): Requirement {
  if (typeof text !== 'string') throw badRequest('The requirement must be text.');
  const max = limits.requirement.maxLength;
  if (text.length > max) throw badRequest(`The requirement is at most ${max} characters; this one has ${text.length}.`);
  const parser = new Parser(tokenise(text), text.length);
  const root = parser.parse();
  return Object.freeze({ text, scopes: Object.freeze(parser.scopes), missing: (held: readonly string[]) => root.missing(held) });
}

const MEMO_SIZE = 1000;
const memo = new Map<string, Requirement>();

/**
 * parseRequirement, memoised: the same requirement texts arrive on every request. Bounded (the
 * oldest entry goes first) because the texts come from callers; bad texts are not kept.
 */
export function requirement(text: string): Requirement {
  const known = memo.get(text);
  if (known !== undefined) return known;
  const parsed = parseRequirement(text);
  if (memo.size >= MEMO_SIZE) memo.delete(memo.keys().next().value as string);
  memo.set(text, parsed);
  return parsed;
}
