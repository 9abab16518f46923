// When each API key was last used: for people deciding which keys to revoke (`keys-cli list`). Coarse on
// purpose: at most one write per key per interval and replica, in the background, so that recording it
// never slows a request down or fails one, and the host sees at most (keys x replicas) writes a minute.
// The writes go to an object of their own (host/key-usage-store.ts), never to the key store: that one is
// written by keys-cli alone, and the API may only read it.

export interface KeyUsageRecorder {
  /** The key authenticated a request at `at`. Never throws, never waits. */
  used(keyId: string, at: Date): void;
}

export interface KeyUsageWriter {
  write(keyId: string, at: Date): Promise<void>;
}

/** Last use is kept to the minute: enough to tell a live key from a forgotten one. */
export const KEY_USAGE_INTERVAL_MS = 60_000;

export interface CoarseKeyUsageOptions {
  writer: KeyUsageWriter;
  intervalMs?: number;
  /** A failed write: logged by the caller; the next one comes an interval later. */
  onError?: (error: Error, keyId: string) => void;
}

/** Passes a key's use on to the writer at most once per interval; writes run in the background. */
export class CoarseKeyUsage implements KeyUsageRecorder {
  readonly #options: CoarseKeyUsageOptions;
  readonly #intervalMs: number;
  /** keyId -> when its last write started (ms). One entry per key that authenticated: bounded by the key store. */
  readonly #written = new Map<string, number>();
  readonly #pending = new Set<Promise<void>>();

  constructor(options: CoarseKeyUsageOptions) {
    this.#options = options;
    this.#intervalMs = options.intervalMs ?? KEY_USAGE_INTERVAL_MS;
  }

  used(keyId: string, at: Date): void {
    const last = this.#written.get(keyId);
    if (last !== undefined && at.getTime() - last < this.#intervalMs) return;
    this.#written.set(keyId, at.getTime());
    const write = this.#options.writer
      .write(keyId, at)
      .catch((error: unknown) => this.#options.onError?.(error as Error, keyId))
      .finally(() => this.#pending.delete(write));
    this.#pending.add(write);
  }

  /** Waits for the writes under way (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.all([...this.#pending]);
  }
}

/** Last uses held in memory: unit tests. */
export class MemoryKeyUsage implements KeyUsageWriter {
  readonly lastUsed = new Map<string, Date>();
  writes = 0;

  async write(keyId: string, at: Date): Promise<void> {
    this.writes++;
    this.lastUsed.set(keyId, at);
  }
}
