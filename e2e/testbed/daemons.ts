// Long-running processes of the test bed (etcd, kube-apiserver, containerd, kubelet, ...): started
// detached so they outlive the command that started them, tracked by pid files, stopped by name.
import { spawn } from 'node:child_process';
import { openSync, closeSync, existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { log } from './log.ts';

export interface DaemonSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export class DaemonSet {
  private readonly pidDir: string;
  private readonly logDir: string;

  constructor(runDir: string, logDir: string) {
    this.pidDir = join(runDir, 'pids');
    this.logDir = logDir;
  }

  logFile(name: string): string {
    return join(this.logDir, `${name}.log`);
  }

  /** The pid of a running daemon, or undefined. */
  pid(name: string): number | undefined {
    const file = join(this.pidDir, `${name}.pid`);
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').trim());
    return pid > 0 && isAlive(pid) ? pid : undefined;
  }

  async start(spec: DaemonSpec): Promise<number> {
    const running = this.pid(spec.name);
    if (running) return running;
    await mkdir(this.pidDir, { recursive: true });
    await mkdir(this.logDir, { recursive: true });
    const out = openSync(this.logFile(spec.name), 'a');
    const child = spawn(spec.command, spec.args, {
      detached: true,
      stdio: ['ignore', out, out],
      env: spec.env ?? process.env,
      cwd: spec.cwd,
    });
    closeSync(out);
    const pid = child.pid;
    if (!pid) throw new Error(`could not start ${spec.name} (${spec.command})`);
    child.unref();
    await writeFile(join(this.pidDir, `${spec.name}.pid`), `${pid}\n`);
    log.info({ daemon: spec.name, pid, log: this.logFile(spec.name) }, 'started');
    return pid;
  }

  /** SIGTERM, then SIGKILL after the grace period. */
  async stop(name: string, graceMs = 10_000): Promise<void> {
    const pid = this.pid(name);
    await rm(join(this.pidDir, `${name}.pid`), { force: true });
    if (!pid) return;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
    if (isAlive(pid)) {
      log.warn({ daemon: name, pid }, 'did not stop on SIGTERM, killing');
      process.kill(pid, 'SIGKILL');
    }
    log.info({ daemon: name, pid }, 'stopped');
  }

  /**
   * Starts a daemon and waits until `ready`; gives up at once, with the daemon's log, when it exits, and
   * logs the last lines of its log when it does not become ready in time.
   */
  async startAndWait(spec: DaemonSpec, ready: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const started = Date.now();
    await this.start(spec);
    try {
      await waitFor(`${spec.name} to be ready`, async () => {
        if (!this.pid(spec.name)) throw new GiveUp(`${spec.name} exited:\n${await this.tail(spec.name)}`);
        return ready();
      }, timeoutMs);
    } catch (err) {
      log.error({ daemon: spec.name, log: await this.tail(spec.name, 20) }, 'did not become ready');
      throw err;
    }
    log.info({ daemon: spec.name, ms: Date.now() - started }, 'ready');
  }

  async names(): Promise<string[]> {
    if (!existsSync(this.pidDir)) return [];
    return (await readdir(this.pidDir)).filter((f) => f.endsWith('.pid')).map((f) => f.slice(0, -4));
  }

  async tail(name: string, lines = 30): Promise<string> {
    const text = await readFile(this.logFile(name), 'utf8').catch(() => '');
    return text.split('\n').slice(-lines).join('\n');
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // a zombie still answers signal 0; it is dead for our purposes
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Thrown by a `waitFor` check when waiting longer cannot help (the process died). */
export class GiveUp extends Error {}

/** Polls `check` until it returns true; throws with `what` after the timeout, or at once on GiveUp. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      lastError = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}
