import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { requestPathReadings } from './requestPath.js';
import {
  type CompiledRoutes,
  compileRouteRules,
  MAX_LIVE_STATES,
  NO_ROUTE_RULES,
  type RouteMatch,
  type RouteRule,
  type RouteRules,
  routeRulesProblem,
  TOO_COMPLEX,
} from './routeRules.js';

const config = (rules: RouteRule[], extra: Partial<RouteRules> = {}): RouteRules => ({ mode: 'enforce', default: 'allow', rules, ...extra });
const rule = (path: string, methods: string[] = ['*'], require = 'r:x'): RouteRule => ({ methods, path, require });
/** A match that must not be TOO_COMPLEX (ordinary rules never are). */
const found = (m: RouteMatch | undefined | typeof TOO_COMPLEX): RouteMatch | undefined => {
  assert.notEqual(m, TOO_COMPLEX);
  return m as RouteMatch | undefined;
};
const matchIndex = (rules: RouteRule[], method: string, path: string) => found(compileRouteRules(config(rules)).match(method, path))?.index;
const segmentsIndex = (compiled: CompiledRoutes, method: string, segments: string[]) => found(compiled.matchSegments(method, segments))?.index;

describe('route rules matching', () => {
  it('no rules: nothing matches', () => {
    const compiled = compileRouteRules(NO_ROUTE_RULES);
    assert.equal(compiled.isEmpty, true);
    assert.equal(compiled.match('GET', '/'), undefined);
    assert.deepEqual(NO_ROUTE_RULES, { mode: 'enforce', default: 'allow', rules: [] });
    assert.equal(compileRouteRules(config([rule('/a')])).isEmpty, false);
  });

  it('first match wins and carries its requirement', () => {
    const rules = [rule('/admin/users', ['*'], 'users:write'), rule('/admin/**', ['*'], 'admin:*'), rule('/**', ['*'], 'any:x')];
    const compiled = compileRouteRules(config(rules));
    assert.deepEqual(found(compiled.match('GET', '/admin/users'))?.index, 0);
    assert.equal(found(compiled.match('GET', '/admin/users'))?.requirement.text, 'users:write');
    assert.deepEqual(found(compiled.match('GET', '/admin/users'))?.requirement.missing(['users:read']), ['users:write']);
    assert.equal(found(compiled.match('GET', '/admin/other'))?.index, 1);
    assert.equal(found(compiled.match('GET', '/elsewhere'))?.index, 2);
    // Order, not specificity: a broad rule first shadows a narrower one after it.
    assert.equal(matchIndex([rule('/**'), rule('/admin')], 'GET', '/admin'), 0);
  });

  it('* is exactly one segment', () => {
    const rules = [rule('/things/*')];
    assert.equal(matchIndex(rules, 'GET', '/things/1'), 0);
    assert.equal(matchIndex(rules, 'GET', '/things'), undefined);
    assert.equal(matchIndex(rules, 'GET', '/things/1/2'), undefined);
    assert.equal(matchIndex([rule('/*/x')], 'GET', '/a/x'), 0);
    assert.equal(matchIndex([rule('/*')], 'GET', '/'), undefined);
  });

  it('** is zero or more segments', () => {
    assert.equal(matchIndex([rule('/admin/**')], 'GET', '/admin'), 0);
    assert.equal(matchIndex([rule('/admin/**')], 'GET', '/admin/a/b/c'), 0);
    assert.equal(matchIndex([rule('/admin/**')], 'GET', '/administrator'), undefined);
    assert.equal(matchIndex([rule('/**')], 'GET', '/'), 0);
    assert.equal(matchIndex([rule('/**/edit')], 'GET', '/edit'), 0);
    assert.equal(matchIndex([rule('/**/edit')], 'GET', '/a/b/edit'), 0);
    assert.equal(matchIndex([rule('/**/edit')], 'GET', '/a/b/edit/x'), undefined);
    assert.equal(matchIndex([rule('/a/**/b/**/c')], 'GET', '/a/x/b/y/z/c'), 0);
    assert.equal(matchIndex([rule('/a/**/b/**/c')], 'GET', '/a/b/c'), 0);
    assert.equal(matchIndex([rule('/a/**/b/**/c')], 'GET', '/a/c'), undefined);
    assert.equal(matchIndex([rule('/a/**/**')], 'GET', '/a'), 0);
  });

  it('the root and trailing slashes', () => {
    assert.equal(matchIndex([rule('/')], 'GET', '/'), 0);
    assert.equal(matchIndex([rule('/')], 'GET', '/a'), undefined);
    assert.equal(matchIndex([rule('/a/')], 'GET', '/a'), 0);
  });

  it('methods: listed ones, * for any, GET also HEAD, any case', () => {
    const rules = [rule('/a', ['POST', 'PUT']), rule('/a', ['GET']), rule('/b', ['*'])];
    assert.equal(matchIndex(rules, 'POST', '/a'), 0);
    assert.equal(matchIndex(rules, 'PUT', '/a'), 0);
    assert.equal(matchIndex(rules, 'GET', '/a'), 1);
    assert.equal(matchIndex(rules, 'HEAD', '/a'), 1);
    assert.equal(matchIndex(rules, 'get', '/a'), 1);
    assert.equal(matchIndex(rules, 'head', '/a'), 1);
    assert.equal(matchIndex(rules, 'DELETE', '/a'), undefined);
    assert.equal(matchIndex(rules, 'OPTIONS', '/a'), undefined);
    assert.equal(matchIndex(rules, 'PATCH', '/b'), 0 + 2);
    // HEAD is not GET the other way round.
    assert.equal(matchIndex([rule('/a', ['HEAD'])], 'GET', '/a'), undefined);
  });

  it('paths compare case-insensitively, ASCII letters only', () => {
    assert.equal(matchIndex([rule('/Admin/**')], 'GET', '/aDMIN/X'), 0);
    assert.equal(matchIndex([rule('/admin')], 'GET', '/ADMIN'), 0);
    assert.equal(matchIndex([rule('/café')], 'GET', '/CAFé'), 0);
    // The Kelvin sign lower-cases to "k" in Unicode; it is another path.
    assert.equal(matchIndex([rule('/key')], 'GET', '/\u212Aey'), undefined);
    assert.equal(matchIndex([rule('/straße')], 'GET', '/STRASSE'), undefined);
  });

  it('an empty require needs only a valid key', () => {
    const match = found(compileRouteRules(config([rule('/health', ['GET'], '')])).match('GET', '/health'));
    assert.equal(match?.index, 0);
    assert.deepEqual(match?.requirement.missing([]), []);
    assert.deepEqual(match?.requirement.scopes, []);
  });
});

describe('routeRulesProblem', () => {
  const problem = (rules: RouteRule[], extra: Partial<RouteRules> = {}) => routeRulesProblem(config(rules, extra));

  it('accepts valid rules', () => {
    assert.equal(problem([]), undefined);
    assert.equal(problem([rule('/'), rule('/a/*/b/**', ['GET', 'POST', 'VERSION-CONTROL'], 'a:x AND (b:y OR c:*)'), rule('/x', ['*'], '')], { mode: 'audit', default: 'deny' }), undefined);
  });

  it('refuses bad globs, methods and requirements, naming the rule index', () => {
    const ok = rule('/ok');
    const cases: [RouteRule, RegExp][] = [
      [rule('a'), /rules\[1\]: the path "a" must start with "\/"/],
      [rule(''), /rules\[1\]: the path must be a text/],
      [rule('/a*'), /rules\[1\]: the path "\/a\*" has "\*" inside the segment "a\*"/],
      [rule('/a/b*c'), /inside the segment "b\*c"/],
      [rule('/***'), /inside the segment "\*\*\*"/],
      [rule('/a//b'), /rules\[1\]: .*empty segment/],
      [rule('/a/../b'), /rules\[1\]: .*"\.\." segment/],
      [rule('/a/./b'), /rules\[1\]: .*"\." segment/],
      [rule('/a%2Fb'), /rules\[1\]: .*contains "%"/],
      [rule('/a?x=1'), /rules\[1\]: .*contains "\?"/],
      [rule('/a b'), /rules\[1\]: .*contains " "/],
      [rule('/a\\b'), /rules\[1\]: .*contains "\\\\"/],
      [rule('/' + 'a'.repeat(1024)), /rules\[1\]: the path is at most 1024 characters/],
      [rule('/a', []), /rules\[1\]: methods must list 1 to 16/],
      [rule('/a', ['get']), /rules\[1\]: method "get" must be written in upper case \("GET"\)/],
      [rule('/a', ['GE T']), /rules\[1\]: method "GE T" is not an HTTP method name/],
      [rule('/a', ['']), /rules\[1\]: a method must be/],
      [rule('/a', 'GET' as unknown as string[]), /rules\[1\]: methods must list/],
      [rule('/a', ['GET'], 'a:x AND'), /rules\[1\]: The requirement is not valid: it ends after position 7/],
      [rule('/a', ['GET'], 'admin'), /rules\[1\]: The requirement is not valid: at position 1: Scope "admin"/],
      [rule('/a', ['GET'], 7 as unknown as string), /rules\[1\]: require must be/],
    ];
    for (const [bad, message] of cases) assert.match(problem([ok, bad]) ?? 'accepted', message, JSON.stringify(bad));
    assert.match(problem([ok, ok, ok, rule('/x*')]) ?? '', /^rules\[3\]/);
  });

  it('refuses a bad mode, default or too many rules', () => {
    assert.match(problem([], { mode: 'watch' as 'audit' }) ?? '', /mode must be "enforce" or "audit"/);
    assert.match(problem([], { default: 'block' as 'deny' }) ?? '', /default must be "allow" or "deny"/);
    assert.match(problem(Array.from({ length: 2001 }, () => rule('/a'))) ?? '', /at most 2000 rules; this list has 2001/);
    assert.equal(problem(Array.from({ length: 2000 }, () => rule('/a'))), undefined);
    assert.match(routeRulesProblem(null as unknown as RouteRules) ?? '', /must be an object/);
  });
});

/**
 * The naive reference over segments: each rule's glob matched against the segments on its own, in
 * order. Globs cannot hold empty or dot segments, so only wildcards match them.
 */
function naiveMatchSegments(rules: RouteRule[], method: string, segments: string[]): number | undefined {
  const lower = segments.map((s) => s.toLowerCase());
  const globMatches = (glob: string[], at: number, i: number): boolean => {
    if (at === glob.length) return i === lower.length;
    if (glob[at] === '**') {
      for (let j = i; j <= lower.length; j++) if (globMatches(glob, at + 1, j)) return true;
      return false;
    }
    if (i === lower.length) return false;
    return (glob[at] === '*' || glob[at].toLowerCase() === lower[i]) && globMatches(glob, at + 1, i + 1);
  };
  const m = method.toUpperCase();
  for (let index = 0; index < rules.length; index++) {
    const r = rules[index];
    const methodOk = r.methods.includes('*') || r.methods.includes(m) || (m === 'HEAD' && r.methods.includes('GET'));
    if (methodOk && globMatches(r.path.split('/').filter((s) => s !== ''), 0, 0)) return index;
  }
  return undefined;
}

/** The naive reference for a path: its non-empty segments, as match() reads a normalised path. */
function naiveMatch(rules: RouteRule[], method: string, path: string): number | undefined {
  return naiveMatchSegments(rules, method, path.split('/').filter((s) => s !== ''));
}

describe('trie matching', () => {
  it('equals the naive matcher for random rules and paths', () => {
    const segment = fc.constantFrom('a', 'b', 'c', 'A', 'B');
    const globSegment = fc.constantFrom('a', 'b', 'c', 'B', '*', '**');
    const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'get');
    const ruleArb: fc.Arbitrary<RouteRule> = fc.record({
      methods: fc.oneof(fc.constant(['*']).map((m) => [...m]), fc.uniqueArray(fc.constantFrom<string>('GET', 'HEAD', 'POST', 'PUT', 'DELETE'), { minLength: 1, maxLength: 3 })),
      path: fc.array(globSegment, { maxLength: 5 }).map((s) => `/${s.join('/')}`),
      require: fc.constantFrom<string>('r:x', 'r:y OR s:z', ''),
    });
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 12 }), fc.array(fc.tuple(method, fc.array(segment, { maxLength: 6 })), { minLength: 1, maxLength: 10 }), (rules, requests) => {
        assert.equal(routeRulesProblem(config(rules)), undefined);
        const compiled = compileRouteRules(config(rules));
        for (const [m, segments] of requests) {
          const path = `/${segments.join('/')}`;
          const got = found(compiled.match(m, path));
          const expected = naiveMatch(rules, m, path);
          assert.equal(got?.index, expected, `${m} ${path}`);
          if (got) assert.equal(got.requirement.text, rules[got.index].require);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('matching a reading given as segments (matchSegments)', () => {
  it('an empty segment or a "." / ".." name is matched only by * and **', () => {
    const compiled = compileRouteRules(
      config([rule('/orgs/*/admin', ['*'], 'admin:x'), rule('/users/*', ['DELETE'], 'users:write'), rule('/public/**', ['*'], ''), rule('/a/b', ['*'], 'ab:x')]),
    );
    // Fastify routes /orgs//admin to /orgs/:org/admin (org ""), /users/ to /users/:id (id "").
    assert.equal(segmentsIndex(compiled, 'GET', ['orgs', '', 'admin']), 0);
    assert.equal(segmentsIndex(compiled, 'DELETE', ['users', '']), 1);
    assert.equal(segmentsIndex(compiled, 'GET', ['orgs', '..', 'admin']), 0);
    assert.equal(segmentsIndex(compiled, 'GET', ['orgs', '.', 'admin']), 0);
    assert.equal(segmentsIndex(compiled, 'GET', ['public', '..', '..', 'x', '']), 2);
    // A literal never matches them: /a/./b is not /a/b in this reading, nor /a//b.
    assert.equal(segmentsIndex(compiled, 'GET', ['a', '.', 'b']), undefined);
    assert.equal(segmentsIndex(compiled, 'GET', ['a', '', 'b']), undefined);
    assert.equal(segmentsIndex(compiled, 'GET', ['a', 'b']), 3);
    assert.equal(segmentsIndex(compiled, 'GET', ['A', 'B']), 3, 'case-insensitive as match() is');
    // The same as match() for a normalised path.
    assert.equal(segmentsIndex(compiled, 'DELETE', ['users', '7']), matchIndex(compiled.rules.rules, 'DELETE', '/users/7'));
  });

  it('the raw-URI bypass: every reading is matched, and the literal one meets the rule the router serves', () => {
    const compiled = compileRouteRules(config([rule('/public/**', ['*'], 'public:read'), rule('/admin/**', ['*'], 'admin:write')]));
    const readings = requestPathReadings('/admin/x/../../public/y');
    assert.deepEqual(readings, [['public', 'y'], ['admin', 'x', '..', '..', 'public', 'y']]);
    assert.deepEqual(readings?.map((r) => segmentsIndex(compiled, 'GET', [...r])), [0, 1]);
    // A trailing slash: the literal reading's empty last segment meets a one-segment rule.
    const users = compileRouteRules(config([rule('/users/*', ['DELETE'], 'users:write')]));
    assert.deepEqual(requestPathReadings('/users/')?.map((r) => segmentsIndex(users, 'DELETE', [...r])), [undefined, 0]);
  });

  it('equals the naive matcher for random rules and segment lists holding empty and dot segments', () => {
    const segment = fc.constantFrom('a', 'b', 'A', '', '.', '..');
    const globSegment = fc.constantFrom('a', 'b', '*', '**');
    const ruleArb: fc.Arbitrary<RouteRule> = fc.record({
      methods: fc.constantFrom(['*'], ['GET'], ['POST', 'DELETE']).map((m) => [...m]),
      path: fc.array(globSegment, { maxLength: 5 }).map((s) => `/${s.join('/')}`),
      require: fc.constant('r:x'),
    });
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 10 }), fc.constantFrom('GET', 'HEAD', 'POST', 'DELETE'), fc.array(segment, { maxLength: 6 }), (rules, m, segments) => {
        const compiled = compileRouteRules(config(rules));
        assert.equal(segmentsIndex(compiled, m, segments), naiveMatchSegments(rules, m, segments), `${m} ${JSON.stringify(segments)}`);
        // Several methods in one walk: each as on its own.
        const methods = ['GET', 'HEAD', 'POST', 'DELETE'];
        const each = compiled.matchSegmentsEach(methods, segments);
        assert.notEqual(each, TOO_COMPLEX);
        assert.deepEqual((each as (RouteMatch | undefined)[]).map((x) => x?.index), methods.map((x) => naiveMatchSegments(rules, x, segments)));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('bounded matching: hostile rules', () => {
  /**
   * 2,000 rules, each `**`, then 11 segments each `a` or `*` (every combination a rule of its
   * own), then literals to 32 segments: a path of `a`s keeps every combination alive (r1 found
   * such a set made one match take seconds).
   */
  const hostile = (length: number) =>
    Array.from({ length: 2000 }, (_, i) => rule(`/**/${Array.from({ length: 11 }, (_, b) => ((i >> b) & 1 ? '*' : 'a')).join('/')}/${Array(length - 13).fill('a').join('/')}/end`, ['GET'], ''));

  it(`more than ${MAX_LIVE_STATES} live states at one step: TOO_COMPLEX, not a slow answer`, () => {
    const rules = hostile(32);
    assert.equal(routeRulesProblem(config(rules)), undefined, 'each rule is within the limits');
    const compiled = compileRouteRules(config(rules));
    assert.equal(compiled.matchSegments('GET', Array(32).fill('a')), TOO_COMPLEX);
    assert.equal(compiled.matchSegmentsEach(['GET', 'POST'], Array(32).fill('a')), TOO_COMPLEX);
    assert.equal(compiled.match('GET', `/${Array(128).fill('a').join('/')}`), TOO_COMPLEX);
    // A path that keeps few states alive is still matched against the same rules.
    assert.equal(segmentsIndex(compiled, 'GET', ['b', 'c']), undefined);
    // Fewer overlapping rules of the same shape stay under the cap, and match.
    const fewer = compileRouteRules(config(rules.slice(0, 8)));
    assert.equal(segmentsIndex(fewer, 'GET', [...Array(31).fill('a'), 'end']), 0);
    assert.equal(segmentsIndex(fewer, 'GET', ['x', ...Array(30).fill('a'), 'end']), 0);
  });

  it('a rule path has at most 32 segments', () => {
    assert.match(routeRulesProblem(config([rule('/ok'), rule(`/${Array(33).fill('a').join('/')}`)])) ?? '', /rules\[1\]: the path has 33 segments; at most 32/);
    assert.equal(routeRulesProblem(config([rule(`/${Array(32).fill('a').join('/')}`)])), undefined);
    assert.equal(routeRulesProblem(config([rule(`/${Array(32).fill('a').join('/')}/`)])), undefined, 'a trailing slash is not a segment');
  });
});
