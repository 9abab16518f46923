// Container images without a registry or a Docker engine: a docker-archive tarball (manifest.json,
// config, one layer) written from files on disk, which `ctr images import` loads into containerd.
// Pure functions of their inputs, apart from reading the files named in the layer.
import { createHash } from 'node:crypto';

export interface LayerEntry {
  path: string; // inside the image, without a leading slash
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  content?: Buffer;
  linkTarget?: string;
}

export interface ImageSpec {
  /** Full reference, e.g. registry.k8s.io/pause:3.10.2 */
  ref: string;
  entries: LayerEntry[];
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  user?: string;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function tarHeader(name: string, size: number, mode: number, typeflag: string, linkname = ''): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar path too long for ustar: ${name}`);
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100);
  h.write(octal(0, 8), 108); // uid
  h.write(octal(0, 8), 116); // gid
  h.write(octal(size, 12), 124);
  h.write(octal(0, 12), 136); // mtime: fixed, so equal inputs give equal layers
  h.write('        ', 148); // checksum field counts as spaces while summing
  h.write(typeflag, 156);
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + ' ', 148);
  return h;
}

function pad(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** A ustar archive of the given entries, in order. */
export function tar(entries: LayerEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.type === 'dir') {
      parts.push(tarHeader(e.path.endsWith('/') ? e.path : `${e.path}/`, 0, e.mode, '5'));
    } else if (e.type === 'symlink') {
      parts.push(tarHeader(e.path, 0, e.mode, '2', e.linkTarget ?? ''));
    } else {
      const content = e.content ?? Buffer.alloc(0);
      parts.push(tarHeader(e.path, content.length, e.mode, '0'), content, pad(content.length));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Adds the parent folders of every entry, so the layer unpacks the same on any snapshotter. */
export function withParents(entries: LayerEntry[]): LayerEntry[] {
  const seen = new Set(entries.filter((e) => e.type === 'dir').map((e) => e.path.replace(/\/$/, '')));
  const dirs: LayerEntry[] = [];
  for (const e of entries) {
    const parts = e.path.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!seen.has(dir)) {
        seen.add(dir);
        dirs.push({ path: dir, type: 'dir', mode: dir === 'tmp' ? 0o1777 : 0o755 });
      }
    }
  }
  return [...dirs, ...entries];
}

/** A docker-archive tarball of a one-layer image. */
export function dockerArchive(spec: ImageSpec): Buffer {
  const layer = tar(withParents(spec.entries));
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: {
      Entrypoint: spec.entrypoint,
      Cmd: spec.cmd,
      Env: spec.env ?? ['PATH=/usr/local/bin:/usr/bin:/bin'],
      User: spec.user,
    },
    rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layer)}`] },
    history: [{ created_by: 'kubeception e2e/testbed/image-archive.ts' }],
  });
  const configName = `${sha256(config)}.json`;
  const manifest = JSON.stringify([{ Config: configName, RepoTags: [spec.ref], Layers: ['layer.tar'] }]);
  return tar([
    { path: 'layer.tar', type: 'file', mode: 0o644, content: layer },
    { path: configName, type: 'file', mode: 0o644, content: Buffer.from(config) },
    { path: 'manifest.json', type: 'file', mode: 0o644, content: Buffer.from(manifest) },
  ]);
}
