// The work inside a tenant, run by the reconcile once the tenant's API server serves: operator/tenant's
// bootstrap (RBAC, cluster-info, kubeadm/kubelet config, addons, kubelet serving CSRs), and the endpoints
// of the tenant's own `kubernetes` Service (EndpointSlice and Endpoints: kubernetes-endpoints.ts).
// The tenant is reached with its super-admin kubeconfig through one kept client per tenant (TenantClients).
import type { Logger } from 'pino';
import { apply, secretNames, type Tenant, type TenantClients } from '../../core/index.ts';
import { tenantBootstrapHook, type NodeSettings, type TenantBootstrapOutcome } from '../tenant/index.ts';
import { describeError, isUnreachableError } from './describe-error.ts';
import { kubernetesEndpointSlice, kubernetesEndpoints, kubernetesServiceTarget, type ResolveHost } from './kubernetes-endpoints.ts';

/** What the reconcile hands over: the public endpoint and the tenant's host Secrets (data, base64) by name. */
export interface BootstrapContext {
  endpoint: string;
  /** Where the konnectivity agents dial the servers (the public host, the konnectivity port or node port). */
  konnectivityServer?: { host: string; port: number };
  secrets: ReadonlyMap<string, Record<string, string>>;
  signal: AbortSignal;
}

/** The bootstrap's outcome, and whether the API server answered through the public endpoint (unset: not checked). */
export type BootstrapResult = TenantBootstrapOutcome & { reachable?: boolean };

export type BootstrapTenant = (tenant: Tenant, ctx: BootstrapContext) => Promise<BootstrapResult>;

const secretText = (secrets: BootstrapContext['secrets'], name: string, key: string): string | undefined => {
  const encoded = secrets.get(name)?.[key];
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
};

export function tenantBootstrapper(deps: {
  clients: TenantClients;
  logger: Logger;
  imageRegistry: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  node?: NodeSettings;
  /** How a DNS-name endpoint becomes the `kubernetes` Service's addresses (default: the system resolver). */
  resolveHost?: ResolveHost;
}): BootstrapTenant {
  const hook = tenantBootstrapHook({ logger: deps.logger, imageRegistry: deps.imageRegistry, imagePullPolicy: deps.imagePullPolicy, node: deps.node });
  return async (tenant, ctx) => {
    const names = secretNames(tenant.name);
    const superAdmin = secretText(ctx.secrets, names.superAdminKubeconfig, 'super-admin.conf');
    const caCertPem = secretText(ctx.secrets, names.ca, 'ca.crt');
    if (superAdmin === undefined || caCertPem === undefined) {
      const missing = superAdmin === undefined ? `${names.superAdminKubeconfig} (super-admin.conf)` : `${names.ca} (ca.crt)`;
      return { ok: false, reason: 'SecretMissing', message: `the host Secret ${missing} is missing`, conditions: [] };
    }
    // The super-admin kubeconfig names the public endpoint: the first call is also the check that the
    // endpoint customers get leads to this API server (Endpoint condition), before anything is written.
    const client = deps.clients.get(`${tenant.namespace}/${tenant.name}`, superAdmin);
    try {
      await client.request('GET', '/version', { signal: ctx.signal });
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      if (isUnreachableError(error)) {
        return { ok: false, reason: 'EndpointUnreachable', message: `GET ${ctx.endpoint}/version: ${describeError(error)}`, conditions: [], reachable: false };
      }
    }
    const target = await kubernetesServiceTarget(ctx.endpoint, deps.resolveHost);
    await apply(client, kubernetesEndpointSlice(target), { signal: ctx.signal });
    await apply(client, kubernetesEndpoints(target), { signal: ctx.signal });
    return { ...(await hook(tenant, { endpoint: ctx.endpoint, konnectivityServer: ctx.konnectivityServer, caCertPem, client, signal: ctx.signal })), reachable: true };
  };
}
