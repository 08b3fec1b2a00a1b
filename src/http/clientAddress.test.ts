import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { clientAddressResolver, forwardedAddress, parseTrustProxy, trustsPeer } from './clientAddress.js';

describe('KEYWARD_TRUST_PROXY', () => {
  it('parses each form', () => {
    for (const off of [undefined, '', 'false', 'FALSE', '0', ' false ']) assert.equal(parseTrustProxy(off), false, String(off));
    assert.deepEqual(parseTrustProxy('true'), { hops: 1 });
    assert.deepEqual(parseTrustProxy('1'), { hops: 1 });
    assert.deepEqual(parseTrustProxy('3'), { hops: 3 });
    assert.deepEqual(parseTrustProxy('10.0.0.0/8, 192.168.1.7,fd00::/8 , ::1'), { proxies: ['10.0.0.0/8', '192.168.1.7', 'fd00::/8', '::1'] });
  });

  it('refuses anything else with a reason that names the setting and the bad part', () => {
    for (const bad of ['yes', 'on', '-1', '1.5', '33', '10.0.0.0/33', '::1/129', '10.0.0.1/8/1', '10.0.0.0/', '10.0.0.0/x', 'loopback', '10.0.0.0/8,,', '10.0.0.0/8, nope', 'fe80::1%eth0', '0.0.0.0/0', '::/0', '10.0.0.0/8, ::/0', '1.2.3.4/0', '2001:db8::/00']) {
      assert.throws(
        () => parseTrustProxy(bad),
        (err: Error) => err.message.startsWith('KEYWARD_TRUST_PROXY must be') && !err.message.includes('\n'),
        bad,
      );
    }
  });
});

describe('a /0 range', () => {
  it('is refused: every address would be a proxy, and the client would choose its own address', () => {
    for (const bad of ['0.0.0.0/0', '::/0', '10.0.0.0/8, 0.0.0.0/0']) {
      assert.throws(() => parseTrustProxy(bad), (err: Error) => /would trust every address/.test(err.message) && err.message.includes('/0') && !err.message.includes('\n'), bad);
    }
  });
});

describe('the client address behind proxies', () => {
  const PEER = '10.0.0.2';

  it('false: the socket peer, whatever the header says', () => {
    const resolve = clientAddressResolver(false);
    assert.equal(resolve(PEER, '203.0.113.7'), PEER);
  });

  it('one hop: the rightmost entry, which our proxy appended; what the client put to its left does not count', () => {
    const resolve = clientAddressResolver({ hops: 1 });
    assert.equal(resolve(PEER, '203.0.113.7'), '203.0.113.7');
    assert.equal(resolve(PEER, '6.6.6.6, 203.0.113.7'), '203.0.113.7');
    assert.equal(resolve(PEER, '6.6.6.6,203.0.113.7'), '203.0.113.7');
    assert.equal(resolve(PEER, '2001:db8::7'), '2001:db8::7');
    assert.equal(resolve(PEER, undefined), PEER);
  });

  it('a number of hops: that many entries from the right; fewer entries: the leftmost', () => {
    const resolve = clientAddressResolver({ hops: 2 });
    assert.equal(resolve(PEER, '9.9.9.9, 198.51.100.1, 10.0.0.3'), '198.51.100.1');
    assert.equal(resolve(PEER, '198.51.100.1, 10.0.0.3'), '198.51.100.1');
    assert.equal(resolve(PEER, '198.51.100.1'), '198.51.100.1');
  });

  it('proxy ranges: the first address from the right that is not a proxy; a peer outside them is the client itself', () => {
    const resolve = clientAddressResolver({ proxies: ['10.0.0.0/8', 'fd00::/8'] });
    assert.equal(resolve(PEER, '9.9.9.9, 198.51.100.4, 10.1.1.1'), '198.51.100.4');
    assert.equal(resolve(PEER, '198.51.100.4, fd00::5'), '198.51.100.4');
    assert.equal(resolve('::ffff:10.0.0.2', '198.51.100.4'), '198.51.100.4', 'an IPv4-mapped peer matches an IPv4 range');
    assert.equal(resolve('203.0.113.9', '1.1.1.1'), '203.0.113.9', 'a client that is not our proxy cannot name its own address');
    assert.equal(resolve(PEER, '10.0.0.5, 10.0.0.6'), '10.0.0.5', 'all proxies: the furthest one');
  });

  it('an entry that is not an IP address never becomes the address: the last trusted hop stands', () => {
    const one = clientAddressResolver({ hops: 1 });
    const three = clientAddressResolver({ hops: 3 });
    const ranges = clientAddressResolver({ proxies: ['10.0.0.0/8'] });
    for (const garbage of ['garbage', '', ' ', 'unknown', '<script>', '1.2.3.4:', '1.2.3.4:x', '1.2.3.4:123456', '[1.2.3.4]', '[2001:db8::1', '2001:db8::1]', '[2001:db8::1]:', '[garbage]:80', '1.1.1.15;for=6.6.6.6', "1.1.1.1'--", '1.1.1.1\u0000', 'fe80::1%<x>']) {
      assert.equal(one(PEER, garbage), PEER, JSON.stringify(garbage));
      assert.equal(one(PEER, `198.51.100.1, ${garbage}`), PEER, JSON.stringify(garbage));
      assert.equal(three(PEER, `${garbage}, 198.51.100.1`), '198.51.100.1', JSON.stringify(garbage));
      assert.equal(ranges(PEER, `9.9.9.9, ${garbage}, 10.0.0.7`), '10.0.0.7', JSON.stringify(garbage));
    }
  });

  it('an entry with a port or brackets names its address; the answer is in one canonical spelling', () => {
    const one = clientAddressResolver({ hops: 1 });
    const cases: [string, string][] = [
      ['1.1.1.8:5555', '1.1.1.8'],
      ['[2001:db8::6]', '2001:db8::6'],
      ['[2001:db8::7]:443', '2001:db8::7'],
      ['[::ffff:1.1.1.9]:80', '1.1.1.9'],
      ['::ffff:1.1.1.9', '1.1.1.9'],
      ['0:0:0:0:0:ffff:1.1.1.10', '1.1.1.10'],
      ['2001:DB8::16', '2001:db8::16'],
      ['2001:0db8:0000::17', '2001:db8::17'],
      [`fe80::1%${'A'.repeat(300)}`, 'fe80::1'],
      ['[fe80::1%eth0]:8080', 'fe80::1'],
      ['   1.1.1.12   ', '1.1.1.12'],
      ['1.1.1.13\t', '1.1.1.13'],
    ];
    for (const [entry, expected] of cases) {
      assert.equal(one(PEER, entry), expected, entry);
      assert.equal(one(PEER, `6.6.6.6, ${entry}`), expected, `6.6.6.6, ${entry}`);
    }
    // With ranges, a proxy's entry is recognised in any spelling, and the walk goes on past it.
    const ranges = clientAddressResolver({ proxies: ['10.0.0.0/8', 'fd00::/8'] });
    assert.equal(ranges(PEER, '198.51.100.4, [FD00::5]:443, ::ffff:10.0.0.9'), '198.51.100.4');
    assert.equal(ranges('::ffff:10.0.0.2', 'garbage'), PEER, 'the peer stands, in its IPv4 spelling');
    assert.equal(one('::ffff:10.0.0.2', undefined), PEER);
  });

  it('whatever the header holds, the answer is the peer or the canonical form of an address in it', () => {
    // ['0.0.0.0/0', '::/0'] cannot be configured (parseTrustProxy refuses it), but exercises the longest walk.
    const forms = [clientAddressResolver({ hops: 1 }), clientAddressResolver({ hops: 4 }), clientAddressResolver({ proxies: ['0.0.0.0/0', '::/0'] })];
    const entry = fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.ipV6().map((a) => `[${a.toUpperCase()}]:443`),
      fc.ipV4().map((a) => `${a}:8080`),
      fc.string(),
      fc.constantFrom('', ' ', ',', '::', '1.2.3.4:80', '[::1]', 'unknown'),
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 6 }), fc.constantFrom(', ', ','), (entries, sep) => {
        const named = new Set(entries.join(sep).split(',').map((e) => forwardedAddress(e.trim())));
        for (const resolve of forms) {
          const address = resolve(PEER, entries.join(sep))!;
          assert.ok(address === PEER || (isIP(address) !== 0 && named.has(address)), address);
        }
      }),
    );
  });

  it('trustsPeer: which peers may set X-Forwarded-Proto and -Host', () => {
    assert.equal(trustsPeer(false)(PEER), false);
    assert.equal(trustsPeer({ hops: 2 })(PEER), true);
    const ranges = trustsPeer({ proxies: ['10.0.0.0/8'] });
    assert.equal(ranges(PEER), true);
    assert.equal(ranges('203.0.113.9'), false);
    assert.equal(ranges(undefined), false);
  });
});
