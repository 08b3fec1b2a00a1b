import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeywardError } from './errors.js';
import { applyUserPatch, applyUserUpdate, type EditableUser, userChanges } from './userEdits.js';

const ada: EditableUser = { email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', roles: ['a', 'b'] };

describe('applyUserPatch', () => {
  it('applies operations in order, on a copy', () => {
    const next = applyUserPatch(ada, [
      { op: 'add', path: '/spec/roles/-', value: 'c' },
      { op: 'remove', path: '/spec/roles/0' },
      { op: 'add', path: '/spec/roles/2', value: 'd' },
      { op: 'replace', path: '/metadata/name', value: '  Grace   Brewster Hopper ' },
    ]);
    assert.deepEqual(next, { email: 'ada@example.com', firstName: 'Grace', lastName: 'Brewster Hopper', roles: ['b', 'c', 'd'] });
    assert.deepEqual(ada.roles, ['a', 'b'], 'the input is untouched');
  });

  it('refuses an operation it does not support, naming its index, op and path', () => {
    for (const op of [
      { op: 'move', path: '/spec/firstName', from: '/spec/lastName' },
      { op: 'replace', path: '/spec/roles/-', value: 'x' },
      { op: 'remove', path: '/spec/roles/2' },
      { op: 'replace', path: '/spec/roles/01', value: 'x' },
      { op: 'add', path: '/status/isActive', value: true },
    ]) {
      assert.throws(
        () => applyUserPatch(ada, [{ op: 'replace', path: '/spec/firstName', value: 'ok' }, op]),
        (err: KeywardError) => err.code === 'BadRequest' && err.details.index === 1 && err.details.path === op.path,
        JSON.stringify(op),
      );
    }
  });
});

describe('applyUserUpdate', () => {
  it('keeps absent fields; metadata.name stands in for absent names only when it is new', () => {
    assert.deepEqual(applyUserUpdate(ada, { lastName: 'Byron' }), { ...ada, lastName: 'Byron' });
    assert.deepEqual(applyUserUpdate(ada, { name: 'Ada Lovelace' }), ada);
    assert.deepEqual(applyUserUpdate(ada, { name: 'Augusta King' }), { ...ada, firstName: 'Augusta', lastName: 'King' });
    assert.deepEqual(applyUserUpdate(ada, { name: 'Augusta King', firstName: 'A' }), { ...ada, firstName: 'A' });
    const nameless = { ...ada, firstName: '', lastName: '' };
    assert.deepEqual(applyUserUpdate(nameless, { name: nameless.email }), nameless);
  });
});

describe('userChanges', () => {
  it('lists changed fields, comparing roles as sets', () => {
    assert.deepEqual(userChanges(ada, { ...ada, roles: ['b', 'a'] }), {});
    assert.deepEqual(userChanges(ada, { ...ada, email: 'x@example.com', roles: ['a'] }), {
      email: { from: 'ada@example.com', to: 'x@example.com' },
      roles: { from: ['a', 'b'], to: ['a'] },
    });
  });
});
