// Helpers for e2e tests that run their own throwaway Kubernetes components (etcd, kube-apiserver, ...)
// next to the test bed: free loopback ports, Secrets written out as mounted files, and processes that
// are stopped by their own pids.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ISecret } from 'kubernetes-models/v1/Secret';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Writes every Secret's keys as files under dir/<secret name>/, as a pod would see them mounted. */
export function mountSecrets(dir: string, secrets: readonly ISecret[]): (secret: string, key: string) => string {
  for (const secret of secrets) {
    const folder = join(dir, secret.metadata!.name!);
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    for (const [key, value] of Object.entries(secret.data ?? {})) writeFileSync(join(folder, key), Buffer.from(value, 'base64'), { mode: 0o600 });
  }
  return (secret, key) => join(dir, secret, key);
}

export interface Daemon {
  name: string;
  child: ChildProcess;
  logPath: string;
}

export function startDaemon(name: string, command: string, args: string[], logDir: string): Daemon {
  const logPath = join(logDir, `${name}.log`);
  const log = openSync(logPath, 'a');
  const child = spawn(command, args, { stdio: ['ignore', log, log] });
  return { name, child, logPath };
}

/** Stops the daemons a test started, by their own pids: SIGTERM, then SIGKILL after 10 s. */
export async function stopDaemons(daemons: Daemon[]): Promise<void> {
  await Promise.all(
    daemons.map(async ({ child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      if ((await Promise.race([exited, sleep(10_000).then(() => 'timeout')])) === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    }),
  );
}

/** The last lines of a log file, for failure messages. */
export function tail(path: string, lines = 30): string {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n') : '';
}
