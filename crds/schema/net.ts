// IP and CIDR parsing that accepts exactly what the Kubernetes CEL `ip`/`cidr` libraries accept (Go's
// net/netip without zones and without IPv4-mapped IPv6), so the TypeScript mirror of a CEL rule gives the
// same verdict as the API server.

export interface IPAddress {
  family: 4 | 6;
  /** The address as an unsigned integer of 32 or 128 bits. */
  value: bigint;
}

export interface CIDR {
  address: IPAddress;
  prefixLength: number;
}

const IPV4_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!IPV4_OCTET.test(part)) return undefined; // netip refuses leading zeros (ambiguous octal)
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIPv6(text: string): bigint | undefined {
  if (text.includes('%')) return undefined; // zones are refused by the CEL library
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string): string[] => (half === '' ? [] : half.split(':'));
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  const words: bigint[] = [];
  const all = [...head, ...tail];
  // An embedded IPv4 address may end the address (::ffff:1.2.3.4 style) and counts as two groups.
  let embedded: bigint | undefined;
  if (all.length > 0 && all[all.length - 1]!.includes('.')) {
    embedded = parseIPv4(all[all.length - 1]!);
    if (embedded === undefined) return undefined;
  }
  for (let i = 0; i < all.length; i++) {
    const group = all[i]!;
    if (i === all.length - 1 && embedded !== undefined) continue;
    if (!IPV6_GROUP.test(group)) return undefined;
  }
  const groupCount = all.length + (embedded !== undefined ? 1 : 0);
  if (halves.length === 1 && groupCount !== 8) return undefined;
  if (halves.length === 2 && groupCount > 7) return undefined; // '::' stands for at least one zero group
  const toWords = (groups: string[]): bigint[] => groups.map((g) => BigInt(`0x${g}`));
  const headWords = toWords(head.filter((g) => !g.includes('.')));
  const tailWords = toWords(tail.filter((g) => !g.includes('.')));
  if (embedded !== undefined) {
    const target = halves.length === 2 ? tailWords : headWords;
    if (halves.length === 2 && tail.length === 0) return undefined; // '1.2.3.4::' is not an address
    target.push(embedded >> 16n, embedded & 0xffffn);
  }
  const zeros = 8 - headWords.length - tailWords.length;
  words.push(...headWords, ...Array<bigint>(zeros).fill(0n), ...tailWords);
  return words.reduce((acc, w) => (acc << 16n) | w, 0n);
}

/** The upper 96 bits of an IPv4-mapped IPv6 address (::ffff:a.b.c.d). */
const IPV4_MAPPED_PREFIX = 0xffffn;

/** Parses an IPv4 or IPv6 address as CEL's `isIP`/`ip()` do; undefined when CEL would refuse it. */
export function parseIP(text: string): IPAddress | undefined {
  if (text.includes(':')) {
    const value = parseIPv6(text);
    if (value === undefined) return undefined;
    if (value >> 32n === IPV4_MAPPED_PREFIX) return undefined; // IPv4-mapped IPv6 is refused
    return { family: 6, value };
  }
  const value = parseIPv4(text);
  return value === undefined ? undefined : { family: 4, value };
}

/** Parses `address/prefix` as CEL's `isCIDR`/`cidr()` do; undefined when CEL would refuse it. */
export function parseCIDR(text: string): CIDR | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIP(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (!address || !/^(0|[1-9][0-9]{0,2})$/.test(bitsText)) return undefined;
  const prefixLength = Number(bitsText);
  if (prefixLength > addressBits(address.family)) return undefined;
  return { address, prefixLength };
}

export function isIP(text: string): boolean {
  return parseIP(text) !== undefined;
}

export function isCIDR(text: string): boolean {
  return parseCIDR(text) !== undefined;
}

function addressBits(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

function hostMask(cidr: CIDR): bigint {
  return (1n << BigInt(addressBits(cidr.address.family) - cidr.prefixLength)) - 1n;
}

/** The network address of a CIDR: its address with the host bits cleared (CEL `cidr.masked().ip()`). */
export function networkAddress(cidr: CIDR): IPAddress {
  return { family: cidr.address.family, value: cidr.address.value & ~hostMask(cidr) };
}

/** True when the CIDR has no host bits set (`10.96.0.0/12`, not `10.96.0.1/12`). */
export function isNetworkAddress(cidr: CIDR): boolean {
  return (cidr.address.value & hostMask(cidr)) === 0n;
}

/** CEL `cidr.containsIP(ip)`. */
export function containsIP(cidr: CIDR, ip: IPAddress): boolean {
  if (cidr.address.family !== ip.family) return false;
  return (ip.value & ~hostMask(cidr)) === networkAddress(cidr).value;
}

/** CEL `cidr.containsCIDR(other)`: other lies completely inside cidr. */
export function containsCIDR(cidr: CIDR, other: CIDR): boolean {
  return other.prefixLength >= cidr.prefixLength && containsIP(cidr, other.address);
}

/** Two CIDRs overlap when either contains the other. */
export function cidrsOverlap(a: CIDR, b: CIDR): boolean {
  return containsCIDR(a, b) || containsCIDR(b, a);
}

/** Formats an address as Go's netip does (RFC 5952 for IPv6: lowercase, longest zero run as `::`). */
export function formatIP(ip: IPAddress): string {
  if (ip.family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((ip.value >> shift) & 0xffn)).join('.');
  }
  const words = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  // Find the longest run of two or more zero words (the first one on a tie).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLength))}`;
}

/**
 * The first usable address of a CIDR, e.g. 10.96.0.1 for 10.96.0.0/12: kube-apiserver gives it to the
 * `kubernetes` Service of the cluster, so it belongs in the API server certificate's SANs.
 */
export function firstIPInCIDR(cidrText: string): string {
  const cidr = parseCIDR(cidrText);
  if (!cidr) throw new Error(`"${cidrText}" is not a CIDR such as 10.96.0.0/12`);
  const net = networkAddress(cidr);
  return formatIP({ family: net.family, value: net.value + 1n });
}
