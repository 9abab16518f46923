// A controller work queue with client-go's guarantees, so reconciles can run with concurrency > 1:
// - a key waiting in the queue is stored once, however often it is added;
// - a key being processed is never handed to a second worker; if it is added meanwhile it is processed
//   again after the current run ends (the later event is not lost);
// - failures are retried after max(per-key exponential backoff 5 ms..1000 s, overall token bucket
//   10/s burst 100), and a success forgets the key's failure count;
// - addAfter() schedules a key later (requeue-after), keeping only the earliest pending time per key.
import type { Logger } from 'pino';
import { PerKeyBackoff, TokenBucket } from '../../core/index.ts';

/** What a reconcile may ask for besides success or failure (a thrown error means failure). */
export interface ReconcileResult {
  /** Process the key again after this delay (resets its failure backoff, like controller-runtime). */
  requeueAfterMs?: number;
  /** Process the key again with rate-limited backoff, without counting it as an error. */
  requeue?: boolean;
}

/** The per-key work. `signal` is aborted when the queue shuts down without draining. */
export type Reconcile = (key: string, signal: AbortSignal) => Promise<ReconcileResult | void>;

export interface ProcessedInfo {
  key: string;
  durationMs: number;
  /** The error the reconcile threw, if it failed. */
  error?: unknown;
  /** Delay before the retry, when the key was re-queued by a failure or `requeue: true`. */
  retryInMs?: number;
}

export interface WorkQueueOptions {
  /** Name for logs and metrics. */
  name?: string;
  backoff?: PerKeyBackoff;
  bucket?: TokenBucket;
  logger?: Logger;
}

export interface RunOptions {
  /** Number of keys processed at the same time (default 4). */
  concurrency?: number;
  /** Called after every processed key, e.g. to record metrics. Exceptions in it are logged and ignored. */
  onProcessed?: (info: ProcessedInfo) => void;
}

export interface ShutDownOptions {
  /** true: process every key already queued before stopping; false: drop them. In-flight keys always finish. */
  drain?: boolean;
}

interface Delayed {
  readyAt: number;
  timer: NodeJS.Timeout;
}

export class WorkQueue {
  readonly name: string;
  readonly #backoff: PerKeyBackoff;
  readonly #bucket: TokenBucket;
  readonly #logger: Logger | undefined;

  // FIFO of keys ready to process; `#head` avoids O(n) shifts.
  #queue: string[] = [];
  #head = 0;
  /** Keys that need processing: queued, or re-added while processing. */
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #delayed = new Map<string, Delayed>();
  /** Workers blocked in get(). */
  #waiters: Array<(key: string | undefined) => void> = [];
  #shuttingDown = false;
  #draining = false;
  readonly #abort = new AbortController();
  #idleWaiters: Array<() => void> = [];
  #workers: Promise<void>[] = [];

  /** Counters for metrics. */
  adds = 0;
  retries = 0;

  constructor(options: WorkQueueOptions = {}) {
    this.name = options.name ?? 'default';
    this.#backoff = options.backoff ?? new PerKeyBackoff(5, 1_000_000);
    this.#bucket = options.bucket ?? new TokenBucket(10, 100);
    this.#logger = options.logger;
  }

  /** Keys waiting to be processed (the queue depth). */
  get length(): number {
    return this.#queue.length - this.#head;
  }

  /** Keys being processed right now. */
  get processingCount(): number {
    return this.#processing.size;
  }

  /** Keys scheduled for later by addAfter / addRateLimited. */
  get delayedCount(): number {
    return this.#delayed.size;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  isProcessing(key: string): boolean {
    return this.#processing.has(key);
  }

  add(key: string): void {
    assertKey(key);
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.adds += 1;
    this.#dirty.add(key);
    // A key being processed goes back into the queue when done() is called, not now.
    if (this.#processing.has(key)) return;
    this.#queue.push(key);
    this.#handOut();
  }

  /** Adds `key` after `delayMs`; if it is already scheduled earlier, the earlier time wins. */
  addAfter(key: string, delayMs: number): void {
    assertKey(key);
    if (!Number.isFinite(delayMs)) throw new RangeError(`delayMs must be a finite number, got ${delayMs}`);
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAt = performance.now() + delayMs;
    const existing = this.#delayed.get(key);
    if (existing !== undefined) {
      if (existing.readyAt <= readyAt) return;
      clearTimeout(existing.timer);
    }
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    // The queue alone must not keep the process alive.
    timer.unref();
    this.#delayed.set(key, { readyAt, timer });
  }

  /** Re-adds a failed key after max(its exponential backoff, the overall token bucket's wait). Returns the delay. */
  addRateLimited(key: string): number {
    assertKey(key);
    const delay = Math.max(this.#backoff.next(key), this.#bucket.reserve());
    this.retries += 1;
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the failure history of `key` (call after a successful reconcile). */
  forget(key: string): void {
    this.#backoff.forget(key);
  }

  /** How many times `key` has failed since it was last forgotten. */
  numRequeues(key: string): number {
    return this.#backoff.failures(key);
  }

  /**
   * Waits for the next key and marks it as processing; the caller must call done(key) afterwards.
   * Resolves undefined once the queue is shut down and has nothing left to hand out.
   */
  get(): Promise<string | undefined> {
    const key = this.#take();
    if (key !== undefined) return Promise.resolve(key);
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Marks `key` as no longer processing; if it was added meanwhile it is queued again. */
  done(key: string): void {
    if (!this.#processing.delete(key)) return;
    if (this.#dirty.has(key)) {
      // Re-added while processing: run it again, unless we are shutting down without draining.
      if (this.#shuttingDown && !this.#draining) {
        this.#dirty.delete(key);
      } else {
        this.#queue.push(key);
        this.#handOut();
      }
    }
    if (this.#processing.size === 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  /**
   * Starts `concurrency` workers that call `reconcile` for each key: success forgets the key's backoff,
   * failure re-adds it rate-limited, `requeueAfterMs` schedules it again. Resolves when all workers
   * have stopped after shutDown().
   */
  run(reconcile: Reconcile, options: RunOptions = {}): Promise<void> {
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`concurrency must be an integer >= 1, got ${concurrency}`);
    }
    const started = Array.from({ length: concurrency }, () => this.#worker(reconcile, options.onProcessed));
    this.#workers.push(...started);
    return Promise.all(started).then(() => undefined);
  }

  /**
   * Stops accepting keys and cancels delayed ones. With `drain`, workers first finish every queued key;
   * without, queued keys are dropped and reconciles see their signal aborted. Resolves when no key is
   * being processed any more and all workers started by run() have returned.
   */
  async shutDown(options: ShutDownOptions = {}): Promise<void> {
    this.#shuttingDown = true;
    this.#draining = options.drain === true;
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    if (!options.drain) {
      for (let i = this.#head; i < this.#queue.length; i++) this.#dirty.delete(this.#queue[i]!);
      this.#queue = [];
      this.#head = 0;
      this.#abort.abort(new Error(`work queue ${this.name} is shutting down`));
    }
    // Wake idle workers: with an empty queue they now get undefined and exit.
    this.#handOut();
    for (const resolve of this.#waiters.splice(0)) resolve(undefined);
    await Promise.all(this.#workers);
    while (this.#processing.size > 0) {
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    }
  }

  #take(): string | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const key = this.#queue[this.#head]!;
    this.#head += 1;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#dirty.delete(key);
    this.#processing.add(key);
    return key;
  }

  #handOut(): void {
    while (this.#waiters.length > 0 && this.length > 0) {
      const resolve = this.#waiters.shift()!;
      resolve(this.#take());
    }
  }

  async #worker(reconcile: Reconcile, onProcessed: RunOptions['onProcessed']): Promise<void> {
    for (;;) {
      const key = await this.get();
      if (key === undefined) return;
      const started = performance.now();
      const info: ProcessedInfo = { key, durationMs: 0 };
      try {
        const result = await reconcile(key, this.#abort.signal);
        if (result?.requeue) {
          info.retryInMs = this.addRateLimited(key);
        } else {
          this.forget(key);
          if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
        }
      } catch (error) {
        info.error = error;
        info.retryInMs = this.addRateLimited(key);
        if (this.#abort.signal.aborted) {
          // Aborted by shutDown(): not a failure of the reconcile, nothing will retry it in this process.
          this.#logger?.debug({ queue: this.name, key, err: error }, 'reconcile interrupted by the shutdown');
        } else {
          this.#logger?.error(
            { queue: this.name, key, err: error, retryInMs: Math.round(info.retryInMs), failures: this.numRequeues(key) },
            'reconcile failed, retrying',
          );
        }
      } finally {
        info.durationMs = performance.now() - started;
        this.done(key);
      }
      if (onProcessed !== undefined) {
        try {
          onProcessed(info);
        } catch (error) {
          this.#logger?.warn({ queue: this.name, err: error }, 'onProcessed hook threw');
        }
      }
    }
  }
}

function assertKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) {
    throw new TypeError(`work queue keys must be non-empty strings, got ${JSON.stringify(key)}`);
  }
}
