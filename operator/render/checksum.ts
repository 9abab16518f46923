// Digests that make a pod template change whenever the files it mounts change, so the pods roll.
import { createHash } from 'node:crypto';

/**
 * Checksum of a Secret's (or ConfigMap's) data: sha256 over the keys in sorted order, each key and value
 * length-prefixed so that no two different maps give the same byte stream. Values may be the base64 strings
 * of `Secret.data`, plain strings or Buffers; callers must use one form consistently per Secret.
 */
export function secretDataChecksum(data: Readonly<Record<string, string | Uint8Array>>): string {
  const hash = createHash('sha256');
  for (const key of Object.keys(data).sort()) {
    const value = data[key]!;
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    hash.update(`${Buffer.byteLength(key)}:${key}:${bytes.length}:`);
    hash.update(bytes);
  }
  return hash.digest('hex');
}

/**
 * The value of `kubeception.io/config-checksum`: sha256 over `name=checksum` lines of every source the pod
 * mounts. A source without a known checksum is an error: rendering a pod that would not roll on a
 * certificate change is worse than not rendering it.
 */
export function podConfigChecksum(sources: readonly string[], checksums: Readonly<Record<string, string>>): string {
  const missing = sources.filter((name) => typeof checksums[name] !== 'string' || checksums[name] === '');
  if (missing.length > 0) {
    throw new Error(`render: no checksum for ${missing.join(', ')}; pass secretChecksums for every mounted Secret`);
  }
  const lines = [...new Set(sources)].sort().map((name) => `${name}=${checksums[name]}\n`);
  return createHash('sha256').update(lines.join('')).digest('hex');
}
