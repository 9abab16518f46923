// Leader election on a coordination.k8s.io/v1 Lease, with client-go's algorithm and timings:
// - a candidate takes the lease when it is free (no holder) or when the holder has not renewed it for a
//   lease duration, measured on OUR clock from when we last saw the record change (so clock skew between
//   replicas does not matter);
// - the leader renews every retry period; if no renew succeeds within the renew deadline, it stops leading;
// - stop() first ends this replica's work (onStoppedLeading), then releases the lease (holder cleared),
//   so a successor takes over within one retry period instead of waiting for the lease to expire, and
//   never works beside us (client-go releases first and leaves that to its callers).
// Writes are read-modify-write with the object's resourceVersion: of two racing candidates, one gets 409.
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { KubeApiError, isConflict, isNotFound, resourcePath, type KubeClient } from './kube-client.ts';
import { withJitter } from './backoff.ts';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
  [field: string]: unknown;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string; [field: string]: unknown };
  spec?: LeaseSpec;
}

export interface LeaderElectionOptions {
  client: KubeClient;
  /** Namespace and name of the Lease. */
  namespace: string;
  name: string;
  /** Unique per replica (default: $POD_NAME, else hostname_pid). */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Called once leadership is acquired; `signal` aborts when it is lost or stop() is called. */
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Called once after leading ends (lost or stopped); not called if this replica never led. */
  onStoppedLeading?: () => void | Promise<void>;
  /** Called when the observed leader changes (including to this replica). */
  onNewLeader?: (identity: string) => void;
  logger?: Logger;
}

/** Lease times must be metav1.MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(date: Date): string {
  return new V1MicroTime(date.getTime()).toISOString();
}

export function defaultIdentity(): string {
  return process.env['POD_NAME'] || `${hostname()}_${process.pid}`;
}

const LEASE_RESOURCE = {
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  plural: 'leases',
  namespaced: true,
} as const;

export class LeaderElector {
  readonly identity: string;
  readonly #options: LeaderElectionOptions;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #logger: Logger | undefined;
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;
  #leading = false;
  /** The record we last saw and when (our monotonic clock) it last changed. */
  #observedRecord = '';
  #observedAt = 0;
  #observedHolder = '';
  /** Whether the last look at the Lease got an answer from the API server (a standby's readiness). */
  #reachable = false;

  constructor(options: LeaderElectionOptions) {
    this.#options = options;
    this.identity = options.identity ?? defaultIdentity();
    this.#leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!this.identity) throw new Error('leader election identity must not be empty');
    if (!options.namespace || !options.name) throw new Error('leader election needs the Lease namespace and name');
    // client-go's rule: the leader must give up before anyone else may take over.
    if (!(this.#leaseDurationMs > this.#renewDeadlineMs)) {
      throw new Error(`leaseDurationMs (${this.#leaseDurationMs}) must be greater than renewDeadlineMs (${this.#renewDeadlineMs})`);
    }
    if (!(this.#renewDeadlineMs > this.#retryPeriodMs * 1.2)) {
      throw new Error(`renewDeadlineMs (${this.#renewDeadlineMs}) must be greater than 1.2 x retryPeriodMs (${this.#retryPeriodMs})`);
    }
    if (this.#leaseDurationMs % 1000 !== 0) throw new Error('leaseDurationMs must be whole seconds (the Lease stores seconds)');
    this.#logger = options.logger?.child({ lease: `${options.namespace}/${options.name}`, identity: this.identity });
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /** The holder last seen on the Lease ('' when free or not yet seen). */
  get leader(): string {
    return this.#observedHolder;
  }

  /** True when the last attempt to read or write the Lease got an answer (a conflict included). */
  get reachable(): boolean {
    return this.#reachable;
  }

  /** Campaigns, leads, and resolves once leading has ended (lost, or stop() called). Call once. */
  run(): Promise<void> {
    if (this.#running !== undefined) throw new Error('LeaderElector.run() may only be called once');
    this.#running = this.#run();
    return this.#running;
  }

  /** Stops campaigning or leading, releases the lease if held, and waits for run() to finish. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  async #run(): Promise<void> {
    const stopped = this.#stop.signal;
    // Campaign.
    while (!stopped.aborted) {
      if (await this.#tryAcquireOrRenew(this.#retryPeriodMs)) break;
      await this.#sleep(withJitter(this.#retryPeriodMs, 1.2));
    }
    if (stopped.aborted) return;

    this.#leading = true;
    const leadership = new AbortController();
    this.#logger?.info({ leader: this.identity }, 'started leading');
    Promise.resolve()
      .then(() => this.#options.onStartedLeading(leadership.signal))
      .catch((err: unknown) => this.#logger?.error({ err }, 'onStartedLeading failed'));

    // Renew until the deadline passes without a successful renew, or until stopped.
    let lastRenew = performance.now();
    while (!stopped.aborted) {
      await this.#sleep(this.#retryPeriodMs);
      if (stopped.aborted) break;
      const remaining = this.#renewDeadlineMs - (performance.now() - lastRenew);
      if (remaining > 0 && (await this.#tryAcquireOrRenew(remaining))) {
        lastRenew = performance.now();
        continue;
      }
      if (performance.now() - lastRenew >= this.#renewDeadlineMs) {
        this.#logger?.error({ renewDeadlineMs: this.#renewDeadlineMs }, 'failed to renew the lease in time: leadership lost');
        break;
      }
    }

    this.#leading = false;
    leadership.abort(new Error('leadership ended'));
    this.#logger?.info('stopped leading');
    // The work stops before the lease is free: a successor must never reconcile beside our last passes.
    try {
      await this.#options.onStoppedLeading?.();
    } catch (err) {
      this.#logger?.error({ err }, 'onStoppedLeading failed');
    }
    if (stopped.aborted) await this.#release();
  }

  async #sleep(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.#stop.signal });
    } catch {
      // Aborted by stop(): the caller re-checks the signal.
    }
  }

  #path(name?: string): string {
    return resourcePath(LEASE_RESOURCE, this.#options.namespace, name);
  }

  /** One attempt; true when this replica holds the lease afterwards. Errors count as "not acquired". */
  async #tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const { client, name, namespace } = this.#options;
    // Not cut short by stop(): an aborted write may still land after the release read the Lease (409 on
    // the release), and a request torn down while the client closes can fail outside any caller. stop()
    // waits for the attempt instead, at most its timeout.
    const signal = AbortSignal.timeout(Math.max(1, Math.ceil(timeoutMs)));
    const now = new Date();
    const leaseDurationSeconds = this.#leaseDurationMs / 1000;
    try {
      let lease: Lease;
      try {
        lease = await client.request<Lease>('GET', this.#path(name), { signal });
      } catch (error) {
        if (!isNotFound(error)) throw error;
        const created = await client.request<Lease>('POST', this.#path(), {
          signal,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: {
              holderIdentity: this.identity,
              leaseDurationSeconds,
              acquireTime: microTime(now),
              renewTime: microTime(now),
              leaseTransitions: 0,
            },
          },
        });
        this.#reachable = true;
        this.#observe(created.spec ?? {});
        return true;
      }

      this.#reachable = true;
      const spec = lease.spec ?? {};
      this.#observe(spec);
      const holder = spec.holderIdentity ?? '';
      const durationMs = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
      if (holder !== '' && holder !== this.identity && this.#observedAt + durationMs > performance.now()) {
        return false; // held by someone else and not expired
      }
      const takingOver = holder !== this.identity;
      const next: Lease = {
        ...lease,
        spec: {
          ...spec,
          holderIdentity: this.identity,
          leaseDurationSeconds,
          renewTime: microTime(now),
          acquireTime: takingOver ? microTime(now) : (spec.acquireTime ?? microTime(now)),
          leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver ? 1 : 0),
        },
      };
      const updated = await client.request<Lease>('PUT', this.#path(name), { body: next, signal });
      this.#observe(updated.spec ?? {});
      if (takingOver) this.#logger?.info({ previousHolder: holder || undefined }, 'acquired the lease');
      return true;
    } catch (error) {
      if (isConflict(error)) return false; // another candidate wrote first
      this.#reachable = false;
      if (!this.#stop.signal.aborted) {
        this.#logger?.warn({ err: error instanceof KubeApiError ? error.message : error }, 'lease acquire/renew failed');
      }
      return false;
    }
  }

  #observe(spec: LeaseSpec): void {
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.acquireTime, spec.leaseDurationSeconds]);
    if (record !== this.#observedRecord) {
      this.#observedRecord = record;
      this.#observedAt = performance.now();
    }
    const holder = spec.holderIdentity ?? '';
    if (holder !== this.#observedHolder) {
      this.#observedHolder = holder;
      if (holder !== '') {
        // Which replica leads, in the log of every other one (the leader logs 'acquired the lease').
        if (holder !== this.identity) this.#logger?.info({ leader: holder }, 'standing by: another replica leads');
        try {
          this.#options.onNewLeader?.(holder);
        } catch (err) {
          this.#logger?.error({ err }, 'onNewLeader failed');
        }
      }
    }
  }

  /** Clears the holder (only if it is still us), so the next candidate does not wait for expiry. */
  async #release(): Promise<void> {
    const { client, name } = this.#options;
    const signal = AbortSignal.timeout(this.#renewDeadlineMs);
    try {
      const lease = await client.request<Lease>('GET', this.#path(name), { signal });
      if (lease.spec?.holderIdentity !== this.identity) return;
      const now = microTime(new Date());
      await client.request('PUT', this.#path(name), {
        signal,
        body: {
          ...lease,
          spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
        },
      });
      this.#logger?.info('released the lease');
    } catch (err) {
      this.#logger?.warn({ err }, 'failed to release the lease; it expires on its own');
    }
  }
}
