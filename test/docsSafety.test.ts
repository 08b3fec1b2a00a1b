/**
 * /docs (swagger-ui) carries the console's security headers, and still works: its page, the
 * files the page references and the spec all answer 200, the page needs nothing the policy
 * forbids (no inline script or style, no other origin), and in a real browser it renders and
 * runs "Try it out" without a single CSP violation.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { browserSkipReason, launch } from './helpers/browser.js';
import { eachDatabase } from './helpers/harness.js';
import { startServer } from './helpers/server.js';

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

describe('API reference in a browser', { skip: browserSkipReason() }, () => {
  it('/docs renders and runs Try it out under its CSP, with no violation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-docs-'));
    const server = await startServer({ cwd: dir, env: { KEYWARD_DATABASE_URL: '', KEYWARD_SECRET: 'docs-test-secret-0123456789', KEYWARD_ADMIN_PASSWORD: 'keeper-password-1' } });
    const browser = await launch();
    try {
      const page = await browser.newPage();
      const violations: string[] = [];
      await page.exposeFunction('reportViolation', (v: string) => violations.push(v));
      await page.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) => (window as any).reportViolation(`${e.violatedDirective} ${e.blockedURI}`));
      });
      await page.goto(`${server.url}/docs/`);
      await page.locator('.swagger-ui .info .title', { hasText: 'Keyward API' }).waitFor();
      const health = page.locator('.opblock', { hasText: '/healthz' });
      await health.locator('.opblock-summary').click();
      await health.getByRole('button', { name: 'Try it out' }).click();
      await health.getByRole('button', { name: 'Execute' }).click();
      await health.locator('.live-responses-table .response-col_status', { hasText: '200' }).waitFor();
      // swagger-ui's stylesheet applied: the operation block has its colour, not the browser's default.
      const background = await health.evaluate((el) => getComputedStyle(el).backgroundColor);
      assert.notEqual(background, 'rgba(0, 0, 0, 0)');
      assert.deepEqual(violations, []);
    } finally {
      await browser.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
