/**
 * Keeps the HTTP source from being turned against the origin's own network (SSRF): only public
 * unicast addresses may be connected to. `guardedLookup` is a drop-in `lookup` for net/tls connect
 * (undici's `connect.lookup`): it resolves the name and fails the connection when any resolved
 * address is loopback, private, link-local, unique-local, CGNAT, unspecified, multicast, reserved
 * or otherwise special, checking the address we actually connect to, so DNS rebinding gains
 * nothing. Node skips `lookup` for IP-literal hosts, so those are checked with `isPublicAddress`
 * when the base URL is configured.
 */
import dns from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import ipaddr from 'ipaddr.js';

/** `code` of the error a refused address produces, for the error mapping. */
export const ADDRESS_REFUSED_CODE = 'ERR_ORIGIN_ADDRESS_REFUSED';

export class AddressRefusedError extends Error {
  readonly code = ADDRESS_REFUSED_CODE;
  constructor(host: string, address: string) {
    super(`refusing to connect to ${host} (${address}): not a public address; set ORIGIN_HTTP_ALLOW_PRIVATE=true to allow it`);
    this.name = 'AddressRefusedError';
  }
}

/** True for public unicast IPv4/IPv6 addresses; false for special ranges and for non-addresses. */
export function isPublicAddress(address: string): boolean {
  // URL hostnames keep IPv6 literals in brackets; zone ids (fe80::1%eth0) are link-local anyway.
  const bare = address.replace(/^\[(.*)\]$/, '$1');
  if (!ipaddr.isValid(bare)) return false;
  const ip = ipaddr.parse(bare);
  if (ip.kind() === 'ipv4') return ip.range() === 'unicast';
  const embedded = embeddedIPv4(ip as ipaddr.IPv6);
  // An IPv6 spelling that carries an IPv4 address reaches that address: it decides.
  if (embedded) return embedded.every((v4) => v4.range() === 'unicast');
  return ip.range() === 'unicast';
}

const v4 = (high: number, low: number) => ipaddr.fromByteArray([high >> 8, high & 0xff, low >> 8, low & 0xff]) as ipaddr.IPv4;

/**
 * The IPv4 addresses an IPv6 address leads to, by every spelling that embeds one: IPv4-mapped
 * (`::ffff:a.b.c.d`), IPv4-translated (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64
 * (`64:ff9b::/96` and the local-use `64:ff9b:1::/48`), 6to4 (`2002:AABB:CCDD::/48`) and Teredo
 * (`2001:0::/32`: the server's address, and the client's, stored inverted).
 */
function embeddedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4[] | undefined {
  const [p0 = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0, p5 = 0, p6 = 0, p7 = 0] = ip.parts;
  const last = v4(p6, p7);
  const zeroHead = p0 === 0 && p1 === 0 && p2 === 0 && p3 === 0;
  if (zeroHead && p4 === 0 && (p5 === 0xffff || p5 === 0)) return p5 === 0 && p6 === 0 && p7 <= 1 ? undefined : [last]; // mapped, compatible (not :: or ::1)
  if (zeroHead && p4 === 0xffff && p5 === 0) return [last]; // translated
  if (p0 === 0x64 && p1 === 0xff9b && (p2 === 1 || (p2 === 0 && p3 === 0 && p4 === 0 && p5 === 0))) return [last]; // NAT64
  if (p0 === 0x2002) return [v4(p1, p2)]; // 6to4
  if (p0 === 0x2001 && p1 === 0) return [v4(p2, p3), v4(~p6 & 0xffff, ~p7 & 0xffff)]; // Teredo
  return undefined;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` with net.connect's signature that only ever yields public addresses. */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '');
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused) return callback(new AddressRefusedError(hostname, refused.address), '');
    const [first] = addresses;
    if (first === undefined) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
    // Node asks for all addresses when it races IPv4/IPv6 (autoSelectFamily), one otherwise.
    if (options.all) return callback(null, addresses);
    callback(null, first.address, first.family);
  });
}
