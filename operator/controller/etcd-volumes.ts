// The etcd volume claims of a tenant are made by the StatefulSet controller, and with
// `whenDeleted: Delete` owned by the StatefulSet alone: deleting the StatefulSet (by hand, by mistake)
// would delete the tenant's whole datastore, although the operator re-creates the StatefulSet a second
// later. Adding the TenantControlPlane as a second, non-controller owner keeps the claims while the
// tenant exists (the garbage collector deletes an object only when all its owners are gone) and still
// deletes them with the tenant.
import { LABELS, isNotFound, type KubeClient, type TenantControlPlane } from '../../core/index.ts';

interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

interface ClaimList {
  items: { metadata: { name: string; labels?: Record<string, string>; ownerReferences?: OwnerReference[]; deletionTimestamp?: string } }[];
}

/** Adds `owner` (the tcp) to every etcd claim of the tenant that lacks it; returns the claims changed. */
export async function adoptEtcdVolumeClaims(client: KubeClient, tcp: TenantControlPlane, owner: Omit<OwnerReference, 'controller' | 'blockOwnerDeletion'>, signal: AbortSignal): Promise<string[]> {
  const namespace = tcp.metadata!.namespace!;
  const tenant = tcp.metadata!.name!;
  const list = await client.request<ClaimList>('GET', `/api/v1/namespaces/${namespace}/persistentvolumeclaims`, {
    query: { labelSelector: `${LABELS.tenant}=${tenant},${LABELS.component}=etcd` },
    signal,
  });
  const adopted: string[] = [];
  for (const claim of list.items) {
    const labels = claim.metadata.labels ?? {};
    if (labels[LABELS.tenant] !== tenant || labels[LABELS.component] !== 'etcd' || claim.metadata.deletionTimestamp) continue;
    if ((claim.metadata.ownerReferences ?? []).some((ref) => ref.uid === owner.uid)) continue;
    try {
      // Strategic merge: ownerReferences merge by uid, the StatefulSet's own reference stays. Not an
      // apply: an apply to a claim deleted meanwhile would try to create an empty one.
      await client.request('PATCH', `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${claim.metadata.name}`, {
        contentType: 'application/strategic-merge-patch+json',
        body: { metadata: { ownerReferences: [{ ...owner, controller: false, blockOwnerDeletion: false }] } },
        signal,
      });
      adopted.push(claim.metadata.name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return adopted;
}
