import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { normaliseRequestPath } from './requestPath.js';

describe('normaliseRequestPath', () => {
  it('resolves what servers resolve the same way', () => {
    const cases: [string, string][] = [
      ['/', '/'],
      ['/admin', '/admin'],
      ['/Admin/Users', '/Admin/Users'],
      ['/admin/', '/admin'],
      ['/admin?x=1', '/admin'],
      ['/admin#top', '/admin'],
      ['/admin?next=/x/../y%2F', '/admin'],
      ['/?x', '/'],
      ['//admin', '/admin'],
      ['/a//b///c//', '/a/b/c'],
      ['/./admin', '/admin'],
      ['/x/../admin', '/admin'],
      ['/x/y/../../admin/.', '/admin'],
      ['/admin/..', '/'],
      ['/%61dmin', '/admin'],
      ['/%41DMIN', '/ADMIN'],
      ['/a%20b', '/a b'],
      ['/a%3Fb', '/a?b'],
      ['/caf%C3%A9', '/café'],
      ['/.well-known/x', '/.well-known/x'],
      ['/a/...', '/a/...'],
      ['/a/..b', '/a/..b'],
      ['/a.b/c', '/a.b/c'],
      ['/v1/things/123', '/v1/things/123'],
    ];
    for (const [input, expected] of cases) assert.equal(normaliseRequestPath(input), expected, input);
  });

  it('refuses what servers read differently, or what is not a path', () => {
    const refused = [
      '', 'admin', '?/admin', '#/admin', 'http://host/admin', '*',
      '/..', '/../admin', '/a/../..', '/a/../../admin',
      '/%2e%2e/admin', '/x/%2e%2e/admin', '/x/%2E./admin', '/x/.%2e/admin', '/x/%2e/admin', '/x/%2E%2E',
      '/admin%2F', '/x%2fadmin', '/x%2Fadmin', '/x%5cadmin', '/x%5C..%5Cadmin',
      '/x\\admin', '/x/..\\admin', '\\admin',
      '/admin%00', '/admin\u0000', '/ad\tmin', '/admin\n', '/admin%0a', '/admin%0D', '/admin%7f', '/admin%C2%85', '/a b',
      '/%c0%ae%c0%ae/admin', '/%c0%afadmin', '/%e0%80%ae', '/%ed%a0%80', '/%ff', '/%C3',
      '/%252e%252e/admin', '/%2525', '/%25', '/a%', '/a%2', '/a%g0', '/a%0g', '/%%32e',
      '/admin;jsessionid=1', '/admin;', '/x/..;/admin', '/admin%3b', '/admin%3B',
      '/café', '/\u212Aey',
    ];
    for (const input of refused) assert.equal(normaliseRequestPath(input), undefined, JSON.stringify(input));
    assert.equal(normaliseRequestPath(undefined as unknown as string), undefined);
    assert.equal(normaliseRequestPath(7 as unknown as string), undefined);
  });

  /** Pieces a path is built from: ordinary segments and hostile spellings. */
  const piece = fc.constantFrom(
    'admin', 'ADMIN', 'Admin', 'aDmIn', 'a', 'x', 'users', 'admin.', '.admin', '...',
    '', '.', '..', '%2e', '%2E', '%2e%2e', '%2E.', '.%2e', '%2E%2E',
    '%2F', '%2f', '%5c', '%5C', '\\', '%00', '%0a', '%7f', '\u0000', ' ',
    '%c0%ae', '%c0%ae%c0%ae', '%c0%af', '%e0%80%ae', '%252e', '%252e%252e', '%252f', '%25', '%', '%2', '%zz',
    '%61dmin', '%41%44%4d%49%4e', 'adm%69n', '%2541dmin', 'admin;x', '..;', '%3b',
    'caf%C3%A9', '%C2%85', '%e2%80%ae', '?q=/admin', '#/admin', '%3F', '%23',
  );
  const path = fc.tuple(fc.array(piece, { maxLength: 8 }), fc.constantFrom('/', '//', '/./', '\\', '')).map(([pieces, lead]) => lead + pieces.join('/'));

  it('gives a plain path or refuses, for any mix of hostile pieces', () => {
    fc.assert(
      fc.property(path, (input) => {
        const out = normaliseRequestPath(input);
        if (out === undefined) return;
        assert.ok(out.startsWith('/'), out);
        assert.ok(!out.includes('//'), out);
        assert.ok(!out.includes('%'), out);
        assert.ok(!out.includes('\\'), out);
        assert.ok(!out.includes(';'), out);
        assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(out), out);
        const segments = out.split('/').slice(1);
        assert.ok(!segments.includes('.') && !segments.includes('..'), out);
        assert.ok(out === '/' || !out.endsWith('/'), out);
        // Normal already: normalising again changes nothing (unless it holds what a raw path may not, e.g. `?`).
        if (/^[\u0021-\u007e]*$/.test(out) && !out.includes('?') && !out.includes('#')) assert.equal(normaliseRequestPath(out), out);
      }),
      { numRuns: 20000 },
    );
  });

  /**
   * How servers resolve a path, each one way: decode then resolve dot segments (nginx, browsers),
   * split then decode (routers: `%2F` stays in a segment), backslash as slash (Windows, IIS),
   * `;params` dropped (Java servlet containers), decoding twice (broken proxies). Each gives
   * the segments it serves; paths it would refuse give no view. An application router (raw dot
   * segments resolved, `%2e%2e` then a name) is one more view.
   */
  function serverViews(input: string): string[][] {
    const withoutQuery = input.replace(/[?#].*$/s, '');
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return undefined;
      }
    };
    const resolve = (segments: string[]) => {
      const out: string[] = [];
      for (const s of segments) {
        if (s === '' || s === '.') continue;
        if (s === '..') out.pop();
        else out.push(s);
      }
      return out;
    };
    const views: string[][] = [];
    const push = (segments: (string | undefined)[] | undefined) => {
      if (segments && segments.every((s) => s !== undefined)) views.push(resolve(segments as string[]));
    };
    const once = decode(withoutQuery);
    if (once !== undefined) {
      push(once.split('/'));
      push(once.split(/[/\\]/));
      push(once.split('/').map((s) => s.replace(/;.*$/s, '')));
      const twice = decode(once);
      if (twice !== undefined) push(twice.split(/[/\\]/));
    }
    push(withoutQuery.split('/').map(decode));
    // An application router: raw dot segments resolved, then each segment decoded as a name.
    const routed = resolve(withoutQuery.split('/')).map(decode);
    if (routed.every((s) => s !== undefined)) views.push(routed as string[]);
    push(withoutQuery.split('/').map((s) => decode(s.replace(/;.*$/s, ''))));
    return views;
  }

  it('a path any server would serve as /admin normalises to /admin (or is refused)', () => {
    const underAdmin = (segments: string[]) => segments.length > 0 && segments[0].toLowerCase() === 'admin';
    fc.assert(
      fc.property(path, (input) => {
        const out = normaliseRequestPath(input);
        if (out === undefined) return;
        const ours = out.split('/').slice(1).filter((s) => s !== '');
        for (const view of serverViews(input)) {
          if (underAdmin(view)) assert.ok(underAdmin(ours), `${JSON.stringify(input)}: a server serves /${view.join('/')}, we say ${out}`);
        }
        // And what we accept, every server reads as we do.
        for (const view of serverViews(input)) assert.deepEqual(view, ours, JSON.stringify(input));
      }),
      { numRuns: 20000 },
    );
  });

  it('a path of plain segments is returned as it is (the fast path)', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9_~!$&'()*+,=:@-][A-Za-z0-9._~!$&'()*+,=:@-]{0,12}$/);
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), (segments) => {
        const input = `/${segments.join('/')}`;
        assert.equal(normaliseRequestPath(input), input);
        assert.equal(normaliseRequestPath(`${input}/`), input);
      }),
    );
  });
});
