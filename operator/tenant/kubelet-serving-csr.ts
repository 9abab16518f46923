// Approval of kubelet serving certificates. The tenant apiserver verifies kubelets against the tenant CA
// (--kubelet-certificate-authority), so kubelets run with serverTLSBootstrap and ask the CA for their
// serving certificate with a `kubernetes.io/kubelet-serving` CSR. kube-controller-manager's approver
// deliberately never approves those (a node could claim any name or address), so the operator does, after
// checking that the request is the node's own and names only addresses its Node object reports.
import forge from 'node-forge';
import type { Logger } from 'pino';
import { OID, bytesToIp, canonicalIp, isConflict, isNotFound, parseDer, type KubeClient } from '../../core/index.ts';
import { GROUPS } from './names.ts';

export const KUBELET_SERVING_SIGNER = 'kubernetes.io/kubelet-serving';
const EXTENSION_REQUEST_OID = '1.2.840.113549.1.9.14';
const ALLOWED_USAGES = new Set(['digital signature', 'key encipherment', 'server auth']);

const { asn1 } = forge;
type Asn1 = forge.asn1.Asn1;

export interface CsrRequestFacts {
  commonName: string | undefined;
  organizations: string[];
  dnsNames: string[];
  ipAddresses: string[];
  emailAddresses: string[];
  uris: string[];
}

function children(node: Asn1 | undefined): Asn1[] {
  return Array.isArray(node?.value) ? (node.value as Asn1[]) : [];
}

function oidOf(node: Asn1 | undefined): string {
  return node && typeof node.value === 'string' ? asn1.derToOid(node.value) : '';
}

function bytesOf(node: Asn1): Buffer {
  return Buffer.from(node.value as string, 'binary');
}

/** Subject and SANs of a PKCS#10 request (PEM), for any key type (forge's own CSR parser knows only RSA). */
export function inspectCsr(pem: string): CsrRequestFacts {
  const match = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]+?)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(pem);
  if (!match) throw new Error('not a PEM certificate request');
  const der = Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64');
  const [info] = children(parseDer(der));
  const [, subject, , attributes] = children(info);
  if (!subject || !attributes) throw new Error('certificate request is incomplete');
  const facts: CsrRequestFacts = { commonName: undefined, organizations: [], dnsNames: [], ipAddresses: [], emailAddresses: [], uris: [] };
  for (const rdn of children(subject)) {
    for (const pair of children(rdn)) {
      const [type, value] = children(pair);
      const raw = typeof value?.value === 'string' ? value.value : '';
      const text = value?.type === asn1.Type.UTF8 ? forge.util.decodeUtf8(raw) : raw;
      if (oidOf(type) === OID.commonName) facts.commonName = text;
      if (oidOf(type) === OID.organization) facts.organizations.push(text);
    }
  }
  for (const attribute of children(attributes)) {
    const [type, values] = children(attribute);
    if (oidOf(type) !== EXTENSION_REQUEST_OID) continue;
    for (const extension of children(children(values)[0])) {
      const parts = children(extension);
      if (oidOf(parts[0]) !== OID.subjectAltName) continue;
      const general = parseDer(bytesOf(parts[parts.length - 1]!));
      for (const name of children(general)) {
        if (name.tagClass !== asn1.Class.CONTEXT_SPECIFIC) continue;
        if (name.type === 1) facts.emailAddresses.push(name.value as string);
        else if (name.type === 2) facts.dnsNames.push(name.value as string);
        else if (name.type === 6) facts.uris.push(name.value as string);
        else if (name.type === 7) facts.ipAddresses.push(bytesToIp(bytesOf(name)));
      }
    }
  }
  return facts;
}

/** The fields of a certificates.k8s.io/v1 CertificateSigningRequest this decision reads. */
export interface Csr {
  metadata?: { name?: string; resourceVersion?: string; creationTimestamp?: string };
  spec?: { request?: string; signerName?: string; username?: string; groups?: string[]; usages?: string[] };
  status?: { conditions?: { type?: string; status?: string }[]; certificate?: string };
}

export interface NodeAddresses {
  status?: { addresses?: { type?: string; address?: string }[] };
}

export type CsrDecision =
  | { action: 'approve'; node: string }
  /** Not for us to judge now: another signer, already decided, or the Node is not registered yet. */
  | { action: 'skip'; reason: string }
  /** Left pending (never approved): the request is not what this node may ask for. */
  | { action: 'refuse'; reason: string };

export function csrIsDecided(csr: Csr): boolean {
  return (csr.status?.conditions ?? []).some((c) => (c.type === 'Approved' || c.type === 'Denied' || c.type === 'Failed') && c.status !== 'False');
}

/** Pure: whether `csr` is a kubelet asking for its own serving certificate with only its own addresses. */
export function decideKubeletServingCsr(csr: Csr, node: NodeAddresses | undefined): CsrDecision {
  const spec = csr.spec ?? {};
  if (spec.signerName !== KUBELET_SERVING_SIGNER) return { action: 'skip', reason: `signer ${spec.signerName ?? '(none)'}` };
  if (csrIsDecided(csr)) return { action: 'skip', reason: 'already decided' };
  const username = spec.username ?? '';
  if (!username.startsWith('system:node:') || username.length === 'system:node:'.length) {
    return { action: 'refuse', reason: `requested by ${JSON.stringify(username)}, not by a node` };
  }
  const nodeName = username.slice('system:node:'.length);
  if (!(spec.groups ?? []).includes(GROUPS.nodes)) return { action: 'refuse', reason: `requester is not in ${GROUPS.nodes}` };
  const usages = spec.usages ?? [];
  if (!usages.includes('server auth') || usages.some((u) => !ALLOWED_USAGES.has(u))) {
    return { action: 'refuse', reason: `usages ${JSON.stringify(usages)} are not a serving certificate's` };
  }
  let facts: CsrRequestFacts;
  try {
    facts = inspectCsr(Buffer.from(spec.request ?? '', 'base64').toString('utf8'));
  } catch (error) {
    return { action: 'refuse', reason: `unreadable request: ${(error as Error).message}` };
  }
  if (facts.commonName !== username) return { action: 'refuse', reason: `subject CN ${JSON.stringify(facts.commonName)} is not ${username}` };
  if (facts.organizations.length !== 1 || facts.organizations[0] !== GROUPS.nodes) {
    return { action: 'refuse', reason: `subject O ${JSON.stringify(facts.organizations)} is not ["${GROUPS.nodes}"]` };
  }
  if (facts.emailAddresses.length > 0 || facts.uris.length > 0) return { action: 'refuse', reason: 'e-mail or URI SANs are not allowed' };
  if (facts.dnsNames.length + facts.ipAddresses.length === 0) return { action: 'refuse', reason: 'no DNS or IP SANs' };
  if (node === undefined) return { action: 'skip', reason: `Node ${nodeName} is not registered yet` };

  const addresses = node.status?.addresses ?? [];
  const knownIPs = new Set(addresses.filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP').map((a) => canonicalIp(a.address ?? '')).filter((a): a is string => a !== undefined));
  const knownNames = new Set(addresses.filter((a) => a.type === 'Hostname' || a.type === 'InternalDNS' || a.type === 'ExternalDNS').map((a) => (a.address ?? '').toLowerCase()));
  const foreignIPs = facts.ipAddresses.filter((ip) => !knownIPs.has(canonicalIp(ip) ?? ip));
  const foreignNames = facts.dnsNames.filter((name) => !knownNames.has(name.toLowerCase()));
  if (foreignIPs.length > 0 || foreignNames.length > 0) {
    return { action: 'refuse', reason: `SANs ${JSON.stringify([...foreignNames, ...foreignIPs])} are not addresses of Node ${nodeName}` };
  }
  return { action: 'approve', node: nodeName };
}

export interface ApprovalResult {
  approved: string[];
  refused: { name: string; reason: string }[];
  skipped: { name: string; reason: string }[];
  /**
   * Kubelet-serving requests left pending that are younger than WAITING_WINDOW_MS: a node that joined a
   * moment ago (its Node or addresses not registered yet) waits for them, so look again soon.
   */
  waiting: number;
}

/** How long a pending kubelet-serving request counts as a node waiting for its certificate. */
export const WAITING_WINDOW_MS = 10 * 60_000;

const CSR_PATH = '/apis/certificates.k8s.io/v1/certificatesigningrequests';

/**
 * Approves every pending kubelet-serving CSR that passes decideKubeletServingCsr. Needs a client allowed
 * to approve for the kubelet-serving signer (the operator's super-admin identity is).
 */
export async function approveKubeletServingCsrs(client: KubeClient, options: { signal?: AbortSignal; logger?: Logger; now?: Date } = {}): Promise<ApprovalResult> {
  const result: ApprovalResult = { approved: [], refused: [], skipped: [], waiting: 0 };
  const now = options.now ?? new Date();
  const recent = (csr: Csr) => csr.spec?.signerName === KUBELET_SERVING_SIGNER && now.getTime() - Date.parse(csr.metadata?.creationTimestamp ?? '') < WAITING_WINDOW_MS;
  const list = await client.request<{ items?: Csr[] }>('GET', CSR_PATH, { query: { fieldSelector: `spec.signerName=${KUBELET_SERVING_SIGNER}` }, signal: options.signal });
  for (const csr of list.items ?? []) {
    const name = csr.metadata?.name ?? '';
    if (csrIsDecided(csr)) continue;
    const username = csr.spec?.username ?? '';
    let node: NodeAddresses | undefined;
    if (username.startsWith('system:node:')) {
      try {
        node = await client.request<NodeAddresses>('GET', `/api/v1/nodes/${encodeURIComponent(username.slice('system:node:'.length))}`, { signal: options.signal });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    const decision = decideKubeletServingCsr(csr, node);
    if (decision.action === 'skip') {
      result.skipped.push({ name, reason: decision.reason });
      if (recent(csr)) result.waiting += 1;
      continue;
    }
    if (decision.action === 'refuse') {
      result.refused.push({ name, reason: decision.reason });
      if (recent(csr)) result.waiting += 1;
      options.logger?.warn({ csr: name, reason: decision.reason }, 'kubelet serving CSR not approved');
      continue;
    }
    const body = {
      ...csr,
      status: {
        ...csr.status,
        conditions: [
          ...(csr.status?.conditions ?? []),
          {
            type: 'Approved',
            status: 'True',
            reason: 'KubeceptionNodeServingCert',
            message: `kubelet serving certificate of Node ${decision.node}, approved by kubeception`,
            lastUpdateTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
          },
        ],
      },
    };
    try {
      await client.request('PUT', `${CSR_PATH}/${encodeURIComponent(name)}/approval`, { body, signal: options.signal });
      result.approved.push(name);
      options.logger?.info({ csr: name, node: decision.node }, 'approved kubelet serving CSR');
    } catch (error) {
      // Changed meanwhile (e.g. approved by someone else): the next round looks again.
      if (!isConflict(error)) throw error;
      result.skipped.push({ name, reason: 'changed while approving' });
      if (recent(csr)) result.waiting += 1;
    }
  }
  return result;
}
