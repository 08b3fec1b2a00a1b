import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { clientAddressResolver, parseTrustProxy, trustsPeer } from './clientAddress.js';

describe('KEYWARD_TRUST_PROXY', () => {
  it('parses each form', () => {
    for (const off of [undefined, '', 'false', 'FALSE', '0', ' false ']) assert.equal(parseTrustProxy(off), false, String(off));
    assert.deepEqual(parseTrustProxy('true'), { hops: 1 });
    assert.deepEqual(parseTrustProxy('1'), { hops: 1 });
    assert.deepEqual(parseTrustProxy('3'), { hops: 3 });
    assert.deepEqual(parseTrustProxy('10.0.0.0/8, 192.168.1.7,fd00::/8 , ::1'), { proxies: ['10.0.0.0/8', '192.168.1.7', 'fd00::/8', '::1'] });
  });

  it('refuses anything else with a reason that names the setting and the bad part', () => {
    for (const bad of ['yes', 'on', '-1', '1.5', '33', '10.0.0.0/33', '::1/129', '10.0.0.1/8/1', '10.0.0.0/', '10.0.0.0/x', 'loopback', '10.0.0.0/8,,', '10.0.0.0/8, nope', 'fe80::1%eth0']) {
      assert.throws(
        () => parseTrustProxy(bad),
        (err: Error) => err.message.startsWith('KEYWARD_TRUST_PROXY must be') && !err.message.includes('\n'),
        bad,
      );
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
    for (const garbage of ['garbage', '', ' ', 'unknown', '<script>', '1.2.3.4:5678', '[2001:db8::1]', "1.1.1.1'--", '1.1.1.1\u0000']) {
      assert.equal(one(PEER, garbage), PEER, JSON.stringify(garbage));
      assert.equal(one(PEER, `198.51.100.1, ${garbage}`), PEER, JSON.stringify(garbage));
      assert.equal(three(PEER, `${garbage}, 198.51.100.1`), '198.51.100.1', JSON.stringify(garbage));
      assert.equal(ranges(PEER, `9.9.9.9, ${garbage}, 10.0.0.7`), '10.0.0.7', JSON.stringify(garbage));
    }
  });

  it('whatever the header holds, the answer is the peer or a valid IP address from it', () => {
    const forms = [clientAddressResolver({ hops: 1 }), clientAddressResolver({ hops: 4 }), clientAddressResolver({ proxies: ['0.0.0.0/0', '::/0'] })];
    const entry = fc.oneof(fc.ipV4(), fc.ipV6(), fc.string(), fc.constantFrom('', ' ', ',', '::', '1.2.3.4:80'));
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 6 }), fc.constantFrom(', ', ','), (entries, sep) => {
        for (const resolve of forms) {
          const address = resolve(PEER, entries.join(sep))!;
          assert.ok(address === PEER || (isIP(address) !== 0 && entries.join(sep).includes(address)), address);
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
