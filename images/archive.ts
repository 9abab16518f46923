// Container images without a registry or a Docker engine: a docker-archive tarball (manifest.json, the
// image config, one tar per layer) written from files in memory, which `ctr images import` loads into
// containerd. Used by the test bed's images and by the product images (images/product.ts).
//
// Pure and deterministic: entries are sorted, mtimes are 0, owners are uid/gid 0, and the config carries
// no creation time, so equal inputs give byte-equal layers and an equal image ID. Paths longer than the
// 100 bytes of a ustar name are split into ustar's prefix and name fields, or, when no split fits, carried
// in a PAX extended header (node_modules has such paths).
import { createHash } from 'node:crypto';

export interface LayerEntry {
  path: string; // inside the image, without a leading slash
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  content?: Buffer;
  linkTarget?: string;
}

export interface Layer {
  /** What the layer holds: recorded in the image history (`created_by`) and shown in progress lines. */
  comment: string;
  entries: LayerEntry[];
}

export interface ImageSpec {
  /** Full reference, e.g. registry.k8s.io/pause:3.10.2 */
  ref: string;
  /** The layers, bottom first. */
  layers?: Layer[];
  /** Shorthand for a one-layer image (give either this or `layers`). */
  entries?: LayerEntry[];
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  user?: string;
  workingDir?: string;
  labels?: Record<string, string>;
}

const BLOCK = 512;
const NAME_BYTES = 100;
const PREFIX_BYTES = 155;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** Splits a path into ustar's prefix (<= 155 bytes) and name (<= 100 bytes) at a slash, if one fits. */
export function ustarSplit(path: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(path) <= NAME_BYTES) return { prefix: '', name: path };
  // The name part may end with the slash of a folder entry; the split slash itself is dropped.
  for (let i = path.indexOf('/'); i > 0 && i < path.length - 1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= PREFIX_BYTES && Buffer.byteLength(name) <= NAME_BYTES) return { prefix, name };
  }
  return undefined;
}

function header(fields: { name: string; prefix?: string; size: number; mode: number; typeflag: string; linkname?: string }): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(fields.name, 0, NAME_BYTES, 'utf8');
  h.write(octal(fields.mode, 8), 100);
  h.write(octal(0, 8), 108); // uid
  h.write(octal(0, 8), 116); // gid
  h.write(octal(fields.size, 12), 124);
  h.write(octal(0, 12), 136); // mtime: fixed, so equal inputs give equal layers
  h.write('        ', 148); // the checksum field counts as spaces while summing
  h.write(fields.typeflag, 156);
  h.write(fields.linkname ?? '', 157, NAME_BYTES, 'utf8');
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.write(fields.prefix ?? '', 345, PREFIX_BYTES, 'utf8');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + ' ', 148);
  return h;
}

/** One PAX record: "<length> <key>=<value>\n", where the length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length++;
  return `${length}${body}`;
}

function pad(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** The header blocks of one entry: a PAX header first when the path or link target does not fit ustar. */
function entryHeaders(path: string, size: number, mode: number, typeflag: string, linkname = ''): Buffer[] {
  const split = ustarSplit(path);
  const longLink = Buffer.byteLength(linkname) > NAME_BYTES;
  if (split && !longLink) return [header({ ...split, size, mode, typeflag, linkname })];
  const records = (split ? '' : paxRecord('path', path)) + (longLink ? paxRecord('linkpath', linkname) : '');
  const pax = Buffer.from(records);
  const base = path.replace(/\/$/, '').split('/').pop() ?? '';
  const paxName = `PaxHeaders/${base}`.slice(0, NAME_BYTES);
  const fallback = split ?? { prefix: '', name: Buffer.from(path).subarray(0, NAME_BYTES).toString('utf8').replace(/\uFFFD$/, '') };
  return [
    header({ name: paxName, size: pax.length, mode: 0o644, typeflag: 'x' }),
    pax,
    pad(pax.length),
    header({ ...fallback, size, mode, typeflag, linkname: longLink ? '' : linkname }),
  ];
}

/** A tar archive of the given entries, in the order given (ustar, PAX headers where needed). */
export function tar(entries: LayerEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.type === 'dir') {
      parts.push(...entryHeaders(e.path.endsWith('/') ? e.path : `${e.path}/`, 0, e.mode, '5'));
    } else if (e.type === 'symlink') {
      parts.push(...entryHeaders(e.path, 0, e.mode, '2', e.linkTarget ?? ''));
    } else {
      const content = e.content ?? Buffer.alloc(0);
      parts.push(...entryHeaders(e.path, content.length, e.mode, '0'), content, pad(content.length));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

/** An entry read back from a tar archive. */
export interface TarEntry {
  path: string; // without a trailing slash for folders
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  content: Buffer;
  linkTarget: string;
}

function field(h: Buffer, start: number, length: number): string {
  const raw = h.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString('utf8');
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = Number(data.subarray(at, space).toString('ascii'));
    if (!Number.isInteger(length) || length <= 0) throw new Error(`bad PAX record at byte ${at}`);
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    out[record.slice(0, eq)] = record.slice(eq + 1);
    at += length;
  }
  return out;
}

/** Reads a tar archive (ustar with prefix, PAX `path`/`linkpath`): for tests and for checking images. */
export function readTar(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let pax: Record<string, string> = {};
  for (let at = 0; at + BLOCK <= archive.length; ) {
    const h = archive.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== parseInt(field(h, 148, 8).trim(), 8)) throw new Error(`tar header checksum mismatch at byte ${at}`);
    const size = parseInt(field(h, 124, 12) || '0', 8);
    const typeflag = field(h, 156, 1) || '0';
    const content = archive.subarray(at + BLOCK, at + BLOCK + size);
    at += BLOCK + size + pad(size).length;
    if (typeflag === 'x') {
      pax = parsePax(content);
      continue;
    }
    if (typeflag === 'g') continue;
    const prefix = field(h, 345, PREFIX_BYTES);
    const name = field(h, 0, NAME_BYTES);
    const path = (pax.path ?? (prefix ? `${prefix}/${name}` : name)).replace(/\/$/, '');
    const type = typeflag === '0' ? 'file' : typeflag === '5' ? 'dir' : typeflag === '2' ? 'symlink' : 'other';
    entries.push({
      path,
      type,
      mode: parseInt(field(h, 100, 8), 8),
      uid: parseInt(field(h, 108, 8), 8),
      gid: parseInt(field(h, 116, 8), 8),
      mtime: parseInt(field(h, 136, 12), 8),
      content,
      linkTarget: pax.linkpath ?? field(h, 157, NAME_BYTES),
    });
    pax = {};
  }
  return entries;
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

/** Byte order of UTF-8 paths (not locale order): the same on every machine. */
const byPath = (a: LayerEntry, b: LayerEntry) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path));

/**
 * A layer's tar: the entries with their parent folders, sorted by path (a parent sorts before its children:
 * a prefix sorts first). A path given twice is a mistake of the caller and is refused.
 */
export function layerTar(entries: LayerEntry[]): Buffer {
  const normalized = entries.map((e) => ({ ...e, path: e.path.replace(/^\/+/, '').replace(/\/$/, '') }));
  const sorted = withParents(normalized).sort(byPath);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.path === sorted[i - 1]!.path) throw new Error(`a layer holds ${sorted[i]!.path} twice`);
  }
  return tar(sorted);
}

export interface BuiltLayer {
  comment: string;
  /** sha256:<hex> of the uncompressed layer tar (the config's diff_id). */
  diffId: string;
  size: number;
}

export interface BuiltImage {
  ref: string;
  /** sha256:<hex> of the config: what `ctr images ls` and `crictl images` call the image ID. */
  imageId: string;
  layers: BuiltLayer[];
  /** The docker-archive tarball. */
  archive: Buffer;
}

/**
 * Layer tars already written, by layer object: images built from the same Layer objects (the product
 * images share their base and dependencies) write each once. The layers must not change meanwhile.
 */
export type LayerCache = WeakMap<Layer, Buffer>;

/** Builds a docker-archive of the image; `onLayer` hears of each layer as it is written (progress). */
export function buildImage(spec: ImageSpec, onLayer?: (layer: BuiltLayer, index: number, total: number) => void, cache?: LayerCache): BuiltImage {
  if ((spec.layers === undefined) === (spec.entries === undefined)) throw new Error(`image ${spec.ref}: give either layers or entries`);
  const layers = spec.layers ?? [{ comment: 'kubeception images/archive.ts', entries: spec.entries! }];
  const tars: Buffer[] = [];
  const built: BuiltLayer[] = [];
  for (const [index, layer] of layers.entries()) {
    const data = cache?.get(layer) ?? layerTar(layer.entries);
    cache?.set(layer, data);
    const info = { comment: layer.comment, diffId: `sha256:${sha256(data)}`, size: data.length };
    tars.push(data);
    built.push(info);
    onLayer?.(info, index, layers.length);
  }
  const labels = spec.labels && Object.fromEntries(Object.entries(spec.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: {
      Entrypoint: spec.entrypoint,
      Cmd: spec.cmd,
      Env: spec.env ?? ['PATH=/usr/local/bin:/usr/bin:/bin'],
      User: spec.user,
      WorkingDir: spec.workingDir,
      Labels: labels,
    },
    rootfs: { type: 'layers', diff_ids: built.map((l) => l.diffId) },
    history: built.map((l) => ({ created_by: l.comment })),
  });
  const configHex = sha256(config);
  // Layers are named by digest: two images that share a layer name it alike.
  const layerNames = built.map((l) => `${l.diffId.slice('sha256:'.length)}.tar`);
  const manifest = JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [spec.ref], Layers: layerNames }]);
  const layerFiles = new Map(tars.map((content, i): [string, LayerEntry] => [layerNames[i]!, { path: layerNames[i]!, type: 'file', mode: 0o644, content }]));
  const archive = tar([
    ...layerFiles.values(),
    { path: `${configHex}.json`, type: 'file', mode: 0o644, content: Buffer.from(config) },
    { path: 'manifest.json', type: 'file', mode: 0o644, content: Buffer.from(manifest) },
  ]);
  return { ref: spec.ref, imageId: `sha256:${configHex}`, layers: built, archive };
}

/** The docker-archive tarball of an image. */
export function dockerArchive(spec: ImageSpec): Buffer {
  return buildImage(spec).archive;
}
