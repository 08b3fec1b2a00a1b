/**
 * /docs (swagger-ui) carries the console's security headers, and still loads: its page, the
 * files the page references and the spec all answer 200, and the page needs nothing the
 * policy forbids (no inline script or style, no other origin).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { eachDatabase } from './helpers/harness.js';

eachDatabase('API reference safety', (h) => {
  const get = (url: string) => h().app.inject({ method: 'GET', url, headers: { accept: 'text/html' } });

  const assertPageHeaders = (res: Awaited<ReturnType<typeof get>>, what: string) => {
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/, what);
    assert.match(csp, /script-src 'self'(;|$)/, `${what}: scripts from this origin only`);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, what);
    assert.match(csp, /frame-ancestors 'none'/, what);
    assert.equal(res.headers['x-frame-options'], 'DENY', what);
    assert.equal(res.headers['referrer-policy'], 'no-referrer', what);
    assert.equal(res.headers['x-content-type-options'], 'nosniff', what);
  };

  it('/docs has the security headers of the console, and its page, files and spec load', async () => {
    for (const url of ['/docs', '/docs/']) {
      const page = await get(url);
      assert.equal(page.statusCode, 200, url);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assertPageHeaders(page, url);
      const html = page.body;
      // What script-src 'self' and style-src 'self' need: every script and style is a file.
      assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or event handler');
      for (const [, body] of html.matchAll(/<script[^>]*>([\s\S]*?)<\/script>/gi)) assert.equal(body!.trim(), '', 'no inline script');
      const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1]!, `http://localhost${url}`).pathname);
      assert.ok(assets.some((a) => a.endsWith('/swagger-ui-bundle.js')) && assets.some((a) => a.endsWith('/swagger-ui.css')), `${url}: ${assets.join(' ')}`);
      for (const asset of assets) {
        assert.ok(asset.startsWith('/docs/static/'), `${asset} is served from this origin, under /docs`);
        const res = await get(asset);
        assert.equal(res.statusCode, 200, asset);
        assert.ok(res.body.length > 0, asset);
        assert.equal(res.headers['x-content-type-options'], 'nosniff', asset);
        assert.equal(res.headers['x-frame-options'], 'DENY', asset);
      }
    }
    const initializer = await get('/docs/static/swagger-initializer.js');
    assert.match(initializer.body, /validatorUrl: null/, 'no badge image from validator.swagger.io, which img-src would refuse');
    const spec = await h().app.inject({ method: 'GET', url: '/docs/json' });
    assert.equal(spec.statusCode, 200);
    assert.ok(spec.json().paths['/v1/apiKeys'], 'the spec swagger-ui loads describes the API');
  });

  it('the API itself keeps its own headers', async () => {
    const api = await h().inject('GET', '/v1/apiKeys', { headers: h().admin.auth });
    assert.equal(api.statusCode, 200);
    assert.equal(api.headers['content-security-policy'], undefined, '/docs’s policy is not spread over the API');
    assert.equal(api.headers['cache-control'], 'no-store');
  });
});
