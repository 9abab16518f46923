// The one HTTP path to the API server for the runtime: raw JSON requests through client-node's own
// fetch and authentication, with one shared keep-alive connection pool and a discovery cache.
//
// Why raw requests: client-node's typed create/replace and KubernetesObjectApi.patch serialise the body
// through their generated models, which drops fields the models do not know; a PATCH without an explicit
// Content-Type goes out as JSON-Patch. Here the body is sent exactly as given and a PATCH must name its type.
import {
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  RequestContext,
  type V1APIResource,
  type V1APIResourceList,
} from '@kubernetes/client-node';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/**
 * A KubeConfig whose requests all share one connection pool. client-node 2.0.1 builds a new undici Agent
 * (hence a new TLS connection) inside every applySecurityAuthentication call; every client it makes
 * (makeApiClient, Watch, KubernetesObjectApi) calls that method, so overriding it here is the one place
 * that covers them all. The pool is the Agent client-node builds for the first request, so TLS, proxy and
 * client-certificate settings are exactly client-node's.
 */
export class SharedConnectionKubeConfig extends KubeConfig {
  #shared: Dispatcher | undefined;

  /** Copies clusters, users, contexts and the current context (not custom authenticators). */
  static from(source: KubeConfig): SharedConnectionKubeConfig {
    if (source instanceof SharedConnectionKubeConfig) return source;
    const copy = new SharedConnectionKubeConfig();
    copy.loadFromOptions({
      clusters: source.getClusters(),
      users: source.getUsers(),
      contexts: source.getContexts(),
      currentContext: source.getCurrentContext(),
    });
    return copy;
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    // Headers (tokens from exec plugins or files) are still refreshed per request by the base class.
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (fresh === undefined) return; // no TLS options: undici's global dispatcher, which already pools
    if (this.#shared === undefined) {
      this.#shared = fresh;
      return;
    }
    if (fresh !== this.#shared) {
      context.setDispatcher(this.#shared);
      // The per-call Agent never opened a connection; closing it just releases it early.
      fresh.close().catch(() => {});
    }
  }

  /** Closes the shared pool (open watches end). */
  async closeConnections(): Promise<void> {
    const shared = this.#shared;
    this.#shared = undefined;
    await shared?.close();
  }
}

/** An error answer from the API server, with its HTTP status and metav1.Status reason. */
export class KubeApiError extends Error {
  readonly statusCode: number;
  /** metav1.Status reason, e.g. NotFound, AlreadyExists, Conflict, Invalid. */
  readonly reason: string;
  readonly method: string;
  readonly path: string;
  readonly body: unknown;

  constructor(method: string, path: string, statusCode: number, body: unknown) {
    const status = isRecord(body) ? body : {};
    const reason = typeof status['reason'] === 'string' ? status['reason'] : `HTTP${statusCode}`;
    const detail = typeof status['message'] === 'string' ? status['message'] : typeof body === 'string' ? body : '';
    super(`${method} ${path}: ${statusCode} ${reason}${detail ? `: ${detail}` : ''}`);
    this.name = 'KubeApiError';
    this.statusCode = statusCode;
    this.reason = reason;
    this.method = method;
    this.path = path;
    this.body = body;
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 404;
}

export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.statusCode === 409;
}

export type QueryValue = string | number | boolean | undefined;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  /** Objects are sent as JSON; strings as they are. */
  body?: unknown;
  /** Required for PATCH (apply, merge, strategic-merge or json patch); defaults to application/json otherwise. */
  contentType?: string;
  signal?: AbortSignal;
  /** Per-request timeout (default: the client's, 30 s). */
  timeoutMs?: number;
}

/** Where a kind lives in the REST API. */
export interface ApiResource {
  /** "v1" or "group/version". */
  apiVersion: string;
  kind: string;
  /** The plural resource name used in paths. */
  plural: string;
  namespaced: boolean;
}

export interface KubeClientOptions {
  /** Default per-request timeout in ms (default 30 000). */
  timeoutMs?: number;
}

const PATCH_TYPES: ReadonlySet<string> = new Set([
  'application/apply-patch+yaml',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/json-patch+json',
]);

export class KubeClient {
  readonly kubeConfig: SharedConnectionKubeConfig;
  readonly #http = new IsomorphicFetchHttpLibrary();
  readonly #timeoutMs: number;
  readonly #discovery = new Map<string, Promise<V1APIResource[]>>();

  constructor(kubeConfig: KubeConfig, options: KubeClientOptions = {}) {
    this.kubeConfig = SharedConnectionKubeConfig.from(kubeConfig);
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    if (this.kubeConfig.getCurrentCluster() === null) {
      throw new Error('kubeconfig has no current cluster');
    }
  }

  /** Sends one request; resolves the parsed JSON answer, rejects with KubeApiError on a non-2xx answer. */
  async request<T>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
    if (!path.startsWith('/')) throw new Error(`API path must start with "/", got ${JSON.stringify(path)}`);
    if (method === 'PATCH' && (options.contentType === undefined || !PATCH_TYPES.has(options.contentType))) {
      // The trap this prevents: a PATCH without a patch content type is read as JSON-Patch and rejected.
      throw new Error(`PATCH ${path} needs an explicit patch content type, one of ${[...PATCH_TYPES].join(', ')}`);
    }
    const context = new RequestContext(this.#url(path), method);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) context.setQueryParam(name, String(value));
    }
    context.setHeaderParam('Accept', 'application/json');
    if (options.body !== undefined) {
      context.setHeaderParam('Content-Type', options.contentType ?? 'application/json');
      context.setBody(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
    }
    const timeout = AbortSignal.timeout(options.timeoutMs ?? this.#timeoutMs);
    context.setSignal(options.signal ? AbortSignal.any([options.signal, timeout]) : timeout);
    await this.kubeConfig.applySecurityAuthentication(context);

    const response = await this.#http.send(context).toPromise();
    // Always read the body: an unread body keeps the pooled connection busy.
    const text = await response.body.text();
    const parsed = parseJson(text);
    if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
      throw new KubeApiError(method, path, response.httpStatusCode, parsed);
    }
    return parsed as T;
  }

  /** Resolves how `kind` in `apiVersion` is served; re-reads discovery once on a miss (a CRD may be new). */
  async resource(apiVersion: string, kind: string): Promise<ApiResource> {
    for (const refresh of [false, true]) {
      const found = (await this.#resources(apiVersion, refresh)).find((r) => r.kind === kind && !r.name.includes('/'));
      if (found !== undefined) return { apiVersion, kind, plural: found.name, namespaced: found.namespaced };
    }
    throw new Error(`the API server does not serve kind ${kind} in ${apiVersion}`);
  }

  /** Path of one object (or of its subresource), e.g. /apis/apps/v1/namespaces/a/deployments/b/status. */
  async objectPath(ref: { apiVersion: string; kind: string; namespace?: string; name: string }, subresource?: string) {
    return resourcePath(await this.resource(ref.apiVersion, ref.kind), ref.namespace, ref.name, subresource);
  }

  /** Path of a collection: all namespaces when `namespace` is undefined. */
  async collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    const resource = await this.resource(apiVersion, kind);
    return resourcePath(resource, resource.namespaced ? namespace : undefined);
  }

  /** Closes the shared connection pool. */
  async close(): Promise<void> {
    await this.kubeConfig.closeConnections();
  }

  #url(path: string): string {
    const server = this.kubeConfig.getCurrentCluster()!.server.replace(/\/+$/, '');
    return server + path;
  }

  #resources(apiVersion: string, refresh: boolean): Promise<V1APIResource[]> {
    let entry = this.#discovery.get(apiVersion);
    if (entry === undefined || refresh) {
      entry = this.request<V1APIResourceList>('GET', apiVersionPath(apiVersion)).then((list) => list.resources ?? []);
      // A failed lookup must not stay cached.
      entry.catch(() => this.#discovery.delete(apiVersion));
      this.#discovery.set(apiVersion, entry);
    }
    return entry;
  }
}

/** "/api/v1" for the core group, "/apis/<group>/<version>" otherwise. */
export function apiVersionPath(apiVersion: string): string {
  if (!/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion)) {
    throw new Error(`invalid apiVersion ${JSON.stringify(apiVersion)}`);
  }
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/**
 * Builds a REST path. A namespaced resource with a name needs a namespace; a cluster-scoped one must not
 * get one (both mistakes would otherwise surface as confusing 404s).
 */
export function resourcePath(resource: ApiResource, namespace?: string, name?: string, subresource?: string): string {
  if (resource.namespaced && name !== undefined && !namespace) {
    throw new Error(`${resource.kind} ${name} is namespaced: metadata.namespace is required`);
  }
  if (!resource.namespaced && namespace) {
    throw new Error(`${resource.kind} is cluster-scoped: it has no namespace (got ${JSON.stringify(namespace)})`);
  }
  if (subresource !== undefined && name === undefined) {
    throw new Error(`subresource ${subresource} needs an object name`);
  }
  const parts = [apiVersionPath(resource.apiVersion)];
  if (namespace) parts.push('namespaces', encodeURIComponent(namespace));
  parts.push(resource.plural);
  if (name !== undefined) {
    if (name === '') throw new Error(`${resource.kind}: empty object name`);
    parts.push(encodeURIComponent(name));
  }
  if (subresource !== undefined) parts.push(subresource);
  return parts.join('/');
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
