// The API's serving certificate from two files, and its reload when they change. In a pod the files are
// a mounted Secret, which the kubelet replaces in place (an atomic symlink swap) when cert-manager or an
// operator of the install renews it: the server must pick the new pair up without a restart, or every
// renewal would need a rollout. The files are re-read on a timer and compared byte for byte, which also
// works where file-change notifications do not (symlink swaps, network file systems).
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { PeriodicTasks } from './periodic-tasks.ts';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

/** The kubelet updates a mounted Secret within about a minute; a few seconds more here do not matter. */
export const DEFAULT_TLS_RELOAD_INTERVAL_MS = 10_000;

/**
 * Reads the pair and checks that the key belongs to the certificate (createSecureContext refuses a pair
 * that does not match), so a bad file is a clear error naming the files instead of a failing handshake.
 */
export async function readTlsMaterial(files: TlsFiles): Promise<TlsMaterial> {
  const read = async (path: string, what: string) => {
    try {
      return await readFile(path);
    } catch (error) {
      throw new Error(`${what} ${path}: ${(error as Error).message}`, { cause: error });
    }
  };
  // One after the other, so that with both missing the message names the certificate, every time.
  const cert = await read(files.certFile, '--tls-cert-file');
  const key = await read(files.keyFile, '--tls-key-file');
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new Error(`--tls-cert-file ${files.certFile} and --tls-key-file ${files.keyFile} are not a usable certificate and key: ${(error as Error).message}`, { cause: error });
  }
  return { cert, key };
}

export function sameMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  return a.cert.equals(b.cert) && a.key.equals(b.key);
}

export interface TlsReloaderOptions {
  files: TlsFiles;
  /** What is served now: a change is measured against it. */
  current: TlsMaterial;
  /** Installs a new pair (node:https Server.setSecureContext). */
  apply: (material: TlsMaterial) => void;
  intervalMs?: number;
  onReload?: (files: TlsFiles) => void;
  /** A pair that cannot be read or does not match (e.g. caught between two writes): the old one stays. */
  onError?: (error: Error) => void;
}

/** Polls the files; a changed, valid pair is applied. stop() ends it. */
export class TlsReloader {
  readonly #options: TlsReloaderOptions;
  #current: TlsMaterial;
  readonly #intervalMs: number;
  /** The API's periodic-task loop, with one task: look at the files. */
  readonly #ticker: PeriodicTasks;

  constructor(options: TlsReloaderOptions) {
    this.#options = options;
    this.#current = options.current;
    this.#intervalMs = options.intervalMs ?? DEFAULT_TLS_RELOAD_INTERVAL_MS;
    this.#ticker = new PeriodicTasks({ intervalMs: this.#intervalMs, tasks: [{ name: 'reload-tls', run: () => this.check() }] });
  }

  /** The first look comes one interval after the start: the pair just read is what is served. */
  start(): void {
    this.#ticker.start(this.#intervalMs);
  }

  /** One look at the files; true when a new pair was applied. */
  async check(): Promise<boolean> {
    let next: TlsMaterial;
    try {
      next = await readTlsMaterial(this.#options.files);
    } catch (error) {
      this.#options.onError?.(error as Error);
      return false;
    }
    if (sameMaterial(next, this.#current)) return false;
    try {
      this.#options.apply(next);
    } catch (error) {
      this.#options.onError?.(error as Error);
      return false;
    }
    this.#current = next;
    this.#options.onReload?.(this.#options.files);
    return true;
  }

  stop(): Promise<void> {
    return this.#ticker.stop();
  }
}

/** The part of node:https's Server (and tls.Server) a reload needs. */
export interface SecureContextTarget {
  setSecureContext(options: { cert: Buffer; key: Buffer }): void;
}

interface ReloadLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** A reloader that installs a changed pair into `server` and logs what it did: what server.ts runs. */
export function reloadServerTls(server: SecureContextTarget, files: TlsFiles, current: TlsMaterial, log: ReloadLog, intervalMs?: number): TlsReloader {
  return new TlsReloader({
    files,
    current,
    apply: (material) => server.setSecureContext({ cert: material.cert, key: material.key }),
    ...(intervalMs === undefined ? {} : { intervalMs }),
    onReload: (reloaded) => log.info({ ...reloaded }, 'TLS certificate reloaded'),
    onError: (error) => log.warn({ err: error.message }, 'TLS files not reloaded; still serving the previous certificate'),
  });
}
