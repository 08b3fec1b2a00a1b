import assert from 'node:assert/strict';
import { BlockList, SocketAddress } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { addressAllowlist, cidrWithin, parseCidr } from './cidrs.js';
import { KeywardError } from './errors.js';
import { addressWords } from './networkAddress.js';

function refusal(text: string): KeywardError {
  try {
    parseCidr(text);
  } catch (err) {
    assert.ok(err instanceof KeywardError, String(err));
    assert.equal(err.code, 'BadRequest');
    return err;
  }
  assert.fail(`accepted ${JSON.stringify(text)}`);
}

const allows = (cidrs: string[], address: string) => addressAllowlist(cidrs)!.allows(address);

describe('parseCidr', () => {
  it('normalises IPv4, IPv6 (RFC 5952) and bare addresses', () => {
    const cases: [string, string][] = [
      ['10.0.0.0/8', '10.0.0.0/8'],
      ['192.168.1.7', '192.168.1.7/32'],
      ['0.0.0.0/0', '0.0.0.0/0'],
      ['2001:DB8::/32', '2001:db8::/32'],
      ['2001:0db8:0000:0000::/64', '2001:db8::/64'],
      ['2001:db8::1', '2001:db8::1/128'],
      ['::/0', '::/0'],
      ['::1', '::1/128'],
      [' 10.0.0.0/8 ', '10.0.0.0/8'],
      // IPv4-mapped networks are written as the IPv4 network they are.
      ['::ffff:10.0.0.0/104', '10.0.0.0/8'],
      ['::ffff:0:0/96', '0.0.0.0/0'],
      ['::ffff:1.2.3.4', '1.2.3.4/32'],
    ];
    for (const [input, expected] of cases) assert.equal(parseCidr(input), expected, input);
  });

  it('refuses host bits set, suggesting the network probably meant', () => {
    const v4 = refusal('10.1.2.3/8');
    assert.match(v4.message, /host bits set.*did you mean 10\.0\.0\.0\/8\?/);
    assert.equal(v4.details.suggestion, '10.0.0.0/8');
    const v6 = refusal('2001:db8::1/32');
    assert.match(v6.message, /did you mean 2001:db8::\/32\?/);
    assert.equal(v6.details.suggestion, '2001:db8::/32');
    assert.equal(refusal('192.168.1.1/0').details.suggestion, '0.0.0.0/0');
  });

  it('refuses what is not a network, saying what is expected', () => {
    for (const text of ['', 'abc', '10.0.0/8', '10.0.0.0.0', '256.0.0.0/8', '010.0.0.0/8', '1.2.3.4/', '1.2.3.4/33', '1.2.3.4/08', '1.2.3.4/-1', '1.2.3.4/a', '::/129', '1:2:3:4:5:6:7:8:9', '1::2::3', 'gggg::/16', '10.0.0.0/8/8', 'fe80::1%eth0/64', '::ffff:1.2.3/120']) {
      const err = refusal(text);
      assert.match(err.message, /network|prefix|zone/, text);
    }
    assert.match(refusal('1.2.3.4/33').message, /from 0 to 32/);
    assert.match(refusal('::/129').message, /from 0 to 128/);
  });
});

describe('addressAllowlist', () => {
  it('is undefined for no networks (any address)', () => {
    assert.equal(addressAllowlist([]), undefined);
  });

  it('matches IPv4 and IPv6 clients against their networks', () => {
    const cidrs = ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32'];
    for (const address of ['10.0.0.0', '10.255.255.255', '192.168.1.7', '2001:db8::1', '2001:DB8:ffff::', '2001:db8::1%eth0']) {
      assert.equal(allows(cidrs, address), true, address);
    }
    for (const address of ['11.0.0.0', '9.255.255.255', '192.168.1.8', '2001:db9::', '::1', '::']) {
      assert.equal(allows(cidrs, address), false, address);
    }
    assert.deepEqual(addressAllowlist(['10.1.0.0/16', '2001:DB8::/32'])!.cidrs, ['10.1.0.0/16', '2001:db8::/32']);
  });

  it('/0 allows every address of its family', () => {
    assert.equal(allows(['0.0.0.0/0'], '1.2.3.4'), true);
    assert.equal(allows(['0.0.0.0/0'], '255.255.255.255'), true);
    assert.equal(allows(['0.0.0.0/0'], '2001:db8::1'), false);
    assert.equal(allows(['::/0'], '2001:db8::1'), true);
  });

  it('an IPv4-mapped IPv6 client matches IPv4 networks', () => {
    assert.equal(allows(['10.0.0.0/8'], '::ffff:10.1.2.3'), true);
    assert.equal(allows(['10.0.0.0/8'], '::FFFF:0a01:0203'), true);
    assert.equal(allows(['10.0.0.0/8'], '0:0:0:0:0:ffff:10.1.2.3'), true);
    assert.equal(allows(['10.0.0.0/8'], '::ffff:11.1.2.3'), false);
    // Not mapped: the deprecated IPv4-compatible form and NAT64 are other IPv6 addresses.
    assert.equal(allows(['10.0.0.0/8'], '::10.1.2.3'), false);
    assert.equal(allows(['10.0.0.0/8'], '64:ff9b::10.1.2.3'), false);
  });

  it('an IPv4 client never matches an IPv6 network, nor an IPv6 client an IPv4 one', () => {
    for (const v6 of ['2001:db8::/32', '::/0', '::/8', '::/80', '::1/128', '64:ff9b::/96', '::fffe:0:0/95']) {
      assert.equal(allows([v6], '10.1.2.3'), false, v6);
      assert.equal(allows([v6], '::ffff:10.1.2.3'), false, v6);
    }
    assert.equal(allows(['::/0'], '2001:db8::1'), true);
    assert.equal(allows(['0.0.0.0/0'], '2001:db8::1'), false);
    assert.equal(allows(['0.0.0.0/0'], '::'), false);
    // The mapped range itself is IPv4.
    assert.equal(allows(['::ffff:0:0/96'], '10.1.2.3'), true);
  });

  it('garbage is never allowed, even by /0', () => {
    const all = ['0.0.0.0/0', '::/0'];
    for (const address of ['', 'garbage', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.4/32', '256.1.1.1', '::ffff:1.2.3', ':::', '1::2::3', '::g', '12345::', 'fe80::1%', 'localhost', '1.2.3.4%eth0', undefined as unknown as string, null as unknown as string, 7 as unknown as string]) {
      assert.equal(addressAllowlist(all)!.allows(address), false, String(address));
    }
  });

  it('refuses a bad network when built', () => {
    assert.throws(() => addressAllowlist(['10.1.2.3/8']), KeywardError);
  });

  it('agrees with node:net BlockList on random networks and addresses', () => {
    const byte = fc.integer({ min: 0, max: 255 });
    const group = fc.integer({ min: 0, max: 0xffff });
    const v4 = fc.tuple(byte, byte, byte, byte).map((b) => b.join('.'));
    const v6 = fc.array(group, { minLength: 8, maxLength: 8 }).map((w) => w.map((x) => x.toString(16)).join(':'));
    fc.assert(
      fc.property(fc.constantFrom<4 | 6>(4, 6), fc.integer({ min: 0, max: 128 }), v4, v6, v4, v6, fc.integer({ min: 0, max: 8 }), (family, bits, n4, n6, c4, c6, keep) => {
        const prefix = family === 4 ? bits % 33 : bits;
        const base = family === 4 ? n4 : n6;
        // The network of `base` at `prefix`, as parseCidr suggests it when host bits are set.
        let cidr: string;
        try {
          cidr = parseCidr(`${base}/${prefix}`);
        } catch (err) {
          cidr = (err as KeywardError).details.suggestion as string;
        }
        const list = new BlockList();
        const [address, length] = cidr.split('/');
        list.addSubnet(address, Number(length), family === 4 ? 'ipv4' : 'ipv6');
        const allowlist = addressAllowlist([cidr])!;
        assert.equal(allowlist.allows(base), true, `${base} in ${cidr}`);
        if (family === 4) assert.equal(allowlist.allows(`::ffff:${base}`), true);
        // A client sharing the first parts of `base` (so near the network, inside or not).
        const sep = family === 4 ? '.' : ':';
        const parts = base.split(sep);
        const random = (family === 4 ? c4 : c6).split(sep);
        const keptParts = Math.min(keep, parts.length);
        const client = [...parts.slice(0, keptParts), ...random.slice(keptParts)].join(sep);
        assert.equal(allowlist.allows(client), list.check(client, family === 4 ? 'ipv4' : 'ipv6'), `${client} in ${cidr}`);
        // A client of the other family never matches (BlockList would match an IPv4 client
        // against ::/0 through the mapped range; the families stay apart here).
        assert.equal(allowlist.allows(family === 4 ? c6 : c4), false);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('addressWords', () => {
  it('reads any IPv6 spelling as node:net does', () => {
    const groups = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 });
    fc.assert(
      fc.property(groups, fc.boolean(), fc.boolean(), (w, upper, padded) => {
        let text = w.map((x) => (padded ? x.toString(16).padStart(4, '0') : x.toString(16))).join(':');
        if (upper) text = text.toUpperCase();
        assert.deepEqual(addressWords(text), w);
        const canonical = new SocketAddress({ address: text, family: 'ipv6' }).address;
        assert.deepEqual(addressWords(canonical), w, canonical);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('cidrWithin', () => {
  it('is true when every address of inner lies in outer', () => {
    assert.equal(cidrWithin('10.1.0.0/16', '10.0.0.0/8'), true);
    assert.equal(cidrWithin('10.0.0.0/8', '10.0.0.0/8'), true);
    assert.equal(cidrWithin('10.1.2.3', '10.0.0.0/8'), true);
    assert.equal(cidrWithin('10.0.0.0/8', '10.1.0.0/16'), false);
    assert.equal(cidrWithin('11.0.0.0/16', '10.0.0.0/8'), false);
    assert.equal(cidrWithin('10.0.0.0/8', '0.0.0.0/0'), true);
    assert.equal(cidrWithin('2001:db8:1::/48', '2001:db8::/32'), true);
    assert.equal(cidrWithin('2001:db8::/32', '2001:db8:1::/48'), false);
    assert.equal(cidrWithin('2001:db8::/32', '0.0.0.0/0'), false);
    assert.equal(cidrWithin('10.0.0.0/8', '2001:db8::/32'), false);
    // Families stay apart, as in allows(); the mapped range is IPv4.
    assert.equal(cidrWithin('10.0.0.0/8', '::/0'), false);
    assert.equal(cidrWithin('::/0', '0.0.0.0/0'), false);
    assert.equal(cidrWithin('10.0.0.0/8', '::ffff:10.0.0.0/104'), true);
    assert.equal(cidrWithin('::ffff:10.0.0.0/104', '10.0.0.0/8'), true);
  });

  it('is false for anything that is not a network', () => {
    assert.equal(cidrWithin('garbage', '0.0.0.0/0'), false);
    assert.equal(cidrWithin('10.0.0.0/8', 'garbage'), false);
    assert.equal(cidrWithin('10.1.2.3/8', '0.0.0.0/0'), false);
  });
});
