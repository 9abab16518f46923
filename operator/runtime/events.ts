// Kubernetes Events (events.k8s.io/v1) on the objects the operator manages, so `kubectl describe tcp`
// shows what happened. Repeats are aggregated like client-go's event broadcaster: the same event on the
// same object within the series window becomes one Event whose `series.count` grows, and series updates
// are written at most once per flush interval. A reconcile loop that fails every few milliseconds thus
// costs one create plus one patch per interval, not one write per failure.
// Recording never throws and never rejects: events are best-effort and must not fail a reconcile.
import { hostname } from 'node:os';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isNotFound, microTime, type KubeClient } from '../../core/index.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  client: KubeClient;
  /** Qualified name of the component, shown as the event's source (default kubeception.io/operator). */
  reportingController?: string;
  /** This replica (default: $POD_NAME or the hostname). */
  reportingInstance?: string;
  /** Repeats within this time of the last occurrence join the series (default 6 min, like client-go). */
  seriesWindowMs?: number;
  /** How often grown series are written (default 30 s). */
  flushIntervalMs?: number;
  /** Distinct events remembered for aggregation (default 4096, oldest dropped first). */
  maxCached?: number;
  logger?: Logger;
  now?: () => Date;
}

interface SeriesEntry {
  namespace: string;
  name: string;
  count: number;
  lastObserved: Date;
  /** count already written to the server. */
  writtenCount: number;
  /** Resolves once the Event was created (or creating failed: then `failed` is set). */
  created: Promise<void>;
  failed: boolean;
}

// Limits of events.k8s.io/v1 validation.
const REASON_MAX = 128;
const ACTION_MAX = 128;
const NOTE_MAX = 1024;

export class EventRecorder {
  readonly #client: KubeClient;
  readonly #controller: string;
  readonly #instance: string;
  readonly #windowMs: number;
  readonly #flushMs: number;
  readonly #maxCached: number;
  readonly #logger: Logger | undefined;
  readonly #now: () => Date;
  readonly #series = new Map<string, SeriesEntry>();
  #flushTimer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;
  /** API writes done (creates + series patches), for tests and metrics. */
  writes = 0;

  constructor(options: EventRecorderOptions) {
    this.#client = options.client;
    this.#controller = options.reportingController ?? 'kubeception.io/operator';
    this.#instance = (options.reportingInstance ?? (process.env['POD_NAME'] || hostname())).slice(0, 128);
    this.#windowMs = options.seriesWindowMs ?? 6 * 60_000;
    this.#flushMs = options.flushIntervalMs ?? 30_000;
    this.#maxCached = options.maxCached ?? 4096;
    this.#logger = options.logger;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Records an event on `regarding` (which needs apiVersion, kind, metadata.name). `reason` is CamelCase;
   * `action` says what the operator did or tried (defaults to the reason). The promise resolves when the
   * event is written or aggregated; it never rejects.
   */
  event(regarding: KubernetesObject, type: EventType, reason: string, message: string, action: string = reason): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const meta = regarding.metadata;
    if (!regarding.kind || !regarding.apiVersion || !meta?.name) {
      this.#logger?.error({ reason }, 'event dropped: the regarding object needs apiVersion, kind and metadata.name');
      return Promise.resolve();
    }
    const note = message.length > NOTE_MAX ? `${message.slice(0, NOTE_MAX - 3)}...` : message;
    const key = JSON.stringify([
      regarding.apiVersion,
      regarding.kind,
      meta.namespace ?? '',
      meta.name,
      meta.uid ?? '',
      type,
      reason,
      action,
      note,
    ]);
    const now = this.#now();
    const existing = this.#series.get(key);
    if (existing !== undefined && !existing.failed && now.getTime() - existing.lastObserved.getTime() < this.#windowMs) {
      existing.count += 1;
      existing.lastObserved = now;
      // Refresh its position so the size bound drops the least recently seen series first.
      this.#series.delete(key);
      this.#series.set(key, existing);
      this.#scheduleFlush();
      return existing.created;
    }
    return this.#create(key, regarding, type, reason.slice(0, REASON_MAX), note, action.slice(0, ACTION_MAX), now);
  }

  normal(regarding: KubernetesObject, reason: string, message: string, action?: string): Promise<void> {
    return this.event(regarding, 'Normal', reason, message, action);
  }

  warning(regarding: KubernetesObject, reason: string, message: string, action?: string): Promise<void> {
    return this.event(regarding, 'Warning', reason, message, action);
  }

  /** Writes every grown series now. */
  flush(): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#flushing = this.#flushing.then(() => this.#flushSeries());
    return this.#flushing;
  }

  /** Flushes pending series and stops recording. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#series.values()].map((e) => e.created));
    await this.flush();
  }

  #create(
    key: string,
    regarding: KubernetesObject,
    type: EventType,
    reason: string,
    note: string,
    action: string,
    now: Date,
  ): Promise<void> {
    const meta = regarding.metadata!;
    // Events about cluster-scoped objects live in "default" (the API server's validation rule).
    const namespace = meta.namespace || 'default';
    const name = `${meta.name!.slice(0, 200)}.${(BigInt(now.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))).toString(16)}`;
    const entry: SeriesEntry = { namespace, name, count: 1, writtenCount: 1, lastObserved: now, created: Promise.resolve(), failed: false };
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name, namespace },
      eventTime: microTime(now),
      type,
      reason,
      action,
      note,
      reportingController: this.#controller,
      reportingInstance: this.#instance,
      regarding: {
        apiVersion: regarding.apiVersion,
        kind: regarding.kind,
        name: meta.name,
        ...(meta.namespace ? { namespace: meta.namespace } : {}),
        ...(meta.uid ? { uid: meta.uid } : {}),
        ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
      },
    };
    entry.created = this.#client
      .request('POST', `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/events`, { body })
      .then(
        () => {
          this.writes += 1;
        },
        (err: unknown) => {
          entry.failed = true;
          this.#logger?.warn({ err, reason, regarding: `${regarding.kind} ${namespace}/${meta.name}` }, 'could not record event');
        },
      );
    this.#series.set(key, entry);
    while (this.#series.size > this.#maxCached) {
      this.#series.delete(this.#series.keys().next().value!);
    }
    return entry.created;
  }

  #scheduleFlush(): void {
    if (this.#flushTimer !== undefined) return;
    this.#flushTimer = setTimeout(() => void this.flush(), this.#flushMs);
    this.#flushTimer.unref();
  }

  async #flushSeries(): Promise<void> {
    const dirty = [...this.#series.entries()].filter(([, e]) => e.count > e.writtenCount);
    await Promise.all(
      dirty.map(async ([key, entry]) => {
        await entry.created;
        if (entry.failed) return;
        const count = entry.count;
        try {
          await this.#client.request(
            'PATCH',
            `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(entry.namespace)}/events/${encodeURIComponent(entry.name)}`,
            {
              contentType: 'application/merge-patch+json',
              body: { series: { count, lastObservedTime: microTime(entry.lastObserved) } },
            },
          );
          this.writes += 1;
          entry.writtenCount = count;
        } catch (err) {
          // Gone (Events expire after an hour): the next occurrence starts a new Event.
          if (isNotFound(err)) this.#series.delete(key);
          else this.#logger?.warn({ err, event: `${entry.namespace}/${entry.name}` }, 'could not update event series');
        }
      }),
    );
  }
}
