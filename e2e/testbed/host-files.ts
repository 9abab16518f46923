// Copies dynamically linked programs of this machine (Debian's iptables) into an image layer together
// with the shared libraries they load, the way a distroless "iptables" base image is made.
import { readFile, readdir, readlink, realpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { run } from './exec.ts';
import type { LayerEntry } from '../../images/archive.ts';

async function sharedLibraries(file: string): Promise<string[]> {
  const { stdout } = await run('ldd', [file]).catch(() => ({ stdout: '' }));
  const libs = [...stdout.matchAll(/=> (\/\S+)/g)].map((m) => m[1]!);
  const loader = /^\s*(\/\S*ld-linux\S*)/m.exec(stdout)?.[1];
  return loader ? [...libs, loader] : libs;
}

/**
 * Adds `file` at its path with the folders resolved (merged /usr), following symlinks: each link is kept
 * as a link (a library's soname points to its versioned file) and its target is added too.
 */
async function addResolved(file: string, out: Map<string, LayerEntry>): Promise<string> {
  let current = join(await realpath(dirname(file)), basename(file));
  for (;;) {
    const target = await readlink(current).catch(() => undefined);
    if (target === undefined) break;
    out.set(current, { path: current.slice(1), type: 'symlink', mode: 0o777, linkTarget: target });
    const next = target.startsWith('/') ? target : join(dirname(current), target);
    current = join(await realpath(dirname(next)), basename(next));
  }
  if (!out.has(current)) out.set(current, { path: current.slice(1), type: 'file', mode: 0o755, content: await readFile(current) });
  return current;
}

/** Layer entries for `files`, every file of `dirsOfPlugins`, the shared libraries they load, and merged-/usr links. */
export async function hostFilesLayer(files: string[], dirsOfPlugins: string[] = []): Promise<LayerEntry[]> {
  const out = new Map<string, LayerEntry>();
  const plugins: string[] = [];
  for (const dir of dirsOfPlugins) for (const f of await readdir(dir)) plugins.push(join(dir, f));
  const binaries: string[] = [];
  for (const file of [...files, ...plugins]) binaries.push(await addResolved(file, out));
  for (const binary of binaries) for (const lib of await sharedLibraries(binary)) await addResolved(lib, out);
  for (const [link, target] of [['lib', 'usr/lib'], ['lib64', 'usr/lib64'], ['bin', 'usr/bin'], ['sbin', 'usr/sbin']]) {
    out.set(`/${link}`, { path: link!, type: 'symlink', mode: 0o777, linkTarget: target! });
  }
  return [...out.values()];
}

/** iptables (nft backend) under the names kube-proxy calls. */
export async function iptablesLayer(): Promise<LayerEntry[]> {
  const multi = '/usr/sbin/xtables-nft-multi';
  const layer = await hostFilesLayer([multi], ['/usr/lib/x86_64-linux-gnu/xtables']);
  for (const name of ['iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore']) {
    layer.push({ path: `usr/sbin/${name}`, type: 'symlink', mode: 0o777, linkTarget: 'xtables-nft-multi' });
  }
  return layer;
}
