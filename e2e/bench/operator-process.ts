// The operator as a separate process (`node operator/main.ts`), the way it runs in a pod: configured by
// environment variables, logging pino JSON lines on stdout. Used where the process itself matters: the
// benchmark reads its memory, the crash test kills it with SIGKILL at a random point.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const mainFile = fileURLToPath(new URL('../../operator/main.ts', import.meta.url));

export interface OperatorProcessOptions {
  kubeconfig: string;
  /** WATCH_NAMESPACE: never run a test operator on every namespace of the shared test bed. */
  namespace: string;
  leaseNamespace: string;
  /** POD_NAME, the leader-election identity: a restarted container of the same pod keeps it. */
  identity?: string;
  /** METRICS_PORT, default 0 (any free port; the port is read back from the 'operator started' log). */
  metricsPort?: number;
  concurrency?: number;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  logLevel?: string;
}

export interface LogLine {
  level?: number;
  msg?: string;
  [field: string]: unknown;
}

export interface MemoryFigures {
  /** Peak resident set size (VmHWM), bytes. */
  rssPeakBytes: number;
  /** Current resident set size (VmRSS), bytes. */
  rssBytes: number;
}

export class OperatorProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code or signal once the process is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last log lines (JSON parsed where possible), for failure messages. */
  readonly recent: string[] = [];
  readonly #waiters: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  #metricsPort: number | undefined;

  constructor(options: OperatorProcessOptions) {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KUBECONFIG: options.kubeconfig,
      WATCH_NAMESPACE: options.namespace,
      LEASE_NAMESPACE: options.leaseNamespace,
      METRICS_PORT: String(options.metricsPort ?? 0),
      IMAGE_PULL_POLICY: options.imagePullPolicy ?? 'Never',
      LOG_LEVEL: options.logLevel ?? 'info',
      ...(options.concurrency !== undefined ? { CONCURRENCY: String(options.concurrency) } : {}),
      ...(options.identity !== undefined ? { POD_NAME: options.identity } : {}),
    };
    // process.execPath is the Node 24 that runs us (the system node is too old for client-node 2.x).
    this.child = spawn(process.execPath, [mainFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        this.#line(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
      }
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The port of /metrics, once the process logged 'operator started'. */
  get metricsPort(): number | undefined {
    return this.#metricsPort;
  }

  /** Resolves with the first log line (from now on) that `match` accepts; rejects on exit or timeout. */
  waitForLog(what: string, match: (line: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`operator process: no log line "${what}" within ${timeoutMs} ms; last lines:\n${this.recent.join('\n')}`)), timeoutMs);
      timer.unref();
      const waiter = {
        match,
        resolve: (line: LogLine) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      this.#waiters.push(waiter);
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`operator process exited (${code ?? signal}) before "${what}"; last lines:\n${this.recent.join('\n')}`));
      });
    });
  }

  /** Waits until the controller's caches are synced and it reconciles (it leads). */
  reconciling(timeoutMs = 60_000): Promise<LogLine> {
    return this.waitForLog('caches synced, reconciling', (l) => l.msg === 'caches synced, reconciling', timeoutMs);
  }

  /** Memory of the process from /proc (Linux). */
  async memory(): Promise<MemoryFigures> {
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
    const kib = (field: string) => {
      const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
      if (!m) throw new Error(`/proc/${this.pid}/status has no ${field}`);
      return Number(m[1]) * 1024;
    };
    return { rssPeakBytes: kib('VmHWM'), rssBytes: kib('VmRSS') };
  }

  /** The operator's Prometheus metrics as name{labels} -> value. */
  async metrics(): Promise<Map<string, number>> {
    if (this.#metricsPort === undefined) throw new Error('the operator has not reported its metrics port yet');
    const text = await (await fetch(`http://127.0.0.1:${this.#metricsPort}/metrics`)).text();
    const out = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (line.startsWith('#') || !line.trim()) continue;
      const at = line.lastIndexOf(' ');
      out.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
    return out;
  }

  /** SIGKILL: a crash, nothing is cleaned up (the Lease stays held until it expires). */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM: the operator releases its Lease and exits; SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  #line(text: string): void {
    this.recent.push(text.length > 2000 ? `${text.slice(0, 2000)}...` : text);
    if (this.recent.length > 40) this.recent.shift();
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    if (line.msg === 'operator started' && typeof line.metricsPort === 'number') this.#metricsPort = line.metricsPort;
    for (const waiter of [...this.#waiters]) {
      if (waiter.match(line)) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  }
}
