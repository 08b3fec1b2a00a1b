import assert from 'node:assert/strict';
import { isIP, SocketAddress } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalAddress, limiterKey } from './networkAddress.js';

/** The 16 bytes node:net reads from an IPv6 address, as its own canonical text. */
const nodeText = (address: string) => new SocketAddress({ address, family: 'ipv6' }).address;

describe('canonicalAddress', () => {
  it('gives each address one spelling', () => {
    const cases: [string, string][] = [
      ['1.1.1.1', '1.1.1.1'],
      ['2001:DB8::16', '2001:db8::16'],
      ['2001:0db8:0000::17', '2001:db8::17'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['::', '::'],
      ['1::', '1::'],
      ['::ffff:1.1.1.9', '1.1.1.9'],
      ['0:0:0:0:0:ffff:1.1.1.10', '1.1.1.10'],
      ['::FFFF:0101:0102', '1.1.1.2'],
      ['::1.2.3.4', '::102:304'],
      ['fe80::1%eth0', 'fe80::1'],
      [`fe80::1%${'A'.repeat(300)}`, 'fe80::1'],
    ];
    for (const [input, expected] of cases) assert.equal(canonicalAddress(input), expected, input);
  });

  it('is undefined for what is not an address', () => {
    for (const bad of ['', ' 1.1.1.1', '01.1.1.1', '1.1.1.1%x', '1.2.3.4:80', '[::1]', 'unknown', '2001:db8::g', '::1 ', '1.1.1.1\u0000']) {
      assert.equal(canonicalAddress(bad), undefined, JSON.stringify(bad));
    }
  });

  it('names the same address node:net reads, in a form that is its own canonical form', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV6(), fc.ipV4Extended(), fc.ipV4()), (input) => {
        const out = canonicalAddress(input);
        if (isIP(input) === 0) return assert.equal(out, undefined);
        assert.ok(out !== undefined && isIP(out) !== 0, `${input} -> ${out}`);
        assert.equal(canonicalAddress(out), out, `${input} -> ${out} is stable`);
        if (isIP(input) === 6) assert.equal(nodeText(isIP(out) === 4 ? `::ffff:${out}` : out), nodeText(input), input);
        assert.equal(out, out.toLowerCase());
      }),
      { numRuns: 5000 },
    );
  });
});

describe('limiterKey', () => {
  it('an IPv4 address is its own key; an IPv6 address its /64; a mapped IPv4 address its IPv4 address', () => {
    assert.equal(limiterKey('203.0.113.7'), '203.0.113.7');
    assert.equal(limiterKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
    assert.equal(limiterKey('2001:DB8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
    assert.equal(limiterKey('2001:db8:1:3::1'), '2001:db8:1:3::/64');
    assert.equal(limiterKey('2001:db8::1'), '2001:db8::/64');
    assert.equal(limiterKey('fe80::1%eth0'), 'fe80::/64');
    assert.equal(limiterKey('::1'), '::/64');
    assert.equal(limiterKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(limiterKey('::ffff:cb00:7107'), '203.0.113.7');
    assert.equal(limiterKey('cli'), 'cli');
  });

  it('every address of one /64 has one key, and addresses of different /64s different keys', () => {
    const group = fc.integer({ min: 0, max: 0xffff });
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), fc.array(group, { minLength: 4, maxLength: 4 }), (a, tail) => {
        const text = (w: number[]) => w.map((x) => x.toString(16)).join(':');
        const b = [...a.slice(0, 4), ...tail];
        // A mapped IPv4 address is keyed as IPv4, not as part of ::/64.
        fc.pre(!(a.slice(0, 5).every((x) => x === 0) && a[5] === 0xffff) && !(b.slice(0, 5).every((x) => x === 0) && b[5] === 0xffff));
        assert.equal(limiterKey(text(a)), limiterKey(text(b)));
        const c = [...a];
        c[3] = (c[3] + 1) & 0xffff;
        assert.notEqual(limiterKey(text(a)), limiterKey(text(c)));
      }),
      { numRuns: 2000 },
    );
  });
});
