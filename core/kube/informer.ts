// A supervised informer: client-node's ListWatch does the list + watch + resourceVersion bookkeeping,
// this class keeps it alive and owns the cache.
//
// Why supervision: ListWatch stops for good on any error but 410 Gone (a reset connection, a 500, an
// expired token), and its stop() makes the aborted request report an `error` later; a ListWatch that is
// restarted after stop() can even have its new request aborted by that late error. So every (re)start
// uses a fresh ListWatch, events from a superseded one are ignored, and the cache lives here, across
// ListWatch instances: after each relist the cache is diffed against the list, so objects deleted while
// no watch was open still produce a `delete` event.
import { setTimeout as sleep } from 'node:timers/promises';
import { ListWatch, Watch, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { exponentialBackoff, withJitter } from './backoff.ts';
import type { KubeClient } from './kube-client.ts';

export type InformerEvent = 'add' | 'update' | 'delete' | 'resync';

/**
 * Called for every change seen in the cache. `resync` is delivered for every cached object after each
 * periodic relist, so level-triggered controllers re-check everything now and then.
 */
export type InformerHandler<T> = (event: InformerEvent, obj: T, old?: T) => void;

/** Read access to an informer's cache. Objects are shared with the cache: do not mutate them. */
export interface Lister<T> {
  get(namespace: string | undefined, name: string): T | undefined;
  getByKey(key: string): T | undefined;
  list(namespace?: string): T[];
  keys(): string[];
}

export interface InformerOptions {
  client: KubeClient;
  /** Collection path, e.g. /api/v1/namespaces/a/configmaps or /apis/kubeception.io/v1alpha1/tenantcontrolplanes. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Name for logs. */
  name?: string;
  /** Full relist (new list + new watch) period, jittered by up to 10 %; 0 disables (default 10 min). */
  resyncPeriodMs?: number;
  /** Restart backoff after a failure: base (default 1 s) doubling up to max (default 60 s). */
  restartBaseMs?: number;
  restartMaxMs?: number;
  /** Items per page when listing (default 500). */
  pageSize?: number;
  logger?: Logger;
}

/** "namespace/name", or "name" for cluster-scoped objects: the work-queue key of an object. */
export function objectKey(obj: KubernetesObject): string {
  const name = obj.metadata?.name;
  if (!name) throw new Error(`object of kind ${obj.kind ?? '?'} has no metadata.name`);
  const namespace = obj.metadata?.namespace;
  return namespace ? `${namespace}/${name}` : name;
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const parts = key.split('/');
  if (parts.length === 1 && parts[0]) return { name: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { namespace: parts[0], name: parts[1] };
  throw new Error(`invalid object key ${JSON.stringify(key)}: expected "name" or "namespace/name"`);
}

/**
 * The Watch one ListWatch uses. It asks for bookmarks (an idle watch keeps a fresh resourceVersion, so a
 * reconnect rarely needs a relist), and it can be closed for good: ListWatch.stop() only aborts a watch
 * that is already established, and a ListWatch stopped while it lists, connects or waits to reconnect
 * opens its watch anyway. close() aborts every open watch and refuses new ones.
 */
class ClosableWatch extends Watch {
  #closed = false;
  readonly #open = new Set<AbortController>();

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    if (this.#closed) {
      const refused = new AbortController();
      refused.abort();
      return refused;
    }
    const controller = await super.watch(path, { ...queryParams, allowWatchBookmarks: true }, callback, done);
    if (this.#closed) {
      controller.abort();
    } else if (!controller.signal.aborted) {
      this.#open.add(controller);
      controller.signal.addEventListener('abort', () => this.#open.delete(controller), { once: true });
    }
    return controller;
  }

  close(): void {
    this.#closed = true;
    for (const controller of this.#open) controller.abort();
    this.#open.clear();
  }
}

/** ListWatch's reconnect pause, without keeping the process alive. */
const unrefDelay = (ms: number) => sleep(ms, undefined, { ref: false });

// A failure this long after the previous one starts the restart backoff from the beginning again.
const BACKOFF_RESET_MS = 120_000;

export class Informer<T extends KubernetesObject> implements Lister<T> {
  readonly name: string;
  /** Resolves after the first complete list; rejects if the informer is stopped before that. */
  readonly hasSynced: Promise<void>;
  /** How often the ListWatch was restarted after a failure (for logs and metrics). */
  restarts = 0;
  /** How many lists completed (first sync, restarts, periodic relists, 410 relists). */
  lists = 0;

  readonly #options: InformerOptions;
  readonly #logger: Logger | undefined;
  readonly #store = new Map<string, T>();
  readonly #handlers = new Set<InformerHandler<T>>();
  #current: { lw: ListWatch<T>; watch: ClosableWatch } | undefined;
  #started = false;
  #stopped = false;
  #synced = false;
  #resolveSynced!: () => void;
  #rejectSynced!: (error: Error) => void;
  #failures = 0;
  #lastFailureAt = -Infinity;
  #restartTimer: NodeJS.Timeout | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  /** The next completed list is a periodic relist: deliver `resync` for everything afterwards. */
  #resyncPending = false;

  constructor(options: InformerOptions) {
    if (!options.path.startsWith('/')) throw new Error(`informer path must start with "/", got ${options.path}`);
    this.#options = options;
    this.name = options.name ?? options.path;
    this.#logger = options.logger?.child({ informer: this.name });
    this.hasSynced = new Promise<void>((resolve, reject) => {
      this.#resolveSynced = resolve;
      this.#rejectSynced = reject;
    });
    // Nobody may be waiting; a stop before sync must not become an unhandled rejection.
    this.hasSynced.catch(() => {});
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Subscribes to cache changes; returns the unsubscribe function. */
  on(handler: InformerHandler<T>): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  start(): void {
    if (this.#started) throw new Error(`informer ${this.name} was already started`);
    this.#started = true;
    this.#run();
    this.#scheduleResync();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    clearTimeout(this.#resyncTimer);
    if (!this.#synced) this.#rejectSynced(new Error(`informer ${this.name} stopped before its first sync`));
    const current = this.#current;
    this.#current = undefined;
    if (current !== undefined) await this.#retire(current);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.#store.get(namespace ? `${namespace}/${name}` : name);
  }

  getByKey(key: string): T | undefined {
    return this.#store.get(key);
  }

  list(namespace?: string): T[] {
    const all = [...this.#store.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  keys(): string[] {
    return [...this.#store.keys()];
  }

  /** Starts a fresh ListWatch; it lists (filling/diffing the cache), then watches. */
  #run(): void {
    if (this.#stopped) return;
    const { client, path, labelSelector, fieldSelector } = this.#options;
    const watch = new ClosableWatch(client.kubeConfig);
    const listFn = async (): Promise<KubernetesListObject<T>> => {
      const list = await this.#listAll();
      if (isCurrent()) this.#replace(list.items);
      return list;
    };
    const lw = new ListWatch<T>(path, watch, listFn, false, labelSelector, fieldSelector, { delayFn: unrefDelay });
    const current = { lw, watch };
    this.#current = current;
    const isCurrent = () => this.#current === current && !this.#stopped;
    lw.on('add', (obj) => isCurrent() && this.#upsert(obj));
    lw.on('update', (obj) => isCurrent() && this.#upsert(obj));
    lw.on('delete', (obj) => isCurrent() && this.#remove(obj));
    // Errors of a retired ListWatch (its stop() makes the aborted request report one) are ignored.
    lw.on('error', (err) => isCurrent() && this.#fail(current, err));
    lw.start().catch((err: unknown) => isCurrent() && this.#fail(current, err));
  }

  /** Ends a ListWatch for good: no events, no open or future watch connection. */
  async #retire(current: { lw: ListWatch<T>; watch: ClosableWatch }): Promise<void> {
    current.watch.close();
    await current.lw.stop();
  }

  #fail(current: { lw: ListWatch<T>; watch: ClosableWatch }, err: unknown): void {
    this.#current = undefined;
    void this.#retire(current);
    const now = performance.now();
    if (now - this.#lastFailureAt > BACKOFF_RESET_MS) this.#failures = 0;
    this.#lastFailureAt = now;
    const attempt = this.#failures;
    this.#failures += 1;
    const delayMs = Math.round(
      withJitter(exponentialBackoff(attempt, this.#options.restartBaseMs ?? 1000, this.#options.restartMaxMs ?? 60_000), 0.2),
    );
    this.restarts += 1;
    this.#logger?.warn({ err, attempt: attempt + 1, delayMs }, 'informer list/watch failed, restarting');
    this.#restartTimer = setTimeout(() => this.#run(), delayMs);
  }

  #scheduleResync(): void {
    const period = this.#options.resyncPeriodMs ?? 600_000;
    if (period <= 0 || this.#stopped) return;
    this.#resyncTimer = setTimeout(() => {
      const current = this.#current;
      // While a failure restart is pending there is nothing to replace; the restart relists anyway.
      if (current !== undefined && !this.#stopped) {
        this.#logger?.debug('periodic relist');
        this.#resyncPending = true;
        this.#current = undefined;
        void this.#retire(current);
        this.#run();
      }
      this.#scheduleResync();
    }, withJitter(period, 0.1));
    this.#resyncTimer.unref();
  }

  /** Lists every page; fills in apiVersion/kind, which the server leaves out of list items of built-in types. */
  async #listAll(): Promise<KubernetesListObject<T>> {
    const { client, path, labelSelector, fieldSelector } = this.#options;
    const items: T[] = [];
    let continueToken: string | undefined;
    let last: KubernetesListObject<T>;
    do {
      last = await client.request<KubernetesListObject<T>>('GET', path, {
        query: { labelSelector, fieldSelector, limit: this.#options.pageSize ?? 500, continue: continueToken },
      });
      const itemKind = last.kind?.endsWith('List') ? last.kind.slice(0, -'List'.length) : undefined;
      for (const item of last.items ?? []) {
        items.push({ ...item, apiVersion: item.apiVersion ?? last.apiVersion, kind: item.kind ?? itemKind });
      }
      continueToken = last.metadata?._continue || (last.metadata as { continue?: string } | undefined)?.continue;
    } while (continueToken);
    return { ...last, items, metadata: { ...last.metadata, resourceVersion: last.metadata?.resourceVersion } };
  }

  /** Makes the cache equal to a complete list, emitting add/update/delete for the differences. */
  #replace(items: T[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      seen.add(objectKey(item));
      this.#upsert(item);
    }
    for (const [key, old] of this.#store) {
      if (!seen.has(key)) this.#remove(old);
    }
    this.lists += 1;
    if (this.#resyncPending) {
      this.#resyncPending = false;
      for (const obj of this.#store.values()) this.#emit('resync', obj);
    }
    if (!this.#synced) {
      this.#synced = true;
      this.#logger?.info({ objects: this.#store.size }, 'informer synced');
      this.#resolveSynced();
    }
  }

  #upsert(obj: T): void {
    const key = objectKey(obj);
    const old = this.#store.get(key);
    if (old !== undefined && old.metadata?.resourceVersion === obj.metadata?.resourceVersion) return;
    this.#store.set(key, obj);
    this.#emit(old === undefined ? 'add' : 'update', obj, old);
  }

  #remove(obj: T): void {
    const key = objectKey(obj);
    const old = this.#store.get(key);
    if (old === undefined) return;
    this.#store.delete(key);
    // The delete event's object is the final state the server sent; fall back to the cached one.
    this.#emit('delete', obj.metadata?.resourceVersion ? obj : old, old);
  }

  #emit(event: InformerEvent, obj: T, old?: T): void {
    for (const handler of this.#handlers) {
      try {
        handler(event, obj, old);
      } catch (err) {
        this.#logger?.error({ err, event, key: objectKey(obj) }, 'informer handler threw');
      }
    }
  }
}
