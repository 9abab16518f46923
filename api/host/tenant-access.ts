// TenantAccess with the Secrets the operator keeps in the tcp's namespace (docs/contracts.md):
// `<name>-ca` (ca.crt, ca.key) signs per-user client certificates and gives the discovery hash;
// `<name>-admin-kubeconfig` (admin.conf) lets the API act inside the tenant (join tokens, node count).
// The tenant API server is reached at status.endpoint, the address clients use.
import type { V1NodeList, V1Secret } from '@kubernetes/client-node';
import { KubeApiError, KubeClient, buildUserKubeconfig, discoveryTokenCaCertHash, formatToken, issueUserCertificate, joinCommand, listJoinTokens, mintJoinToken, revokeJoinToken, secretNames, TenantClients, API_READ_SECRETS, type JoinTokenInfo } from '../../core/index.ts';
import type { ClusterStore } from '../cluster-store.ts';
import { ProblemError, problems } from '../problems.ts';
import type { TenantControlPlane } from '../tcp.ts';
import type { IssuedKubeconfig, JoinTokenSummary, KubeconfigRequest, MintedJoinTokenView, TenantAccess } from '../tenant-access.ts';
import { systemClock, type Clock } from '../types.ts';
import { isStatus, onHost, unb64 } from './kube.ts';

type ApiReadSecret = (typeof API_READ_SECRETS)[number];

export interface HostTenantAccessOptions {
  host: KubeClient;
  clusters: ClusterStore;
  clock?: Clock;
  /** Time allowed for one call into a tenant (default 10 s). */
  tenantTimeoutMs?: number;
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

  constructor(options: HostTenantAccessOptions) {
    this.#host = options.host;
    this.#clusters = options.clusters;
    this.#clock = options.clock ?? systemClock;
    this.#tenantClients = new TenantClients({ timeoutMs: options.tenantTimeoutMs ?? 10_000 });
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

  async #ca(tcp: TenantControlPlane): Promise<{ certPem: string; keyPem: string }> {
    const [cert, key] = await Promise.all([this.#secret(tcp, 'ca', 'ca.crt'), this.#secret(tcp, 'ca', 'ca.key')]);
    return { certPem: cert.value, keyPem: key.value };
  }

  #endpoint(tcp: TenantControlPlane): string {
    const endpoint = tcp.status?.endpoint;
    if (endpoint === undefined || endpoint === '') throw problems.conflict(`cluster ${tcp.metadata.name} has no endpoint yet; poll until status.ready`);
    return endpoint;
  }

  async #tenant(tcp: TenantControlPlane): Promise<KubeClient> {
    const admin = await this.#secret(tcp, 'adminKubeconfig', 'admin.conf');
    // The admin kubeconfig may name an in-host address (e.g. the Service DNS name); the endpoint is what reaches it.
    return this.#tenantClients.get(`${tcp.metadata.namespace}/${tcp.metadata.name}`, admin.value, this.#endpoint(tcp));
  }

  async #inTenant<T>(tcp: TenantControlPlane, call: (client: KubeClient) => Promise<T>): Promise<T> {
    const client = await this.#tenant(tcp);
    try {
      return await call(client);
    } catch (error) {
      throw tenantFailure(tcp, error);
    }
  }

  async issueKubeconfig(tcp: TenantControlPlane, request: KubeconfigRequest): Promise<IssuedKubeconfig> {
    const ca = await this.#ca(tcp);
    const server = this.#endpoint(tcp);
    let credentials;
    try {
      credentials = await issueUserCertificate({ ca, user: request.username, groups: request.groups, ttlSeconds: request.ttlSeconds, now: this.#clock.now() });
    } catch (error) {
      // The PKI refuses identities and lifetimes it will not sign; its message says why.
      throw problems.unprocessable('certificate-refused', (error as Error).message);
    }
    const kubeconfig = buildUserKubeconfig({ clusterName: tcp.metadata.name, server, caCertPem: ca.certPem, user: request.username, credentials });
    return { kubeconfig, expiresAt: credentials.notAfter };
  }

  async mintJoinToken(tcp: TenantControlPlane, options: { ttlSeconds: number; description?: string }): Promise<MintedJoinTokenView> {
    const caCert = await this.#secret(tcp, 'ca', 'ca.crt');
    const caCertHash = discoveryTokenCaCertHash(caCert.value);
    const minted = await this.#inTenant(tcp, (client) =>
      mintJoinToken(client, { ttlSeconds: options.ttlSeconds, now: this.#clock.now(), ...(options.description === undefined ? {} : { description: options.description }) }),
    );
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

  async countNodes(tcp: TenantControlPlane): Promise<number> {
    const nodes = await this.#inTenant(tcp, (client) => client.request<V1NodeList>('GET', '/api/v1/nodes'));
    return nodes.items.length;
  }

  async close(): Promise<void> {
    await this.#tenantClients.close();
  }
}
