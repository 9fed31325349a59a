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
  let ip = ipaddr.parse(bare);
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6;
    // ::ffff:10.0.0.1 reaches 10.0.0.1; NAT64's well-known prefix 64:ff9b::/96 reaches the embedded IPv4.
    if (v6.isIPv4MappedAddress()) ip = v6.toIPv4Address();
    else if (isNat64WellKnown(v6)) ip = ipaddr.fromByteArray(v6.toByteArray().slice(12));
  }
  return ip.range() === 'unicast';
}

function isNat64WellKnown(ip: ipaddr.IPv6): boolean {
  const p = ip.parts;
  return p[0] === 0x64 && p[1] === 0xff9b && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0;
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
