// The API's periodic-task loop: metering passes and the TLS reloader run on it. One loop, so timers,
// jitter, unref and a stop that waits for the running pass are written once.
import type { FastifyBaseLogger } from 'fastify';

/** Runs tasks every interval until stopped; a failing task is logged and tried again next time. */
export class PeriodicTasks {
  readonly #tasks: { name: string; run: () => Promise<unknown> }[];
  readonly #intervalMs: number;
  readonly #log: FastifyBaseLogger | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: { intervalMs: number; log?: FastifyBaseLogger; tasks: { name: string; run: () => Promise<unknown> }[] }) {
    this.#tasks = options.tasks;
    this.#intervalMs = options.intervalMs;
    this.#log = options.log;
  }

  /** The first run comes after `firstDelayMs` (default: at once). */
  start(firstDelayMs = 0): void {
    this.#stopped = false;
    this.#schedule(firstDelayMs);
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.runOnce().finally(() => {
        this.#running = undefined;
        // +-10% jitter so that replicas do not tick in lockstep.
        this.#schedule(this.#intervalMs * (0.9 + Math.random() * 0.2));
      });
    }, delay);
    this.#timer.unref();
  }

  async runOnce(): Promise<void> {
    for (const task of this.#tasks) {
      const started = performance.now();
      try {
        const result = await task.run();
        this.#log?.debug({ task: task.name, result, ms: Math.round(performance.now() - started) }, 'periodic task done');
      } catch (error) {
        this.#log?.error({ task: task.name, err: error }, 'periodic task failed');
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#running;
  }
}
