// Glue for the reconcile loop (operator/controller ReconcilerOptions.bootstrapTenant): from the
// TenantControlPlane and its host Secrets to a written, approved and assessed tenant bootstrap.
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { TenantControlPlane } from '../../crds/generated/types.ts';
import { secretNames } from '../render/names.ts';
import type { ConditionInput } from '../runtime/conditions.ts';
import { KubeClient } from '../runtime/kube-client.ts';
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
  /**
   * URL the operator uses to reach the tenant apiserver, when it differs from the public endpoint the
   * super-admin kubeconfig names (e.g. the host Service's in-cluster DNS name). Must be in the apiserver's SANs.
   */
  apiServerURL?: (tcp: TenantControlPlane, endpoint: string) => string | undefined;
  logger?: Logger;
}

export interface TenantBootstrapOutcome {
  ok: boolean;
  reason: string;
  message: string;
  /** One per part: TenantRBAC, ClusterInfo, KubeadmConfig, KubeletConfig, CoreDNS, KubeProxy. */
  conditions: ConditionInput[];
}

function secretValue(secrets: Map<string, Record<string, string> | undefined>, name: string, key: string): string {
  const encoded = secrets.get(name)?.[key];
  if (encoded === undefined) throw new Error(`Secret ${name} has no key ${key}`);
  return Buffer.from(encoded, 'base64').toString('utf8');
}

/** A KubeConfig for the tenant from its super-admin kubeconfig, optionally pointed at another URL. */
export function tenantKubeConfig(superAdminConf: string, server?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(superAdminConf);
  if (server === undefined) return kc;
  const current = kc.getCurrentCluster();
  if (current === null) throw new Error('the super-admin kubeconfig has no current cluster');
  kc.loadFromOptions({
    clusters: kc.getClusters().map((c) => (c.name === current.name ? { ...c, server } : c)),
    users: kc.getUsers(),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext(),
  });
  return kc;
}

export function tenantBootstrapHook(options: TenantBootstrapHookOptions = {}) {
  return async (
    tcp: TenantControlPlane,
    ctx: { endpoint: string; secrets: Map<string, Record<string, string>>; signal: AbortSignal },
  ): Promise<TenantBootstrapOutcome> => {
    const name = tcp.metadata?.name;
    if (!name) throw new Error('TenantControlPlane without metadata.name');
    const names = secretNames(name);
    const plan = renderTenantBootstrap({
      clusterName: name,
      spec: tcp.spec,
      caCertPem: secretValue(ctx.secrets, names.ca, 'ca.crt'),
      endpoint: ctx.endpoint,
      imageRegistry: options.imageRegistry,
      imagePullPolicy: options.imagePullPolicy,
      coreDNSReplicas: options.coreDNSReplicas,
      node: options.node,
    });
    const kc = tenantKubeConfig(secretValue(ctx.secrets, names.superAdminKubeconfig, 'super-admin.conf'), options.apiServerURL?.(tcp, ctx.endpoint));
    const client = new KubeClient(kc, { timeoutMs: 15_000 });
    const logger = options.logger?.child({ tenant: `${tcp.metadata?.namespace}/${name}` });
    try {
      await bootstrapTenant(client, plan, { signal: ctx.signal, logger });
      if (plan.input.node.serverTLSBootstrap) await approveKubeletServingCsrs(client, { signal: ctx.signal, logger });
      const reports = await bootstrapStatus(client, plan, ctx.signal);
      return { ...summarizeBootstrap(reports), conditions: bootstrapConditions(reports, tcp.metadata?.generation) };
    } finally {
      await client.close();
    }
  };
}
