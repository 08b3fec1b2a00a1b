import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeywardError } from './errors.js';
import { parseRequirement, requirement } from './scopeExpression.js';

/** The BadRequest parseRequirement throws for `text`. */
function refusal(text: string): KeywardError {
  try {
    parseRequirement(text);
  } catch (err) {
    assert.ok(err instanceof KeywardError, String(err));
    assert.equal(err.code, 'BadRequest');
    return err;
  }
  assert.fail(`accepted ${JSON.stringify(text)}`);
}

const met = (text: string, held: string[]) => parseRequirement(text).missing(held).length === 0;

describe('requirement expressions', () => {
  it('a single scope', () => {
    const r = parseRequirement('apiKeys:read');
    assert.deepEqual(r.scopes, ['apiKeys:read']);
    assert.deepEqual(r.missing(['apiKeys:read']), []);
    assert.deepEqual(r.missing(['apiKeys:*']), []);
    assert.deepEqual(r.missing(['*']), []);
    assert.deepEqual(r.missing(['apiKeys:write']), ['apiKeys:read']);
  });

  it('AND binds tighter than OR', () => {
    // a:x OR b:x AND c:x  ==  a:x OR (b:x AND c:x)
    assert.equal(met('a:x OR b:x AND c:x', ['a:x']), true);
    assert.equal(met('a:x OR b:x AND c:x', ['b:x']), false);
    assert.equal(met('a:x OR b:x AND c:x', ['b:x', 'c:x']), true);
    assert.equal(met('b:x AND c:x OR a:x', ['a:x']), true);
  });

  it('parentheses group', () => {
    assert.equal(met('(a:x OR b:x) AND c:x', ['a:x']), false);
    assert.equal(met('(a:x OR b:x) AND c:x', ['a:x', 'c:x']), true);
    assert.equal(met('((a:x))', ['a:x']), true);
    assert.equal(met('(a:x)AND(b:x)', ['a:x', 'b:x']), true);
  });

  it('keywords in any case, any whitespace', () => {
    assert.equal(met('a:x and b:x', ['a:x']), false);
    assert.equal(met('a:x aNd b:x', ['a:x', 'b:x']), true);
    assert.equal(met('a:x or b:x', ['b:x']), true);
    assert.equal(met('  a:x\tOr\nb:x  ', ['b:x']), true);
  });

  it('scopes lists each name once in order of appearance', () => {
    assert.deepEqual(parseRequirement('b:x AND (a:x OR b:x) AND *').scopes, ['b:x', 'a:x', '*']);
  });

  it('missing: AND is the union of the failing parts, in order, no duplicates', () => {
    const r = parseRequirement('a:x AND b:x AND (c:x AND a:x) AND d:x');
    assert.deepEqual(r.missing(['b:x']), ['a:x', 'c:x', 'd:x']);
    assert.deepEqual(r.missing(['a:x', 'b:x', 'c:x', 'd:x']), []);
  });

  it('missing: OR is the alternative missing fewest, the first on ties', () => {
    const r = parseRequirement('(a:x AND b:x AND c:x) OR (d:x AND e:x) OR (f:x AND g:x)');
    assert.deepEqual(r.missing([]), ['d:x', 'e:x']);
    assert.deepEqual(r.missing(['g:x']), ['f:x']);
    assert.deepEqual(r.missing(['a:x', 'b:x']), ['c:x']);
    assert.deepEqual(r.missing(['f:x', 'g:x']), []);
    assert.deepEqual(parseRequirement('a:x OR b:x').missing([]), ['a:x']);
  });

  it('missing when met is one shared frozen empty array (no allocation on the hot path)', () => {
    const a = parseRequirement('a:x AND (b:x OR c:x)').missing(['*']);
    const b = parseRequirement('d:x').missing(['d:x']);
    assert.equal(a, b);
    assert.ok(Object.isFrozen(a));
  });

  it('syntax errors name the position', () => {
    const cases: [string, number, RegExp][] = [
      ['a:x AND', 7, /ends after position 7/],
      ['a:x AND OR b:x', 9, /expected a scope name or "\(" at position 9, found "OR"/],
      ['(a:x OR b:x', 11, /"\(" at position 1 is not closed/],
      ['a:x) AND b:x', 4, /"\)" at position 4 closes no "\("/],
      ['a:x b:x', 5, /expected AND, OR or the end at position 5, found "b:x"/],
      ['a:x AND ()', 10, /expected a scope name or "\(" at position 10, found "\)"/],
      ['a:x AND nope', 9, /position 9: Scope "nope" is not of the form/],
      ['a:x OR res:re*d', 8, /position 8: Scope "res:re\*d"/],
    ];
    for (const [text, position, message] of cases) {
      const err = refusal(text);
      assert.match(err.message, message, text);
      assert.equal(err.details.position, position, text);
    }
    assert.match(refusal('').message, /empty/);
    assert.match(refusal('   ').message, /empty/);
  });

  it('at most 32 levels of parentheses', () => {
    const nested = (n: number) => `${'('.repeat(n)}a:x${')'.repeat(n)}`;
    assert.equal(met(nested(32), ['a:x']), true);
    assert.match(refusal(nested(33)).message, /deeper than 32 levels at position 33/);
    // Deep nesting far beyond the limit is refused, not a stack overflow.
    assert.match(refusal(nested(1000)).message, /deeper than 32/);
  });

  it('at most 2048 characters', () => {
    const long = Array.from({ length: 400 }, (_, i) => `s:${i}`).join(' OR ');
    assert.ok(long.length > 2048);
    assert.match(refusal(long).message, /at most 2048 characters/);
    let fits = 'a:x';
    while (fits.length < 2048 - 8) fits += ' OR z:xx';
    fits += ' '.repeat(2048 - fits.length);
    assert.equal(fits.length, 2048);
    assert.equal(met(fits, ['a:x']), true);
  });

  it('requirement() memoises: the same text gives the same object', () => {
    const a = requirement('memo:a AND memo:b');
    assert.equal(requirement('memo:a AND memo:b'), a);
    assert.notEqual(requirement('memo:a  AND memo:b'), a);
    assert.throws(() => requirement('memo:a AND'), KeywardError);
    // Bounded: after many other texts the first is parsed again (a new object), and still works.
    for (let i = 0; i < 1200; i++) requirement(`memo:n${i}`);
    const again = requirement('memo:a AND memo:b');
    assert.notEqual(again, a);
    assert.deepEqual(again.missing(['memo:a']), ['memo:b']);
  });
});
