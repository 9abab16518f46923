// IP addresses and CIDRs as bytes, so that SANs compare equal however they were written
// ("fd00:0::1" and "FD00::1" are one address) and the first host of a service CIDR can be computed.
import { isIP } from 'node:net';
import forge from 'node-forge';

/** The 4 or 16 bytes of an IPv4/IPv6 literal, or undefined if it is not one. */
export function ipToBytes(text: string): Uint8Array | undefined {
  const kind = isIP(text);
  if (kind === 4) return Uint8Array.from(text.split('.').map(Number));
  if (kind !== 6) return undefined;
  // Split off an embedded IPv4 tail (::ffff:1.2.3.4); the rest is colon-separated groups around
  // at most one "::" (node:net has already checked the syntax).
  let groupsText = text.toLowerCase();
  let tail: number[] = [];
  const lastColon = groupsText.lastIndexOf(':');
  const lastPart = groupsText.slice(lastColon + 1);
  if (lastPart.includes('.')) {
    const v4 = ipToBytes(lastPart);
    if (!v4) return undefined;
    tail = [...v4];
    groupsText = groupsText.slice(0, lastColon + 1);
    if (!groupsText.endsWith('::')) groupsText = groupsText.slice(0, -1);
  }
  const [left = '', right] = groupsText.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const leftGroups = groups(left);
  const rightGroups = right === undefined ? [] : groups(right);
  const missing = 8 - tail.length / 2 - leftGroups.length - rightGroups.length;
  const all = [...leftGroups, ...new Array<number>(right === undefined ? 0 : missing).fill(0), ...rightGroups];
  const bytes = all.flatMap((g) => [g >> 8, g & 0xff]).concat(tail);
  return bytes.length === 16 ? Uint8Array.from(bytes) : undefined;
}

/** Canonical text of an address given as bytes (dotted quad, or compressed lower-case IPv6). */
export function bytesToIp(bytes: Uint8Array): string {
  if (bytes.length !== 4 && bytes.length !== 16) {
    throw new Error(`an IP address has 4 or 16 bytes, got ${bytes.length}`);
  }
  const util = forge.util as unknown as { bytesToIP(bytes: string): string };
  return util.bytesToIP(Buffer.from(bytes).toString('binary'));
}

/** Canonical text of an IP literal, or undefined if the text is not an IP address. */
export function canonicalIp(text: string): string | undefined {
  const bytes = ipToBytes(text.trim());
  return bytes ? bytesToIp(bytes) : undefined;
}

/**
 * The first host address of a CIDR (network address + 1), which Kubernetes gives the `kubernetes`
 * Service: 10.96.0.0/12 -> 10.96.0.1, fd00:10:96::/108 -> fd00:10:96::1.
 */
export function firstHostIp(cidr: string): string {
  const match = /^([^/\s]+)\/(\d{1,3})$/.exec(cidr.trim());
  const bytes = match ? ipToBytes(match[1] ?? '') : undefined;
  const prefix = match ? Number(match[2]) : NaN;
  if (!bytes || !(prefix >= 0 && prefix <= bytes.length * 8)) {
    throw new Error(`"${cidr}" is not a CIDR like 10.96.0.0/12 or fd00:10:96::/108`);
  }
  const hostBits = bytes.length * 8 - prefix;
  if (hostBits < 2) {
    throw new Error(`CIDR "${cidr}" is too small to hold a Service address`);
  }
  // Mask off host bits, then add one.
  const network = bytes.map((byte, i) => {
    const bitsInByte = Math.min(8, Math.max(0, prefix - i * 8));
    return byte & ((0xff << (8 - bitsInByte)) & 0xff);
  });
  network[network.length - 1] = (network[network.length - 1] ?? 0) | 1;
  return bytesToIp(network);
}
