// Validation and normalisation of the names that go into certificates and kubeconfigs.
import { canonicalIp } from './ip.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** RFC 1123 host name, optionally with a leading `*.` wildcard label; at most 253 characters. */
export function isDnsName(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  const labels = text.split('.');
  if (labels[0] === '*') labels.shift();
  return labels.length > 0 && labels.every((label) => DNS_LABEL.test(label));
}

/** A Kubernetes object name usable as a DNS label (Service names need it): [a-z0-9-], max 63. */
export function assertDnsLabel(text: string, what: string): void {
  if (!DNS_LABEL.test(text)) {
    throw new Error(`${what} "${text}" must be a DNS label: lower-case letters, digits and '-', at most 63 characters`);
  }
}

export interface SubjectAltNames {
  dnsNames: string[];
  ipAddresses: string[];
}

/**
 * Sorts free-form SAN strings into DNS names (lower-cased) and IP addresses (canonical text),
 * dropping duplicates and keeping first-seen order. Throws on anything that is neither.
 */
export function classifySans(values: Iterable<string>, what: string): SubjectAltNames {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const raw of values) {
    const value = raw.trim();
    const ip = canonicalIp(value);
    if (ip !== undefined) {
      if (!ipAddresses.includes(ip)) ipAddresses.push(ip);
      continue;
    }
    const dns = value.toLowerCase().replace(/\.$/, '');
    if (!isDnsName(dns)) {
      throw new Error(`${what}: "${raw}" is neither an IP address nor a DNS name`);
    }
    if (!dnsNames.includes(dns)) dnsNames.push(dns);
  }
  return { dnsNames, ipAddresses };
}

/** An https URL for a kubeconfig `server`, and its host (brackets of an IPv6 literal removed). */
export function parseServerUrl(server: string, what: string): { url: string; host: string; port: number } {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new Error(`${what} "${server}" is not a URL like https://10.0.0.5:6443`);
  }
  if (url.protocol !== 'https:') throw new Error(`${what} "${server}" must use https`);
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    throw new Error(`${what} "${server}" must be scheme://host[:port] only`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  // Keep the caller's spelling (no trailing slash) in kubeconfigs; WHATWG URL adds one.
  // https only, so no port in the URL means 443.
  return { url: `${url.protocol}//${url.host}`, host, port: Number(url.port || 443) };
}

/** Who a client certificate says the caller is. Kubernetes reads CN as user, each O as a group. */
export function assertIdentityText(text: string, what: string): void {
  if (text.trim() === '' || text !== text.trim()) throw new Error(`${what} must be non-empty without surrounding spaces`);
  if (text.length > 256) throw new Error(`${what} "${text.slice(0, 40)}..." is longer than 256 characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) throw new Error(`${what} contains control characters`);
}
