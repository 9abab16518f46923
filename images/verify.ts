// Checks a built image from its tarball alone: the file system its layers make, and whether every import
// of its programs resolves inside it (a relative import to a file of the image, a package import to a
// package under /app/node_modules). `npm run images` runs it on what it writes; the tests too.
import { posix } from 'node:path';
import { readTar, type TarEntry } from './archive.ts';
import { importClosure } from './imports.ts';

export interface ImageContents {
  config: { Entrypoint?: string[]; User?: string; WorkingDir?: string; Env?: string[]; Labels?: Record<string, string> };
  /** diff_ids, bottom first. */
  diffIds: string[];
  /** The file system the layers make, by path (no leading slash); a later layer's entry wins. */
  files: Map<string, TarEntry>;
}

/** Reads a docker-archive back: its config and the merged file system of its layers. */
export function readImage(archive: Buffer): ImageContents {
  const outer = new Map(readTar(archive).map((e) => [e.path, e.content]));
  const manifest = JSON.parse(outer.get('manifest.json')?.toString() ?? 'null') as { Config: string; Layers: string[] }[] | null;
  if (!manifest?.[0]) throw new Error('not a docker-archive: manifest.json is missing');
  const config = JSON.parse(outer.get(manifest[0].Config)!.toString()) as { config: ImageContents['config']; rootfs: { diff_ids: string[] } };
  const files = new Map<string, TarEntry>();
  for (const layer of manifest[0].Layers) {
    const data = outer.get(layer);
    if (!data) throw new Error(`the archive lacks layer ${layer}`);
    for (const entry of readTar(data)) files.set(entry.path, entry);
  }
  return { config: config.config, diffIds: config.rootfs.diff_ids, files };
}

/**
 * What is missing for `programs` (absolute paths in the image, e.g. /app/api/server.ts) to load: files
 * their relative imports name, and packages they import that /app/node_modules lacks. Empty when complete.
 */
export function missingImports(files: Map<string, TarEntry>, programs: string[]): string[] {
  const read = (path: string) => {
    const entry = files.get(path);
    return entry?.type === 'file' ? entry.content.toString('utf8') : undefined;
  };
  const problems: string[] = [];
  let packages: string[] = [];
  try {
    packages = importClosure(programs.map((p) => posix.normalize(p).replace(/^\//, '')), read).packages;
  } catch (error) {
    problems.push((error as Error).message);
  }
  for (const name of packages) {
    if (!files.has(`app/node_modules/${name}/package.json`)) problems.push(`package ${name} is imported but /app/node_modules/${name} is not in the image`);
  }
  return problems;
}
