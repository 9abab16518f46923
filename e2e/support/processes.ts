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

/**
 * The flags every throwaway kube-apiserver of the e2e tests shares: loopback only, etcd over TLS, serving
 * and client certificates from the tenant PKI files (`certs(key)` -> path of a `<name>-apiserver-certs` key).
 */
export function loopbackApiserverArgs(o: { etcdServers: string[]; port: number; dir: string; certs: (key: string) => string }): string[] {
  return [
    `--etcd-servers=${o.etcdServers.join(',')}`,
    `--etcd-cafile=${o.certs('etcd-ca.crt')}`,
    `--etcd-certfile=${o.certs('apiserver-etcd-client.crt')}`,
    `--etcd-keyfile=${o.certs('apiserver-etcd-client.key')}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${o.port}`,
    `--cert-dir=${join(o.dir, 'apiserver-cert-dir')}`,
    `--tls-cert-file=${o.certs('apiserver.crt')}`,
    `--tls-private-key-file=${o.certs('apiserver.key')}`,
    `--client-ca-file=${o.certs('ca.crt')}`,
    `--kubelet-client-certificate=${o.certs('apiserver-kubelet-client.crt')}`,
    `--kubelet-client-key=${o.certs('apiserver-kubelet-client.key')}`,
  ];
}
