// Last use of each API key in the host: one ConfigMap `kubeception-api-key-usage` in the API's namespace,
// data keyId (sha256 hex of the key) -> RFC 3339 time. A ConfigMap beside the key store, not an entry in
// it: keys-cli is the only writer of the key store Secret and the API can only read that one. Bounded: one
// ~90-byte entry per key (about 10,000 keys fit the 1 MiB object limit), removed by `keys-cli revoke`.
// Writes are JSON merge patches of one entry, atomic in the API server, so replicas never lose each other's
// entries (two replicas writing one key within a second may leave the older time: last use is coarse).
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { KeyUsageWriter } from '../key-usage.ts';
import { isStatus, mergeDataOrCreate, type KubeClient } from './kube.ts';
import { CREATED_BY_API, LABELS } from '../../core/index.ts';

export const KEY_USAGE_CONFIGMAP = 'kubeception-api-key-usage';

export interface KeyUsageLocation {
  client: KubeClient;
  namespace: string;
}

const collection = (location: KeyUsageLocation) => `/api/v1/namespaces/${encodeURIComponent(location.namespace)}/configmaps`;
const objectPath = (location: KeyUsageLocation) => `${collection(location)}/${KEY_USAGE_CONFIGMAP}`;

function mergePatch(location: KeyUsageLocation, data: Record<string, string | null>): Promise<unknown> {
  return location.client.request('PATCH', objectPath(location), { body: { data }, contentType: 'application/merge-patch+json' });
}

/** Writes one key's last use; creates the ConfigMap on the first write (a racing replica's create wins, then this patches). */
export async function writeKeyLastUsed(location: KeyUsageLocation, keyId: string, at: Date): Promise<void> {
  const data = { [keyId]: at.toISOString() };
  const configMap: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: KEY_USAGE_CONFIGMAP, namespace: location.namespace, labels: { [LABELS.createdBy]: CREATED_BY_API } },
    data,
  };
  await mergeDataOrCreate(location.client, collection(location), KEY_USAGE_CONFIGMAP, data, configMap);
}

/** keyId -> last use, for `keys-cli list`; entries that are not a key id and a time are left out. */
export async function readKeyUsage(location: KeyUsageLocation): Promise<Map<string, string>> {
  let configMap: V1ConfigMap;
  try {
    configMap = await location.client.request<V1ConfigMap>('GET', objectPath(location));
  } catch (error) {
    if (isStatus(error, 404)) return new Map();
    throw error;
  }
  return new Map(Object.entries(configMap.data ?? {}).filter(([keyId, at]) => /^[0-9a-f]{64}$/.test(keyId) && !Number.isNaN(Date.parse(at))));
}

/** Drops a revoked key's entry (nothing to do when there is none, or no ConfigMap yet). */
export async function forgetKeyUsage(location: KeyUsageLocation, keyId: string): Promise<void> {
  try {
    await mergePatch(location, { [keyId]: null });
  } catch (error) {
    if (!isStatus(error, 404)) throw error;
  }
}

/** The writer behind the API's CoarseKeyUsage. */
export class KubeKeyUsageWriter implements KeyUsageWriter {
  readonly #location: KeyUsageLocation;

  constructor(location: KeyUsageLocation) {
    this.#location = location;
  }

  write(keyId: string, at: Date): Promise<void> {
    return writeKeyLastUsed(this.#location, keyId, at);
  }
}
