// `kube-public/cluster-info`: the kubeconfig `kubeadm join` discovers the cluster from. It holds only the
// cluster (server + CA), exactly like kubeadm's CreateBootstrapConfigMapIfNotExists: one cluster with an
// empty name, no users or contexts. The tenant's bootstrapsigner controller adds a detached JWS signature
// `jws-kubeconfig-<token id>` for every signing token; server-side apply leaves those keys alone because
// they belong to another field manager.
import { parse } from 'yaml';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { applicable, metadata, type TenantObject } from './objects.ts';
import { CONFIG_KEYS, CONFIG_MAPS, NAMESPACE_PUBLIC } from './names.ts';
import type { ResolvedInput } from './input.ts';

/**
 * The kubeconfig text, in the layout client-go's clientcmd.Write gives kubeadm's (so it reads the same to
 * anyone comparing with a kubeadm cluster). Its bytes are what the JWS signatures cover.
 */
export function clusterInfoKubeconfig(server: string, caCertPem: string): string {
  const caData = Buffer.from(caCertPem, 'utf8').toString('base64');
  return [
    'apiVersion: v1',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${caData}`,
    `    server: ${server}`,
    '  name: ""',
    'contexts: null',
    'current-context: ""',
    'kind: Config',
    'preferences: {}',
    'users: null',
    '',
  ].join('\n');
}

export function renderClusterInfo(input: Pick<ResolvedInput, 'endpoint' | 'caCertPem'>): TenantObject[] {
  const configMap: IConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(CONFIG_MAPS.clusterInfo, { namespace: NAMESPACE_PUBLIC }),
    data: { [CONFIG_KEYS.clusterInfoKubeconfig]: clusterInfoKubeconfig(input.endpoint.url, input.caCertPem) },
  };
  return [{ part: 'cluster-info', policy: 'apply', object: applicable(configMap) }];
}

/** Server and CA read back from a cluster-info kubeconfig, the way kubeadm's discovery reads it. */
export function readClusterInfoKubeconfig(text: string): { server: string; caCertPem: string } {
  const doc = parse(text) as { clusters?: { name?: string; cluster?: { server?: string; 'certificate-authority-data'?: string } }[] } | null;
  const cluster = doc?.clusters?.find((c) => c.name === '')?.cluster;
  if (!cluster?.server || !cluster['certificate-authority-data']) throw new Error('cluster-info kubeconfig has no unnamed cluster with server and CA data');
  return { server: cluster.server, caCertPem: Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8') };
}
