// The base layer of the product images, distroless-style: the Node 24 binary of the npm package `node`
// at /usr/local/bin/node, the shared libraries it links to (from this machine, as `ldd` lists them), the
// account files of a non-root user 65532 (`nonroot`), and /tmp. No shell, no package manager.
import { execFile } from 'node:child_process';
import { readFile, realpath } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Layer, LayerEntry } from './archive.ts';

export const NONROOT_UID = 65532;

/** A file the dynamic loader opens, under the path it asks for, with the contents of the real file. */
export interface SharedLibrary {
  path: string; // absolute, as in ldd's output
  content: Buffer;
}

/**
 * The paths the loader opens, from `ldd` output: `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)`
 * lines and the loader's own line (`/lib64/ld-linux-x86-64.so.2 (0x...)`); the vDSO has no file.
 */
export function parseLdd(output: string): string[] {
  const paths: string[] = [];
  for (const line of output.split('\n')) {
    if (/not found/.test(line)) throw new Error(`ldd: a library is missing on this machine: ${line.trim()}`);
    const linked = /=>\s+(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)\s+\(0x/.exec(line)?.[1];
    if (linked && !paths.includes(linked)) paths.push(linked);
  }
  return paths;
}

const passwd = `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${NONROOT_UID}:${NONROOT_UID}:nonroot:/nonexistent:/sbin/nologin\n`;
const group = `root:x:0:\nnonroot:x:${NONROOT_UID}:\n`;
// glibc resolves host names through /etc/hosts, then DNS (kubelet writes both files into the pod).
const nsswitch = 'hosts: files dns\n';

const text = (path: string, content: string): LayerEntry => ({ path, type: 'file', mode: 0o644, content: Buffer.from(content) });

/** The base layer: Node at /usr/local/bin/node, each library as a regular file at the path the loader asks for. */
export function baseLayer(node: { version: string; binary: Buffer }, libraries: SharedLibrary[]): Layer {
  return {
    comment: `base: node ${node.version} at /usr/local/bin/node, ${libraries.length} shared libraries, user ${NONROOT_UID}, /tmp`,
    entries: [
      { path: 'usr/local/bin/node', type: 'file', mode: 0o755, content: node.binary },
      ...libraries.map((lib): LayerEntry => ({ path: lib.path.replace(/^\/+/, ''), type: 'file', mode: 0o755, content: lib.content })),
      text('etc/passwd', passwd),
      text('etc/group', group),
      text('etc/nsswitch.conf', nsswitch),
      { path: 'tmp', type: 'dir', mode: 0o1777 },
    ],
  };
}

/** Reads the Node binary (through the npm package's symlinks) and the libraries `ldd` says it loads. */
export async function readBaseInputs(nodePath: string): Promise<{ node: { version: string; binary: Buffer }; libraries: SharedLibrary[] }> {
  const real = await realpath(nodePath);
  const run = promisify(execFile);
  const [{ stdout: version }, { stdout: ldd }] = await Promise.all([run(real, ['--version']), run('ldd', [real])]);
  const libraries = await Promise.all(parseLdd(ldd).map(async (path) => ({ path, content: await readFile(await realpath(path)) })));
  return { node: { version: version.trim(), binary: await readFile(real) }, libraries };
}
