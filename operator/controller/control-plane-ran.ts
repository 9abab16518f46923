// Whether a tenant's control plane runs or has run. The PKI plan treats a missing root (CA, SA key) of
// such a tenant as an alarm instead of creating it: a new CA would silently break every kubeconfig and
// node. It must NOT count a tenant whose first create was interrupted between two root writes (an
// operator crash or restart): that tenant never ran, and refusing to finish its PKI would brick it.
import { isNotFound, objectNames, type KubeClient, type TenantControlPlane } from '../../core/index.ts';

async function exists(client: KubeClient, path: string, signal: AbortSignal): Promise<boolean> {
  try {
    await client.request('GET', path, { signal });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/**
 * True when the status ever saw the API server ready, or when the etcd StatefulSet or the control-plane
 * Deployment exists (they are applied only after the whole PKI was written, so they prove it was).
 */
export async function controlPlaneHasRun(client: KubeClient, tcp: TenantControlPlane, signal: AbortSignal): Promise<boolean> {
  if (tcp.status?.conditions?.some((c) => c.type === 'APIServer' && c.status === 'True')) return true;
  const namespace = tcp.metadata!.namespace!;
  const names = objectNames(tcp.metadata!.name!);
  return (
    (await exists(client, `/apis/apps/v1/namespaces/${namespace}/statefulsets/${names.etcd}`, signal)) ||
    (await exists(client, `/apis/apps/v1/namespaces/${namespace}/deployments/${names.controlPlane}`, signal))
  );
}
