/**
 * A tenant's forward-auth route rules: which scopes a request to the protected service needs,
 * by method and path. The first rule (lowest index) matching the request applies; no match
 * falls to the default (allow or deny).
 *
 * Paths are globs over whole segments: a literal segment, `*` (exactly one segment) or `**`
 * (zero or more segments). They are compared with each reading of the request path
 * (requestPath.ts: the normalised one, the literal one, ...; forward-auth needs every reading to pass),
 * ASCII letters case-insensitively (only ASCII, so the answer does not depend on Unicode case
 * tables; the normaliser refuses the few letters, such as the Kelvin sign, whose case mapping is
 * ASCII, which a case-insensitive server would read as `k`).
 *
 * Compiled into a segment trie walked once per reading, so the cost of a match depends on the
 * path's length and on how many wildcards overlap, not on the number of rules; bounded by
 * MAX_LIVE_STATES (see TOO_COMPLEX) and 32 segments per rule path.
 */
import { badRequest } from './errors.js';
import { limits } from './limits.js';
import { parseRequirement, requirement, type Requirement } from './scopeExpression.js';

export type RouteMode = 'enforce' | 'audit';
export type RouteDefault = 'allow' | 'deny';
export interface RouteRule {
  /** Upper-case HTTP method names, or `["*"]` for any; GET also matches HEAD. */
  methods: string[];
  /** A path glob starting with `/`. */
  path: string;
  /** A requirement expression; an empty text means any valid key (no scope needed). */
  require: string;
}
export interface RouteRules {
  mode: RouteMode;
  default: RouteDefault;
  rules: RouteRule[];
}

export const NO_ROUTE_RULES: RouteRules = Object.freeze({
  mode: 'enforce',
  default: 'allow',
  rules: Object.freeze([]) as unknown as RouteRule[],
}) as RouteRules;

/** HTTP method names as written in rules: upper-case letters (and `-`/`_`, as in WebDAV's VERSION-CONTROL). */
function methodProblem(method: unknown): string | undefined {
  if (typeof method !== 'string' || method.length === 0) return 'a method must be a non-empty text such as "GET"';
  if (method === '*') return undefined;
  if (method.length > 32) return `method "${method.slice(0, 32)}..." is too long`;
  let lower = false;
  for (let i = 0; i < method.length; i++) {
    const c = method.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) lower = true;
    else if (!((c >= 0x41 && c <= 0x5a) || c === 0x2d || c === 0x5f)) return `method "${method}" is not an HTTP method name (letters only, or "*" for any)`;
  }
  return lower ? `method "${method}" must be written in upper case ("${method.toUpperCase()}")` : undefined;
}

/** The segments of a rule's path glob (trailing slash ignored), or why it is not one. */
function globSegments(path: unknown): string[] | string {
  const { minLength, maxLength } = limits.authRoutes.path;
  if (typeof path !== 'string' || path.length < minLength) return 'the path must be a text starting with "/"';
  if (path.length > maxLength) return `the path is at most ${maxLength} characters`;
  if (path.charCodeAt(0) !== 0x2f) return `the path "${path}" must start with "/"`;
  const body = path.length > 1 && path.endsWith('/') ? path.slice(1, -1) : path.slice(1);
  if (body === '') return [];
  const segments = body.split('/');
  const maxSegments = limits.authRoutes.segments.maxItems;
  if (segments.length > maxSegments) return `the path has ${segments.length} segments; at most ${maxSegments}`;
  for (const s of segments) {
    if (s === '') return `the path "${path}" has an empty segment ("//"); only "*" and "**" match an empty segment of a request path`;
    if (s === '.' || s === '..') return `the path "${path}" has a "${s}" segment; request paths are matched with dot segments resolved, or as names that only "*" and "**" match, so it could never match`;
    if (s !== '*' && s !== '**' && s.includes('*')) {
      return `the path "${path}" has "*" inside the segment "${s}"; "*" must be a whole segment (one segment) and "**" any number of segments`;
    }
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c <= 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f) || c === 0x25 || c === 0x5c || c === 0x3f || c === 0x23 || c === 0x3b) {
        return `the path "${path}" contains ${JSON.stringify(s[i])}; write the path as it reads decoded, without query, "%", "\\", ";" or spaces`;
      }
    }
  }
  return segments;
}

/**
 * Why `rules` cannot be saved (beyond the JSON schema: glob syntax, method names, requirement
 * syntax), naming the rule by its index (`rules[3]`); undefined when they can.
 */
export function routeRulesProblem(rules: RouteRules): string | undefined {
  if (rules === null || typeof rules !== 'object') return 'The route rules must be an object with mode, default and rules.';
  if (rules.mode !== 'enforce' && rules.mode !== 'audit') return 'mode must be "enforce" or "audit".';
  if (rules.default !== 'allow' && rules.default !== 'deny') return 'default must be "allow" or "deny".';
  if (!Array.isArray(rules.rules)) return 'rules must be a list.';
  const max = limits.authRoutes.rules.maxItems;
  if (rules.rules.length > max) return `There are at most ${max} rules; this list has ${rules.rules.length}.`;
  for (let i = 0; i < rules.rules.length; i++) {
    const rule = rules.rules[i];
    const at = `rules[${i}]`;
    if (rule === null || typeof rule !== 'object') return `${at} must be an object with methods, path and require.`;
    const { minItems, maxItems } = limits.authRoutes.methods;
    if (!Array.isArray(rule.methods) || rule.methods.length < minItems || rule.methods.length > maxItems) {
      return `${at}: methods must list ${minItems} to ${maxItems} HTTP methods, or ["*"] for any.`;
    }
    for (const m of rule.methods) {
      const problem = methodProblem(m);
      if (problem) return `${at}: ${problem}.`;
    }
    const segments = globSegments(rule.path);
    if (typeof segments === 'string') return `${at}: ${segments}.`;
    if (typeof rule.require !== 'string') return `${at}: require must be a requirement such as "things:read" ("" for any valid key).`;
    if (rule.require.trim() !== '') {
      try {
        parseRequirement(rule.require);
      } catch (err) {
        return `${at}: ${(err as Error).message}`;
      }
    }
  }
  return undefined;
}

/**
 * What a match answers when the rules are too costly to walk for this path: more than
 * MAX_LIVE_STATES trie nodes alive at one step. Callers fail closed (forward-auth refuses the
 * request as invalid_path). The security review (r1) found that hostile `**` rules (2,000 rules,
 * each `**` then a mix of `*` and literals) kept thousands of states alive at every step and made
 * one match of a long path take seconds; the cap, with rule paths of at most 32 segments and
 * request paths of at most 128, bounds a match to about 512 x 129 node visits.
 */
export const TOO_COMPLEX: unique symbol = Symbol('route rules too complex for this path');
export type TooComplex = typeof TOO_COMPLEX;
/** Live trie nodes allowed at one step of a match (see TOO_COMPLEX). */
export const MAX_LIVE_STATES = 512;

export interface RouteMatch {
  index: number;
  requirement: Requirement;
}

export interface CompiledRoutes {
  readonly rules: RouteRules;
  readonly isEmpty: boolean;
  /**
   * The first rule matching `method` and a path given as its segments (one reading from
   * requestPathReadings), or undefined, or TOO_COMPLEX. Segments are compared as they are: an
   * empty segment or a `.`/`..` name is matched only by `*` and `**` (rule paths cannot hold them).
   */
  matchSegments(method: string, segments: readonly string[]): RouteMatch | undefined | TooComplex;
  /**
   * matchSegments for several methods at once, in their order: the walk along the path does not
   * depend on the method, so forward-auth checking a request's method overrides walks once.
   */
  matchSegmentsEach(methods: readonly string[], segments: readonly string[]): (RouteMatch | undefined)[] | TooComplex;
  /** The same for a normalised path as text (`/a/b`; empty segments are skipped). */
  match(method: string, normalisedPath: string): RouteMatch | undefined | TooComplex;
}

/** What a rule with an empty `require` needs: nothing beyond a valid key. */
const ANY_KEY: Requirement = Object.freeze({
  text: '',
  scopes: Object.freeze([]) as readonly string[],
  missing: () => ANY_KEY.scopes,
});

/** A trie node: one position in the path globs. */
class TrieNode {
  /** @param loops true for the state after a `**`, which consumes any number of segments. */
  constructor(readonly loops = false) {}
  readonly literal = new Map<string, TrieNode>();
  star?: TrieNode;
  /** The state after a `**` here (reached without consuming a segment). */
  globstar?: TrieNode;
  /** The matching step that last added this node to its state set (set membership in O(1)). */
  seen = 0;
  /** Lowest index of a rule ending here for any method (`*`), or Infinity. */
  anyMethod = Infinity;
  /** Lowest index of a rule ending here, per method. */
  readonly byMethod = new Map<string, number>();

  /** The lowest index of a rule ending here that matches `method` (upper case), or Infinity. */
  lowest(method: string): number {
    let best = this.anyMethod;
    const exact = this.byMethod.get(method);
    if (exact !== undefined && exact < best) best = exact;
    if (method === 'HEAD') {
      const get = this.byMethod.get('GET');
      if (get !== undefined && get < best) best = get;
    }
    return best;
  }
}

/**
 * `text` with the ASCII letters from `first` to `last` (one case) moved by `shift` to the other
 * case; everything else as it is (see the module comment). Text with none of them, as most is,
 * comes back as it is, without a copy.
 */
function asciiCase(text: string, first: number, last: number, shift: number): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= first && c <= last) {
      let out = text.slice(0, i);
      for (let j = i; j < text.length; j++) {
        const d = text.charCodeAt(j);
        out += d >= first && d <= last ? String.fromCharCode(d + shift) : text[j];
      }
      return out;
    }
  }
  return text;
}

/** ASCII letters to lower case, A-Z to a-z. */
const asciiLower = (text: string): string => asciiCase(text, 0x41, 0x5a, 32);
/** ASCII letters to upper case, a-z to A-Z. */
const asciiUpper = (text: string): string => asciiCase(text, 0x61, 0x7a, -32);

/** Numbers the matching steps, so a node knows whether the current step has added it. */
let step = 0;

/**
 * Adds `node` and what it reaches without consuming a segment (its `**` states) to `states`,
 * the set of step `at`. A mark on the node rather than `states.includes`: with many wildcard
 * rules the set holds thousands of nodes, and a linear search per add made one match of a long
 * path cost minutes.
 */
function addWithClosure(states: TrieNode[], node: TrieNode | undefined, at: number): void {
  while (node !== undefined && node.seen !== at) {
    node.seen = at;
    states.push(node);
    node = node.globstar;
  }
}

/**
 * Compiles valid rules (routeRulesProblem says none is wrong) into a matcher. Throws BadRequest
 * on a requirement that does not parse.
 */
export function compileRouteRules(rules: RouteRules): CompiledRoutes {
  const root = new TrieNode();
  const requirements: Requirement[] = [];
  rules.rules.forEach((rule, index) => {
    requirements.push(rule.require.trim() === '' ? ANY_KEY : requirement(rule.require));
    const segments = globSegments(rule.path);
    if (typeof segments === 'string') throw badRequest(`rules[${index}]: ${segments}.`);
    let node = root;
    for (const s of segments) {
      if (s === '**') node = node.globstar ??= new TrieNode(true);
      else if (s === '*') node = node.star ??= new TrieNode();
      else {
        const key = asciiLower(s);
        let next = node.literal.get(key);
        if (next === undefined) node.literal.set(key, (next = new TrieNode()));
        node = next;
      }
    }
    for (const m of rule.methods) {
      if (m === '*') node.anyMethod = Math.min(node.anyMethod, index);
      else {
        const key = asciiUpper(m);
        const known = node.byMethod.get(key);
        if (known === undefined || index < known) node.byMethod.set(key, index);
      }
    }
  });
  const isEmpty = rules.rules.length === 0;
  /** The trie nodes alive after the last of `segments`, or TOO_COMPLEX. */
  const walk = (segments: readonly string[]): TrieNode[] | TooComplex => {
    let states: TrieNode[] = [];
    addWithClosure(states, root, ++step);
    for (let i = 0; i < segments.length && states.length > 0; i++) {
      const segment = asciiLower(segments[i]);
      // Empty and dot segments are names only wildcards match (a glob cannot hold them).
      const literal = segment !== '' && segment !== '.' && segment !== '..';
      const next: TrieNode[] = [];
      const at = ++step;
      for (const state of states) {
        if (literal) addWithClosure(next, state.literal.get(segment), at);
        addWithClosure(next, state.star, at);
        if (state.loops) addWithClosure(next, state, at);
        if (next.length > MAX_LIVE_STATES) return TOO_COMPLEX;
      }
      states = next;
    }
    return states;
  };
  /** The first rule ending in one of `states` for `method`. */
  const first = (states: TrieNode[], method: string): RouteMatch | undefined => {
    const upper = asciiUpper(method);
    let best = Infinity;
    for (const state of states) {
      const index = state.lowest(upper);
      if (index < best) best = index;
    }
    return best === Infinity ? undefined : { index: best, requirement: requirements[best] };
  };
  const matchSegments = (method: string, segments: readonly string[]): RouteMatch | undefined | TooComplex => {
    if (isEmpty) return undefined;
    const states = walk(segments);
    return states === TOO_COMPLEX ? TOO_COMPLEX : first(states, method);
  };
  const matchSegmentsEach = (methods: readonly string[], segments: readonly string[]): (RouteMatch | undefined)[] | TooComplex => {
    if (isEmpty) return methods.map(() => undefined);
    const states = walk(segments);
    return states === TOO_COMPLEX ? TOO_COMPLEX : methods.map((m) => first(states, m));
  };
  return Object.freeze({
    rules,
    isEmpty,
    matchSegments,
    matchSegmentsEach,
    match: (method: string, normalisedPath: string) => matchSegments(method, normalisedPath.split('/').filter((s) => s !== '')),
  });
}
