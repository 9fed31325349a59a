/** The address guard against every IPv6 spelling that embeds an IPv4 address. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isPublicAddress } from '../origin/sources/address-guard.js';

/** 127.0.0.1, 169.254.169.254 (cloud metadata), 10.1.2.3 and 192.168.0.1, each behind every embedding. */
const PRIVATE_V4 = [
  [0x7f00, 0x0001],
  [0xa9fe, 0xa9fe],
  [0x0a01, 0x0203],
  [0xc0a8, 0x0001],
] as const;
const PUBLIC_V4 = [0x0808, 0x0808] as const; // 8.8.8.8

const hex = (n: number) => n.toString(16);
const inverted = (n: number) => hex(~n & 0xffff);
const SPELLINGS: readonly [string, (high: number, low: number) => string][] = [
  ['IPv4-compatible', (h, l) => `::${hex(h)}:${hex(l)}`],
  ['IPv4-mapped', (h, l) => `::ffff:${hex(h)}:${hex(l)}`],
  ['IPv4-translated', (h, l) => `::ffff:0:${hex(h)}:${hex(l)}`],
  ['NAT64 well-known', (h, l) => `64:ff9b::${hex(h)}:${hex(l)}`],
  ['NAT64 local-use', (h, l) => `64:ff9b:1::${hex(h)}:${hex(l)}`],
  ['6to4', (h, l) => `2002:${hex(h)}:${hex(l)}::1`],
  ['Teredo server', (h, l) => `2001:0:${hex(h)}:${hex(l)}::${inverted(0x0808)}:${inverted(0x0808)}`],
  ['Teredo client', (h, l) => `2001:0:808:808::${inverted(h)}:${inverted(l)}`],
];

describe('address guard', () => {
  for (const [name, spell] of SPELLINGS) {
    test(`${name}: private, loopback and link-local IPv4 are refused, a public one passes`, () => {
      for (const [h, l] of PRIVATE_V4) assert.equal(isPublicAddress(spell(h, l)), false, spell(h, l));
      assert.equal(isPublicAddress(spell(...PUBLIC_V4)), true, spell(...PUBLIC_V4));
    });
  }

  test('the issue\'s examples and plain special addresses', () => {
    for (const address of ['::7f00:1', '::a9fe:a9fe', '[::ffff:127.0.0.1]', '::', '::1', 'fe80::1', 'fc00::1', '127.0.0.1', '::0.0.1.2']) {
      assert.equal(isPublicAddress(address), false, address);
    }
    for (const address of ['2606:4700::1111', '8.8.8.8', '[2a00:1450:4001::200e]']) assert.equal(isPublicAddress(address), true, address);
  });
});
