// Teardown steps every node of the test bed needs (the host node and each worker machine): kill the
// containers a containerd still runs, and unmount what is left under the node's folders.
import { readFileSync } from 'node:fs';
import { run, tryRun } from './exec.ts';

/** SIGKILLs and deletes every task of the containerd at `socket` (pods the kubelet could not stop). */
export async function killContainers(socket: string): Promise<void> {
  const ctr = ['--address', socket, '-n', 'k8s.io'];
  const { stdout } = await run('ctr', [...ctr, 'tasks', 'ls', '-q']).catch(() => ({ stdout: '' }));
  for (const id of stdout.split('\n').filter(Boolean)) {
    await tryRun('ctr', [...ctr, 'tasks', 'kill', '-a', '-s', 'SIGKILL', id]);
    await tryRun('ctr', [...ctr, 'tasks', 'delete', '-f', id]);
  }
}

/** Mount points of this mount namespace that start with one of `prefixes`, deepest first. */
export function mountsUnder(prefixes: readonly string[]): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '');
  return [...new Set(points.filter((p) => prefixes.some((x) => p.startsWith(x))))].sort((a, b) => b.length - a.length);
}

/** Unmounts each point, lazily when it is busy. */
export async function unmountAll(points: readonly string[]): Promise<void> {
  for (const point of points) if (!(await tryRun('umount', [point]))) await tryRun('umount', ['-l', point]);
}
