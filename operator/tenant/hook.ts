// Glue for the reconcile loop (operator/controller tenant-bootstrap.ts): from the resolved tenant, its CA and
// a client of its API server to a written, approved and assessed tenant bootstrap.
import type { Logger } from 'pino';
import type { KubeClient, Tenant } from '../../core/index.ts';
import type { ConditionInput } from '../runtime/conditions.ts';
import { bootstrapTenant } from './bootstrap.ts';
import type { ImagePullPolicy, NodeSettings } from './input.ts';
import { approveKubeletServingCsrs } from './kubelet-serving-csr.ts';
import { renderTenantBootstrap } from './plan.ts';
import { bootstrapConditions, bootstrapStatus, summarizeBootstrap } from './status.ts';

export interface TenantBootstrapHookOptions {
  imageRegistry?: string;
  imagePullPolicy?: ImagePullPolicy;
  coreDNSReplicas?: number;
  /** Worker-machine settings for kubelet-config / kube-proxy (the test bed: cgroupfs, failCgroupV1 false). */
  node?: NodeSettings;
  logger?: Logger;
}

export interface TenantBootstrapContext {
  /** The public endpoint workers and users reach (status.endpoint). */
  endpoint: string;
  /** Where the konnectivity agents dial the servers; default the endpoint's host and port 8132. */
  konnectivityServer?: { host: string; port: number };
  /** PEM of the tenant cluster CA. */
  caCertPem: string;
  /** A client of the tenant's API server with super-admin credentials. */
  client: KubeClient;
  signal: AbortSignal;
}

export interface TenantBootstrapOutcome {
  ok: boolean;
  reason: string;
  message: string;
  /** One per part: TenantRBAC, ClusterInfo, KubeadmConfig, KubeletConfig, CoreDNS, KubeProxy, Konnectivity, CNI. */
  conditions: ConditionInput[];
  /** Kubelet serving certificates that joining nodes still wait for (see ApprovalResult.waiting). */
  servingCsrsWaiting?: number;
}

export function tenantBootstrapHook(options: TenantBootstrapHookOptions = {}) {
  return async (tenant: Tenant, ctx: TenantBootstrapContext): Promise<TenantBootstrapOutcome> => {
    const plan = renderTenantBootstrap({
      clusterName: tenant.name,
      spec: tenant.spec,
      caCertPem: ctx.caCertPem,
      endpoint: ctx.endpoint,
      konnectivityServer: ctx.konnectivityServer,
      imageRegistry: options.imageRegistry,
      imagePullPolicy: options.imagePullPolicy,
      coreDNSReplicas: options.coreDNSReplicas,
      node: options.node,
    });
    const logger = options.logger?.child({ tenant: `${tenant.namespace}/${tenant.name}` });
    // Nodes' serving certificates do not depend on the rest of the bootstrap: a failing addon must not
    // leave joined nodes without `kubectl logs/exec`, so the approval runs either way.
    const applied = await bootstrapTenant(ctx.client, plan, { signal: ctx.signal, logger }).then(() => undefined, (error: unknown) => ({ error }));
    const approval = plan.input.node.serverTLSBootstrap
      ? await approveKubeletServingCsrs(ctx.client, { signal: ctx.signal, logger }).catch((error: unknown) => {
        if (applied === undefined) throw error;
        logger?.warn({ err: String(error) }, 'kubelet serving CSRs not looked at: the bootstrap failed too');
        return undefined;
      })
      : undefined;
    if (applied !== undefined) throw applied.error;
    const reports = await bootstrapStatus(ctx.client, plan, ctx.signal);
    return { ...summarizeBootstrap(reports), conditions: bootstrapConditions(reports, tenant.generation), servingCsrsWaiting: approval?.waiting ?? 0 };
  };
}
