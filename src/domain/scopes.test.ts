import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILT_IN_SCOPES, FULL_ACCESS, READ_ONLY_SCOPES, grants, scopeNameProblem, scopeResource, uncovered } from './scopes.js';

describe('scope names', () => {
  it('accepts *, resource:action and resource:*', () => {
    for (const name of ['*', 'apiKeys:read', 'res:*', 'a:b', 'Things_v2.x-y:do.it-now_1', `${'r'.repeat(60)}:${'a'.repeat(67)}`]) {
      assert.equal(scopeNameProblem(name), undefined, name);
    }
  });

  it('refuses anything else, saying why', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['read', /resource:action/],
      ['a:b:c', /more than one ':'/],
      [':read', /resource is empty/],
      ['res:', /action is empty/],
      ['re s:read', /resource contains " "/],
      ['res:re*d', /'resource:\*'/],
      ['*:read', /resource contains "\*"/],
      ['**', /resource:action/],
      ['res:**', /action contains "\*"/],
      ['rés:read', /resource contains "é"/],
      [`${'r'.repeat(64)}:${'a'.repeat(64)}`, /at most 128 characters; this one has 129/],
    ];
    for (const [name, why] of cases) assert.match(scopeNameProblem(name) ?? 'accepted', why, name);
  });

  it('every built-in scope and preset is a valid name with a description', () => {
    for (const s of BUILT_IN_SCOPES) {
      assert.equal(scopeNameProblem(s.name), undefined);
      assert.ok(s.description.length > 0);
    }
    assert.deepEqual(
      BUILT_IN_SCOPES.map((s) => s.name),
      ['apiKeys:read', 'apiKeys:write', 'apiKeys:rotateSelf', 'apiKeys:reportLeaks', 'users:read', 'users:write', 'audits:read', 'keys:verify'],
    );
    assert.deepEqual(FULL_ACCESS, ['*']);
    assert.deepEqual(READ_ONLY_SCOPES, ['apiKeys:read', 'users:read', 'audits:read']);
  });

  it('scopeResource names the resource', () => {
    assert.equal(scopeResource('apiKeys:read'), 'apiKeys');
    assert.equal(scopeResource('apiKeys:*'), 'apiKeys');
    assert.equal(scopeResource('*'), undefined);
  });
});

describe('grants', () => {
  it('* grants everything, res:* every action of res, otherwise the exact name', () => {
    assert.equal(grants(['*'], 'apiKeys:read'), true);
    assert.equal(grants(['*'], '*'), true);
    assert.equal(grants(['apiKeys:*'], 'apiKeys:write'), true);
    assert.equal(grants(['apiKeys:*'], 'apiKeys:*'), true);
    assert.equal(grants(['apiKeys:*'], 'users:read'), false);
    assert.equal(grants(['apiKeys:*'], 'apiKeysX:read'), false);
    assert.equal(grants(['apiKeys:*'], '*'), false);
    assert.equal(grants(['apiKeys:read'], 'apiKeys:read'), true);
    assert.equal(grants(['apiKeys:read'], 'apiKeys:*'), false);
    assert.equal(grants(['apiKeys:read'], 'apiKeys:Read'), false, 'case-sensitive');
    assert.equal(grants([], 'apiKeys:read'), false);
  });

  it('implies nothing: write does not grant read', () => {
    assert.equal(grants(['apiKeys:write'], 'apiKeys:read'), false);
    assert.equal(grants(['users:write'], 'users:read'), false);
  });
});

describe('uncovered (escalation)', () => {
  it('requested * needs held *', () => {
    assert.deepEqual(uncovered(['*'], ['*']), []);
    assert.deepEqual(uncovered(['apiKeys:*', 'users:*'], ['*']), ['*']);
  });

  it('requested res:* needs held * or res:*', () => {
    assert.deepEqual(uncovered(['*'], ['apiKeys:*']), []);
    assert.deepEqual(uncovered(['apiKeys:*'], ['apiKeys:*']), []);
    assert.deepEqual(uncovered(['apiKeys:read', 'apiKeys:write'], ['apiKeys:*']), ['apiKeys:*']);
  });

  it('requested res:x needs anything granting it', () => {
    assert.deepEqual(uncovered(['apiKeys:read'], ['apiKeys:read']), []);
    assert.deepEqual(uncovered(['apiKeys:*'], ['apiKeys:read', 'apiKeys:write']), []);
    assert.deepEqual(uncovered(['apiKeys:read'], ['apiKeys:read', 'apiKeys:write', 'users:read', 'apiKeys:write']), [
      'apiKeys:write',
      'users:read',
    ]);
    assert.deepEqual(uncovered([], ['a:b']), ['a:b']);
  });
});
