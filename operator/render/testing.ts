// Helpers for the renderer's tests (and for diagnosing a rendered pod): checksums of a sample tenant, and the answer to
// "which Secret key or volume backs this path inside that container?".
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { secretNames } from '../../core/index.ts';

/** A checksum for every Secret of the tenant, derived from `seed` so tests can vary one of them. */
export function sampleChecksums(tenant: string, seed = 'a'): Record<string, string> {
  return Object.fromEntries(Object.values(secretNames(tenant)).map((name) => [name, `${seed}-${name}`]));
}

export type MountedFile =
  | { kind: 'secret' | 'configMap'; name: string; key: string; readOnly: boolean }
  | { kind: 'emptyDir' | 'persistentVolumeClaim'; volume: string; readOnly: boolean }
  | { kind: 'missing'; reason: string };

/**
 * What backs `path` in container `containerName`: the deepest volume mount containing it, then - for a
 * Secret, ConfigMap or projected volume - the item whose path matches exactly. Directories on emptyDir or
 * claim volumes (data dirs, logs) resolve to the volume itself.
 */
export function resolveMountedFile(
  pod: IPodSpec,
  containerName: string,
  path: string,
  claimTemplates: readonly string[] = [],
): MountedFile {
  const container = pod.containers.find((c) => c.name === containerName);
  if (!container) return { kind: 'missing', reason: `no container ${containerName}` };
  const mounts = (container.volumeMounts ?? [])
    .filter((m) => path === m.mountPath || path.startsWith(m.mountPath.endsWith('/') ? m.mountPath : `${m.mountPath}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length);
  const mount = mounts[0];
  if (!mount) return { kind: 'missing', reason: `${path} is not under any volume mount of ${containerName}` };
  const readOnly = mount.readOnly === true;
  const relative = path.slice(mount.mountPath.length).replace(/^\/+/, '');
  if (claimTemplates.includes(mount.name)) return { kind: 'persistentVolumeClaim', volume: mount.name, readOnly };
  const volume = (pod.volumes ?? []).find((v) => v.name === mount.name);
  if (!volume) return { kind: 'missing', reason: `mount ${mount.name} has no volume` };
  if (volume.emptyDir) return { kind: 'emptyDir', volume: volume.name, readOnly };
  const sources = volume.projected
    ? volume.projected.sources ?? []
    : volume.secret
      ? [{ secret: { name: volume.secret.secretName, items: volume.secret.items } }]
      : volume.configMap
        ? [{ configMap: { name: volume.configMap.name, items: volume.configMap.items } }]
        : [];
  for (const source of sources) {
    const ref = source.secret ? { kind: 'secret' as const, ...source.secret } : source.configMap ? { kind: 'configMap' as const, ...source.configMap } : undefined;
    if (!ref || !ref.name) continue;
    // Without items every key appears under its own name; the renderer always lists items, so require them.
    const item = (ref.items ?? []).find((i) => i.path === relative);
    if (item) return { kind: ref.kind, name: ref.name, key: item.key, readOnly };
  }
  return { kind: 'missing', reason: `${path}: volume ${volume.name} has no item at ${relative}` };
}
