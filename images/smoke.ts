// Proves an image starts: unpacks its layers with GNU tar into a temporary root, as a container runtime
// would, and runs the image's entrypoint with --help in a chroot as the image's user, with the image's
// environment and nothing of this machine. A missing shared library, module or file fails it. Needs root.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readTar } from './archive.ts';

const run = promisify(execFile);

async function untar(data: Buffer, into: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile('tar', ['-x', '-C', into], (error) => (error ? reject(error) : resolve()));
    child.stdin!.end(data);
  });
}

export interface SmokeResult {
  ref: string;
  /** What `<entrypoint> --help` printed (stdout and stderr). */
  output: string;
  ms: number;
}

/** Runs `<entrypoint> --help` of a docker-archive's image from its own files; throws with the output when it fails. */
export async function smokeTest(archive: Buffer): Promise<SmokeResult> {
  if (process.getuid?.() !== 0) throw new Error('the smoke test needs root (chroot)');
  const outer = new Map(readTar(archive).map((e) => [e.path, e.content]));
  const [manifest] = JSON.parse(outer.get('manifest.json')!.toString()) as { Config: string; RepoTags: string[]; Layers: string[] }[];
  const { config } = JSON.parse(outer.get(manifest!.Config)!.toString()) as { config: { Entrypoint: string[]; Env?: string[]; User?: string } };
  const root = await mkdtemp(join(tmpdir(), 'image-smoke-'));
  try {
    await chmod(root, 0o755); // mkdtemp makes it 0700: the image's user could not enter its own root
    for (const layer of manifest!.Layers) await untar(outer.get(layer)!, root);
    const env = Object.fromEntries((config.Env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const user = config.User ? [`--userspec=${config.User}`] : [];
    const started = Date.now();
    const { stdout, stderr } = await run('/usr/sbin/chroot', [...user, root, ...config.Entrypoint, '--help'], { env, timeout: 60_000 }).catch((error: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(`${manifest!.RepoTags[0]}: ${config.Entrypoint.join(' ')} --help failed: ${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    });
    return { ref: manifest!.RepoTags[0]!, output: `${stdout}${stderr}`, ms: Date.now() - started };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
