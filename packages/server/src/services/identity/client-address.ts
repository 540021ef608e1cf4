/**
 * The key every per-address limit counts under (sign-in failures, service-token guesses,
 * open connections). Pure.
 *
 * An IPv4 address is its own key. An IPv6 address is keyed by its /64: one subscriber is
 * routinely handed a whole /64, so counting single IPv6 addresses would give one client
 * 2^64 fresh counters. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, how a dual-stack
 * socket shows an IPv4 client) is the IPv4 address it maps. Anything that is not an IP
 * address (a Unix socket, or 'local' for an in-process call) is kept as it is.
 */
import ipaddr from 'ipaddr.js';

/** Prefix length that groups IPv6 clients. */
export const IPV6_PREFIX_BITS = 64;

export function addressKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  // process(): an IPv4-mapped IPv6 address becomes the IPv4 address it carries.
  const ip = ipaddr.process(address);
  if (ip.kind() === 'ipv4') return ip.toString();
  // The first four 16-bit groups are the /64; the zone (fe80::1%eth0) is left out with the rest.
  const network = (ip as ipaddr.IPv6).parts.slice(0, IPV6_PREFIX_BITS / 16);
  return `${network.map((part) => part.toString(16)).join(':')}::/${IPV6_PREFIX_BITS}`;
}
