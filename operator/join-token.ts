// Minting a join token for a tenant from the host side: a kubeadm bootstrap token inside the tenant
// (with a TTL), and the full `kubeadm join` command written to the host Secret `<name>-join-command`
// (keys `command`, `expiresAt`), where a user with access to the tenant's namespace finds it.
//   node operator/join-token.ts <namespace>/<name> [--ttl 2h]
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import {
  KubeClient,
  LABELS,
  MANAGED_BY,
  apply,
  discoveryTokenCaCertHash,
  getOrUndefined,
  joinCommand,
  mintJoinToken,
  secretNames,
  tenantControlPlaneRef,
  tenantKubeConfig,
  tenantOwnerReference,
  type Applicable,
  type TenantControlPlane,
} from '../core/index.ts';
export interface JoinCommandResult {
  command: string;
  expiresAt: Date;
  secretName: string;
}

const secretText = (s: { data?: Record<string, string> }, key: string) => {
  const v = s.data?.[key];
  if (v === undefined) throw new Error(`Secret has no key ${key}`);
  return Buffer.from(v, 'base64').toString('utf8');
};

/** Mints a token in the tenant and stores the join command next to the tcp; refuses a tenant that is not Ready. */
export async function mintJoinCommand(host: KubeClient, namespace: string, name: string, ttlSeconds: number): Promise<JoinCommandResult> {
  const tcp = await getOrUndefined<TenantControlPlane>(host, tenantControlPlaneRef(namespace, name));
  if (!tcp) throw new Error(`tenant ${namespace}/${name} does not exist`);
  const endpoint = tcp.status?.endpoint;
  const ready = tcp.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  if (!endpoint || !ready) throw new Error(`tenant ${namespace}/${name} is not Ready yet (status.endpoint ${endpoint ?? 'unset'}): a worker could not join it`);
  const names = secretNames(name);
  const read = (secret: string) => host.request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${namespace}/secrets/${secret}`);
  const ca = secretText(await read(names.ca), 'ca.crt');
  const tenant = new KubeClient(tenantKubeConfig(secretText(await read(names.superAdminKubeconfig), 'super-admin.conf')));
  try {
    const minted = await mintJoinToken(tenant, { ttlSeconds, description: 'minted by kubeception operator/join-token.ts' });
    const expiresAt = minted.info.expiresAt ?? new Date(Date.now() + ttlSeconds * 1000);
    const command = joinCommand({ endpoint, token: minted.token, caCertHash: discoveryTokenCaCertHash(ca) });
    const secretName = names.joinCommand;
    await apply(host, {
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: {
        name: secretName, namespace,
        labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.tenant]: name, [LABELS.component]: 'join' },
        ownerReferences: [tenantOwnerReference({ name, uid: tcp.metadata!.uid! })],
      },
      stringData: { command, expiresAt: expiresAt.toISOString() },
    } as Applicable);
    return { command, expiresAt, secretName };
  } finally {
    await tenant.close();
  }
}

function parseTtl(text: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text);
  if (!m) throw new Error(`--ttl must look like 90s, 30m, 2h or 1d, got ${JSON.stringify(text)}`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { ttl: { type: 'string', default: '2h' }, kubeconfig: { type: 'string' } } });
  const [namespace, name] = (positionals[0] ?? '').split('/');
  if (!namespace || !name) {
    console.error('usage: node operator/join-token.ts <namespace>/<name> [--ttl 2h] [--kubeconfig host.kubeconfig]');
    process.exit(2);
  }
  const kc = new KubeConfig();
  if (values.kubeconfig ?? process.env.KUBECONFIG) kc.loadFromFile((values.kubeconfig ?? process.env.KUBECONFIG)!);
  else kc.loadFromDefault();
  const host = new KubeClient(kc);
  try {
    const result = await mintJoinCommand(host, namespace, name, parseTtl(values.ttl!));
    console.log(`${result.command}\n# valid until ${result.expiresAt.toISOString()}; also in Secret ${namespace}/${result.secretName}`);
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exitCode = 1;
  } finally {
    await host.close();
  }
}
