import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { addressGroup } from './addressGroup.js';

describe('the address group a connection counts against', () => {
  it('an IPv4 address is its own group, also when IPv4-mapped', () => {
    assert.equal(addressGroup('203.0.113.7'), '203.0.113.7');
    assert.equal(addressGroup('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(addressGroup('::FFFF:203.0.113.7'), '203.0.113.7');
  });

  it('every IPv6 address of one /64 is one group, however it is written', () => {
    const group = '2001:db8:0:1::/64';
    for (const a of ['2001:db8:0:1::1', '2001:db8:0:1:ffff:ffff:ffff:ffff', '2001:0DB8:0000:0001:0:0:0:2', '2001:db8::1:0:0:0:3', '2001:db8:0:1:a:b:1.2.3.4', '2001:db8:0:1::1%eth0']) {
      assert.equal(addressGroup(a), group, a);
    }
    assert.notEqual(addressGroup('2001:db8:0:2::1'), group);
    assert.equal(addressGroup('::1'), '0:0:0:0::/64');
    assert.equal(addressGroup('fe80::1%2'), 'fe80:0:0:0::/64');
  });

  it('any IPv6 address: the group is the same as that of its first 64 bits with the rest zero', () => {
    const hex = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
    fc.assert(
      fc.property(fc.array(hex, { minLength: 8, maxLength: 8 }), (g) => {
        assert.equal(addressGroup(g.join(':')), addressGroup(`${g.slice(0, 4).join(':')}:0:0:0:0`));
        assert.equal(addressGroup(g.join(':')), `${g.slice(0, 4).map((x) => Number.parseInt(x, 16).toString(16)).join(':')}::/64`);
      }),
    );
  });
});
