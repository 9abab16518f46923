// TenantAccess with the one Secret the operator keeps for the API in the tcp's namespace
// (docs/contracts.md): `<name>-portal-kubeconfig` (portal.conf), the API's narrow identity inside the
// tenant (kubeception:portal). With it the API signs per-user certificates through the tenant's CSR API
// (csr-signing.ts), mints join tokens and counts nodes; its certificate-authority-data is the cluster CA
// certificate user kubeconfigs pin and the discovery hash is computed from. The API reads no CA key and no
// admin kubeconfig. The tenant API server is reached at status.endpoint, the address clients use.
import type { V1NodeList, V1Secret } from '@kubernetes/client-node';
import { KubeApiError, KubeClient, buildUserKubeconfig, discoveryTokenCaCertHash, formatToken, joinCommand, listJoinTokens, mintJoinToken, parseKubeconfig, revokeJoinToken, secretNames, SECRET_KEYS, TenantClients, API_READ_SECRETS, type JoinTokenInfo } from '../../core/index.ts';
import type { FastifyBaseLogger } from 'fastify';
import type { ClusterStore } from '../cluster-store.ts';
import { signClientCertificate } from '../csr-signing.ts';
import { ProblemError, problems } from '../problems.ts';
import type { TenantControlPlane } from '../tcp.ts';
import type { IssuedKubeconfig, JoinTokenSummary, KubeconfigRequest, MintedJoinTokenView, TenantAccess } from '../tenant-access.ts';
import { systemClock, type Clock } from '../types.ts';
import type { NodeSeen } from '../usage.ts';
import { isStatus, onHost, unb64 } from './kube.ts';

type ApiReadSecret = (typeof API_READ_SECRETS)[number];

export interface HostTenantAccessOptions {
  host: KubeClient;
  clusters: ClusterStore;
  clock?: Clock;
  /** Time allowed for one call into a tenant (default 10 s). */
  tenantTimeoutMs?: number;
  /** Longest wait for a tenant to sign an approved kubeconfig certificate (default 30 s, inside common client and proxy timeouts; then 504). */
  signingTimeoutMs?: number;
  log?: FastifyBaseLogger;
}

function summary(info: JoinTokenInfo): JoinTokenSummary {
  return {
    id: info.id,
    expiresAt: info.expiresAt ?? null,
    description: info.description ?? null,
    usages: info.usages,
    groups: info.groups,
    createdAt: info.createdAt ?? null,
  };
}

/** A tenant that does not answer is the tenant's problem, not a bug of ours: 502 with a clear message. */
function tenantFailure(tcp: TenantControlPlane, error: unknown): Error {
  if (error instanceof ProblemError) return error;
  // The operator writes the identity's RBAC into the tenant on its next reconcile (a tenant from before
  // the identity existed, or one whose bootstrap is behind): worth waiting for, not a broken tenant.
  if (error instanceof KubeApiError && error.statusCode === 403) {
    return new ProblemError(503, 'credentials-unavailable', `the API's identity in cluster ${tcp.metadata.name} is not authorized yet (${error.reason}); the operator grants it in the tenant bootstrap, retry later`, {
      headers: { 'retry-after': '30' },
    });
  }
  const what = error instanceof KubeApiError ? `answered ${error.statusCode} ${error.reason}` : `did not answer (${(error as Error).message})`;
  return new ProblemError(502, 'tenant-unavailable', `the API server of cluster ${tcp.metadata.name} ${what}; retry later`, {
    headers: { 'retry-after': '10' },
  });
}

export class HostTenantAccess implements TenantAccess {
  readonly #host: KubeClient;
  readonly #clusters: ClusterStore;
  readonly #clock: Clock;
  /** One client per tenant: connections are reused, a re-issued kubeconfig or a new endpoint picked up. */
  readonly #tenantClients: TenantClients;
  readonly #signingTimeoutMs: number;
  readonly #log: FastifyBaseLogger | undefined;

  constructor(options: HostTenantAccessOptions) {
    this.#host = options.host;
    this.#clusters = options.clusters;
    this.#clock = options.clock ?? systemClock;
    this.#tenantClients = new TenantClients({ timeoutMs: options.tenantTimeoutMs ?? 10_000 });
    this.#signingTimeoutMs = options.signingTimeoutMs ?? 30_000;
    this.#log = options.log;
  }

  /** Reads one of API_READ_SECRETS only: the operator grants the API exactly those (typed, so no other slips in). */
  async #secret(tcp: TenantControlPlane, which: ApiReadSecret, key: string): Promise<{ value: string; version: string }> {
    const name = secretNames(tcp.metadata.name)[which];
    const namespace = tcp.metadata.namespace || this.#clusters.namespaceFor(tcp.metadata.name);
    const secret = await onHost(async () => {
      try {
        return await this.#host.request<V1Secret>('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`);
      } catch (error) {
        if (isStatus(error, 404)) return undefined;
        // The operator grants this read per cluster (--api-service-account); without the grant the
        // install is incomplete, which the portal can only wait out, and the operator's logs explain.
        if (isStatus(error, 403)) {
          throw new ProblemError(503, 'credentials-unavailable', `the API may not read the credentials of cluster ${tcp.metadata.name} (Secret ${name}): the operator grants that read when it runs with --api-service-account; retry later`, {
            headers: { 'retry-after': '30' },
          });
        }
        throw error;
      }
    });
    const encoded = secret?.data?.[key];
    if (encoded === undefined) {
      throw problems.conflict(`the credentials of cluster ${tcp.metadata.name} are not ready yet (Secret ${name} has no ${key}); retry shortly`);
    }
    return { value: unb64(encoded), version: secret?.metadata?.resourceVersion ?? '' };
  }

  /** The API's kubeconfig inside the tenant, and the cluster CA certificate it pins. */
  async #portal(tcp: TenantControlPlane): Promise<{ kubeconfig: string; caCertPem: string }> {
    const which = 'portalKubeconfig' satisfies ApiReadSecret;
    const { value } = await this.#secret(tcp, which, SECRET_KEYS[which][0]);
    try {
      return { kubeconfig: value, caCertPem: parseKubeconfig(value).caCertPem };
    } catch (error) {
      throw problems.conflict(`the credentials of cluster ${tcp.metadata.name} are not usable yet (${(error as Error).message}); retry shortly`);
    }
  }

  #endpoint(tcp: TenantControlPlane): string {
    const endpoint = tcp.status?.endpoint;
    if (endpoint === undefined || endpoint === '') throw problems.conflict(`cluster ${tcp.metadata.name} has no endpoint yet; poll until status.ready`);
    return endpoint;
  }

  async #inTenant<T>(tcp: TenantControlPlane, call: (client: KubeClient, caCertPem: string) => Promise<T>): Promise<T> {
    const portal = await this.#portal(tcp);
    // The kubeconfig may name an in-host address (e.g. the Service DNS name); the endpoint is what reaches it.
    const client = this.#tenantClients.get(`${tcp.metadata.namespace}/${tcp.metadata.name}`, portal.kubeconfig, this.#endpoint(tcp));
    try {
      return await call(client, portal.caCertPem);
    } catch (error) {
      throw tenantFailure(tcp, error);
    }
  }

  async issueKubeconfig(tcp: TenantControlPlane, request: KubeconfigRequest): Promise<IssuedKubeconfig> {
    const server = this.#endpoint(tcp);
    const cluster = tcp.metadata.name;
    return this.#inTenant(tcp, async (client, caCertPem) => {
      const signed = await signClientCertificate(client, { commonName: request.username, organizations: request.groups }, request.ttlSeconds, {
        cluster,
        timeoutMs: this.#signingTimeoutMs,
        approvalMessage: `kubeconfig issued through the kubeception API for account ${request.account}`,
        now: () => this.#clock.now().getTime(),
        onCleanupFailure: (name, error) => this.#log?.warn({ cluster, csr: name, err: (error as Error).message }, 'CSR not deleted; the tenant\'s csrcleaner removes it within a day'),
      });
      const kubeconfig = buildUserKubeconfig({ clusterName: cluster, server, caCertPem, user: request.username, credentials: signed });
      return { kubeconfig, expiresAt: signed.notAfter };
    });
  }

  async mintJoinToken(tcp: TenantControlPlane, options: { ttlSeconds: number; description?: string }): Promise<MintedJoinTokenView> {
    const { minted, caCertHash } = await this.#inTenant(tcp, async (client, caCertPem) => ({
      caCertHash: discoveryTokenCaCertHash(caCertPem),
      minted: await mintJoinToken(client, { ttlSeconds: options.ttlSeconds, now: this.#clock.now(), ...(options.description === undefined ? {} : { description: options.description }) }),
    }));
    return {
      ...summary(minted.info),
      token: formatToken(minted.token),
      joinCommand: joinCommand({ endpoint: this.#endpoint(tcp), token: minted.token, caCertHash }),
    };
  }

  async listJoinTokens(tcp: TenantControlPlane): Promise<JoinTokenSummary[]> {
    return (await this.#inTenant(tcp, (client) => listJoinTokens(client, this.#clock.now()))).map(summary);
  }

  async revokeJoinToken(tcp: TenantControlPlane, id: string): Promise<boolean> {
    return this.#inTenant(tcp, (client) => revokeJoinToken(client, id));
  }

  async listNodes(tcp: TenantControlPlane): Promise<NodeSeen[]> {
    const nodes = await this.#inTenant(tcp, (client) => client.request<V1NodeList>('GET', '/api/v1/nodes'));
    // The JSON has RFC 3339 strings where client-node's type says Date.
    return nodes.items.map((node) => ({
      name: node.metadata?.name ?? '',
      joinedAt: Math.floor(Date.parse(String(node.metadata?.creationTimestamp ?? '')) / 1000),
    })).filter((node) => node.name !== '' && Number.isSafeInteger(node.joinedAt));
  }

  async close(): Promise<void> {
    await this.#tenantClients.close();
  }
}
