// In-memory dependencies for unit tests and the in-process benchmark: the same interfaces as the
// host implementations, with the real PKI and the real bootstrap-token functions, so what the routes
// return (certificates, join commands) is genuine; only the storage is a Map instead of the host.
import { X509Certificate } from 'node:crypto';
import { bootstrapTokenSecret, buildUserKubeconfig, createCaCertificate, createCertificateRequest, discoveryTokenCaCertHash, formatToken, generateBootstrapToken, generatePrivateKey, joinCommand, readCertificateRequest, signCertificate, tokenInfoFromSecret, type JoinTokenInfo } from '../core/index.ts';
import type { AppDependencies } from './app.ts';
import { MemoryAuthStore } from './auth.ts';
import { csrNotSigned, csrRefused } from './csr-signing.ts';
import { MemoryClusterStore } from './cluster-store.ts';
import { MemoryIdempotencyStore } from './idempotency.ts';
import type { TenantControlPlane } from './tcp.ts';
import type { IssuedKubeconfig, JoinTokenSummary, KubeconfigRequest, MintedJoinTokenView, TenantAccess } from './tenant-access.ts';
import type { Clock } from './types.ts';
import { MemoryUsageStore } from './usage-store.ts';
import type { NodeSeen } from './usage.ts';

export class ManualClock implements Clock {
  #now: number;

  constructor(start: Date | string = '2030-01-01T00:00:00Z') {
    this.#now = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.#now);
  }

  set(date: Date): void {
    this.#now = date.getTime();
  }

  advance(ms: number): void {
    this.#now += ms;
  }
}

const summary = (info: JoinTokenInfo): JoinTokenSummary => ({
  id: info.id,
  expiresAt: info.expiresAt ?? null,
  description: info.description ?? null,
  usages: info.usages,
  groups: info.groups,
  createdAt: info.createdAt ?? null,
});

/** What the tenant's signer does with the next kubeconfig CSRs: sign them, deny them, or never get to them. */
export type SignerBehaviour = 'sign' | 'deny' | 'never';

/**
 * Tenants whose "API servers" are Maps of bootstrap-token Secrets, with one real CA for all. Kubeconfigs
 * go the way the host's do: the API side makes a key and a PKCS#10 request, the tenant side signs the
 * request's public key (it never sees the private one) for the TTL asked, or refuses as `signer` says.
 */
export class MemoryTenantAccess implements TenantAccess {
  readonly #clock: Clock;
  readonly #tokens = new Map<string, Map<string, ReturnType<typeof bootstrapTokenSecret>>>();
  /** The nodes of each tenant, by tcp name. */
  readonly nodes = new Map<string, NodeSeen[]>();
  #ca: Promise<{ certPem: string; keyPem: string }> | undefined;
  signer: SignerBehaviour = 'sign';
  /** Every identity a certificate was signed for, in order (what reached the "tenant"). */
  readonly signed: { username: string; groups: string[] }[] = [];

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  ca(): Promise<{ certPem: string; keyPem: string }> {
    this.#ca ??= (async () => {
      const keyPem = await generatePrivateKey('ECDSA-P256');
      // Valid from the manual clock's "now", which may be years from the real one.
      return { keyPem, certPem: await createCaCertificate('kubernetes', keyPem, { now: this.#clock.now() }) };
    })();
    return this.#ca;
  }

  async issueKubeconfig(tcp: TenantControlPlane, request: KubeconfigRequest): Promise<IssuedKubeconfig> {
    const ca = await this.ca();
    const keyPem = await generatePrivateKey('ECDSA-P256');
    const csr = readCertificateRequest(await createCertificateRequest({ commonName: request.username, organizations: request.groups }, keyPem));
    if (this.signer === 'deny') throw csrRefused(tcp.metadata.name, { type: 'Denied', reason: 'TestPolicy', message: 'denied by the test' });
    if (this.signer === 'never') throw csrNotSigned(tcp.metadata.name, 15);
    const certPem = await signCertificate(
      { commonName: csr.commonName, organizations: csr.organizations, dnsNames: [], ipAddresses: [], extKeyUsages: ['clientAuth'] },
      csr.publicKeyPem,
      ca,
      { now: this.#clock.now(), validityMs: request.ttlSeconds * 1000 },
    );
    this.signed.push({ username: csr.commonName, groups: [...csr.organizations] });
    const kubeconfig = buildUserKubeconfig({ clusterName: tcp.metadata.name, server: tcp.status?.endpoint ?? '', caCertPem: ca.certPem, user: request.username, credentials: { certPem, keyPem } });
    return { kubeconfig, expiresAt: new X509Certificate(certPem).validToDate };
  }

  async mintJoinToken(tcp: TenantControlPlane, options: { ttlSeconds: number; description?: string }): Promise<MintedJoinTokenView> {
    const token = generateBootstrapToken();
    const expiresAt = new Date(Math.floor(this.#clock.now().getTime() / 1000) * 1000 + options.ttlSeconds * 1000);
    const secret = bootstrapTokenSecret(token, { expiresAt, ...(options.description === undefined ? {} : { description: options.description }) });
    const tokens = this.#tokens.get(tcp.metadata.name) ?? new Map();
    tokens.set(token.id, secret);
    this.#tokens.set(tcp.metadata.name, tokens);
    const caCertHash = discoveryTokenCaCertHash((await this.ca()).certPem);
    return {
      ...summary(tokenInfoFromSecret(secret)!),
      token: formatToken(token),
      joinCommand: joinCommand({ endpoint: tcp.status?.endpoint ?? '', token, caCertHash }),
    };
  }

  async listJoinTokens(tcp: TenantControlPlane): Promise<JoinTokenSummary[]> {
    const now = this.#clock.now().getTime();
    return [...(this.#tokens.get(tcp.metadata.name)?.values() ?? [])]
      .map((secret) => tokenInfoFromSecret(secret)!)
      .filter((info) => info.expiresAt === undefined || info.expiresAt.getTime() > now)
      .map(summary);
  }

  async revokeJoinToken(tcp: TenantControlPlane, id: string): Promise<boolean> {
    return this.#tokens.get(tcp.metadata.name)?.delete(id) ?? false;
  }

  async listNodes(tcp: TenantControlPlane): Promise<NodeSeen[]> {
    return structuredClone(this.nodes.get(tcp.metadata.name) ?? []);
  }
}

/** Deterministic test keys (valid format: kc_ + 43 base64url characters). */
export function testKey(label: string): string {
  return `kc_${Buffer.from(label.padEnd(32, '.')).toString('base64url').slice(0, 43).padEnd(43, 'A')}`;
}

export interface MemoryWorld {
  deps: AppDependencies;
  clock: ManualClock;
  clusters: MemoryClusterStore;
  auth: MemoryAuthStore;
  idempotency: MemoryIdempotencyStore;
  usage: MemoryUsageStore;
  tenants: MemoryTenantAccess;
}

/** Everything in memory; callers add keys with world.auth.add(testKey('x'), {...}). */
export function memoryWorld(overrides: Partial<AppDependencies> = {}): MemoryWorld {
  const clock = new ManualClock();
  const clusters = new MemoryClusterStore({ clock });
  const auth = new MemoryAuthStore();
  const idempotency = new MemoryIdempotencyStore();
  const usage = new MemoryUsageStore();
  const tenants = new MemoryTenantAccess(clock);
  const deps: AppDependencies = { clusters, auth, idempotency, usage, tenants, clock, ...overrides };
  return { deps, clock, clusters, auth, idempotency, usage, tenants };
}

/** What the operator writes into status once a control plane serves. */
export function readyStatus(endpoint = 'https://10.0.0.5:31443', version = 'v1.36.5'): TenantControlPlane['status'] {
  return {
    observedGeneration: 1,
    phase: 'Ready',
    version,
    endpoint,
    controlPlane: { replicas: 1, readyReplicas: 1 },
    conditions: [{ type: 'Ready', status: 'True', reason: 'ControlPlaneReady', message: 'all parts ready', lastTransitionTime: '2030-01-01T00:00:00Z' }],
  };
}
