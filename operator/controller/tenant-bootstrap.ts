// The work inside a tenant, run by the reconcile once the tenant's API server serves: operator/tenant's
// bootstrap (RBAC, cluster-info, kubeadm/kubelet config, addons, kubelet serving CSRs), and the endpoints
// of the tenant's own `kubernetes` Service. The apiservers run with --endpoint-reconciler-type=none (their
// pod IPs are not what workers reach), so the operator publishes the public endpoint there instead.
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { TenantControlPlane } from '../../crds/generated/types.ts';
import { secretNames } from '../render/names.ts';
import { apply } from '../runtime/apply.ts';
import { KubeClient } from '../runtime/kube-client.ts';
import { tenantBootstrapHook, tenantKubeConfig } from '../tenant/index.ts';
import type { ReconcilerOptions } from './reconcile-tenant.ts';

/** The EndpointSlice of `default/kubernetes`: the address and port clients outside the host reach. */
export function kubernetesEndpointSlice(endpoint: string) {
  const url = new URL(endpoint);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const family = isIP(host);
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'kubeception.io' },
    },
    addressType: family === 6 ? 'IPv6' : family === 4 ? 'IPv4' : 'FQDN',
    endpoints: [{ addresses: [host], conditions: { ready: true } }],
    ports: [{ name: 'https', protocol: 'TCP', port: Number(url.port || 443) }],
  };
}

export function tenantBootstrapper(deps: { logger: Logger; imageRegistry: string; imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never' }): ReconcilerOptions['bootstrapTenant'] {
  const hook = tenantBootstrapHook({ logger: deps.logger, imageRegistry: deps.imageRegistry, imagePullPolicy: deps.imagePullPolicy });
  return async (tcp: TenantControlPlane, ctx) => {
    const superAdmin = ctx.secrets.get(secretNames(tcp.metadata!.name!).superAdminKubeconfig)?.['super-admin.conf'];
    if (superAdmin === undefined) return { ok: false, reason: 'NoKubeconfig', message: 'the super-admin kubeconfig Secret is missing' };
    const client = new KubeClient(tenantKubeConfig(Buffer.from(superAdmin, 'base64').toString('utf8')), { timeoutMs: 15_000 });
    try {
      await apply(client, kubernetesEndpointSlice(ctx.endpoint), { signal: ctx.signal });
    } finally {
      await client.close();
    }
    return hook(tcp, ctx);
  };
}
