// An in-memory stand-in for the Kubernetes API server, for unit tests of the runtime that must not need
// a cluster: plain HTTP, JSON only, one resourceVersion counter, optimistic concurrency on PUT, watches
// (with 410 for an expired resourceVersion), and fault injection (failing requests, dropped watch
// connections). It is NOT a full API server: no validation, no defaulting, and apply-patch is treated
// as a JSON merge patch (real server-side apply semantics are tested against the real test bed).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

type Obj = { metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown }; [k: string]: unknown };

interface Watcher {
  path: string;
  collection: string;
  namespace?: string;
  res: ServerResponse;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  body: unknown;
}

// /api/v1[/namespaces/ns]/plural[/name[/sub]] or /apis/group/version[/namespaces/ns]/plural[/name[/sub]]
const PATH = /^\/(?:api\/v1|apis\/[^/]+\/[^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/;

export class FakeApiServer {
  readonly server: Server;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];
  /** TCP connections accepted so far (to check connection reuse). */
  connections = 0;
  #rv = 100;
  /** Oldest resourceVersion a watch may start from; older ones get 410 Gone. */
  #oldestRv = 0;
  readonly #objects = new Map<string, Obj>(); // key: collection|namespace|name
  readonly #watchers = new Set<Watcher>();
  readonly #sockets = new Set<Socket>();
  readonly #discovery = new Map<string, Array<{ name: string; kind: string; namespaced: boolean }>>();
  #failures: Array<{ status: number; match?: (r: RecordedRequest) => boolean }> = [];

  private constructor() {
    this.server = createServer((req, res) => this.#handle(req, res));
    this.server.on('connection', (socket) => {
      this.connections += 1;
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(): Promise<FakeApiServer> {
    const fake = new FakeApiServer();
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A KubeConfig for this server (plain HTTP needs skipTLSVerify in client-node). */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'fake', token: 'fake-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** Serves `kind` in discovery (GET /api/v1 or /apis/group/version), as the client needs to build paths. */
  addResource(apiVersion: string, kind: string, plural: string, namespaced = true): void {
    const list = this.#discovery.get(apiVersion) ?? [];
    list.push({ name: plural, kind, namespaced });
    this.#discovery.set(apiVersion, list);
  }

  /** The next matching requests (default: any) are answered with `status` instead of being served. */
  failNext(count: number, status: number, match?: (r: RecordedRequest) => boolean): void {
    for (let i = 0; i < count; i++) this.#failures.push({ status, match });
  }

  /** Destroys every open watch connection mid-stream (the client sees a network error). */
  dropWatches(): void {
    for (const w of this.#watchers) w.res.socket?.destroy();
    this.#watchers.clear();
  }

  /** Ends every open watch response normally (as the server does when a watch times out). */
  dropWatchesCleanly(): void {
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
  }

  /** Makes every resourceVersion up to now too old to watch from (next watch resume gets 410 Gone). */
  expireHistory(): void {
    this.#oldestRv = this.#rv + 1;
  }

  /** Open watches whose request path starts with `pathPrefix` (default: all). */
  openWatches(pathPrefix = '/'): number {
    return [...this.#watchers].filter((w) => w.path.startsWith(pathPrefix)).length;
  }

  /** Creates or replaces an object directly; `notify: false` changes it behind the watchers' backs. */
  put(collection: string, obj: Obj, notify = true): Obj {
    const key = this.#key(collection, obj.metadata.namespace, obj.metadata.name);
    const existed = this.#objects.has(key);
    const stored = this.#store(key, obj);
    if (notify) this.#notify(collection, existed ? 'MODIFIED' : 'ADDED', stored);
    return stored;
  }

  remove(collection: string, namespace: string | undefined, name: string, notify = true): void {
    const key = this.#key(collection, namespace, name);
    const obj = this.#objects.get(key);
    if (obj === undefined) return;
    this.#objects.delete(key);
    this.#rv += 1;
    if (notify) this.#notify(collection, 'DELETED', { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.#rv) } });
  }

  get(collection: string, namespace: string | undefined, name: string): Obj | undefined {
    return this.#objects.get(this.#key(collection, namespace, name));
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #key(collection: string, namespace: string | undefined, name: string): string {
    return `${collection}|${namespace ?? ''}|${name}`;
  }

  #store(key: string, obj: Obj): Obj {
    this.#rv += 1;
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(this.#rv);
    this.#objects.set(key, stored);
    return stored;
  }

  #notify(collection: string, type: string, obj: Obj): void {
    for (const w of this.#watchers) {
      if (w.collection === collection && (w.namespace === undefined || w.namespace === obj.metadata.namespace)) {
        w.res.write(`${JSON.stringify({ type, object: obj })}\n`);
      }
    }
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const text = Buffer.concat(chunks).toString('utf8');
      const record: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        contentType: req.headers['content-type'],
        body: text ? JSON.parse(text) : undefined,
      };
      this.requests.push(record);
      const failure = this.#failures.findIndex((f) => f.match === undefined || f.match(record));
      if (failure >= 0) {
        const { status } = this.#failures.splice(failure, 1)[0]!;
        return this.#status(res, status, 'InternalError', 'injected failure');
      }
      this.#serve(record, res);
    });
  }

  #status(res: ServerResponse, code: number, reason: string, message: string): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message }));
  }

  #json(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  #serve(r: RecordedRequest, res: ServerResponse): void {
    const discovery = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))$/.exec(r.path);
    if (discovery !== null && r.method === 'GET') {
      const groupVersion = discovery[1] ?? discovery[2]!;
      const resources = this.#discovery.get(groupVersion);
      if (resources === undefined) return this.#status(res, 404, 'NotFound', `no ${groupVersion}`);
      return this.#json(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources });
    }
    const m = PATH.exec(r.path);
    if (m === null) return this.#status(res, 404, 'NotFound', `no route ${r.path}`);
    const [, namespace, plural, name, sub] = m;
    const prefix = r.path.slice(0, r.path.indexOf(namespace ? '/namespaces/' : `/${plural}`));
    const collection = `${prefix}/${plural}`;
    if (name === undefined) {
      if (r.method === 'GET' && r.query.get('watch') === 'true') return this.#watch(r, res, collection, namespace);
      if (r.method === 'GET') {
        const items = [...this.#objects.entries()]
          .filter(([k]) => k.startsWith(namespace === undefined ? `${collection}|` : `${collection}|${namespace}|`))
          .map(([, o]) => {
            // Like the real server for built-in types: list items carry no apiVersion/kind.
            const { apiVersion: _a, kind: _k, ...rest } = o;
            return rest;
          });
        return this.#json(res, 200, { kind: `${this.#kindOf(plural!)}List`, apiVersion: 'v1', metadata: { resourceVersion: String(this.#rv) }, items });
      }
      if (r.method === 'POST') {
        const body = r.body as Obj;
        const key = this.#key(collection, namespace, body.metadata.name);
        if (this.#objects.has(key)) return this.#status(res, 409, 'AlreadyExists', `${body.metadata.name} already exists`);
        const stored = this.#store(key, { ...body, metadata: { ...body.metadata, namespace } });
        this.#notify(collection, 'ADDED', stored);
        return this.#json(res, 201, stored);
      }
      return this.#status(res, 405, 'MethodNotAllowed', r.method);
    }
    const key = this.#key(collection, namespace, name);
    const current = this.#objects.get(key);
    if (r.method === 'GET') {
      return current ? this.#json(res, 200, current) : this.#status(res, 404, 'NotFound', `${name} not found`);
    }
    if (r.method === 'PUT') {
      if (!current) return this.#status(res, 404, 'NotFound', `${name} not found`);
      const body = r.body as Obj;
      if (body.metadata.resourceVersion !== undefined && body.metadata.resourceVersion !== current.metadata.resourceVersion) {
        return this.#status(res, 409, 'Conflict', 'the object has been modified');
      }
      const stored = this.#store(key, body);
      this.#notify(collection, 'MODIFIED', stored);
      return this.#json(res, 200, stored);
    }
    if (r.method === 'PATCH') {
      const patch = r.body as Obj;
      const base = current ?? (r.contentType === 'application/apply-patch+yaml' && sub === undefined ? { metadata: { name, namespace } } : undefined);
      if (!base) return this.#status(res, 404, 'NotFound', `${name} not found`);
      const stored = this.#store(key, mergePatch(base, patch) as Obj);
      this.#notify(collection, current ? 'MODIFIED' : 'ADDED', stored);
      return this.#json(res, current ? 200 : 201, stored);
    }
    if (r.method === 'DELETE') {
      if (!current) return this.#status(res, 404, 'NotFound', `${name} not found`);
      this.remove(collection, namespace, name);
      return this.#json(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
    }
    return this.#status(res, 405, 'MethodNotAllowed', r.method);
  }

  #kindOf(plural: string): string {
    for (const resources of this.#discovery.values()) {
      const found = resources.find((r) => r.name === plural);
      if (found) return found.kind;
    }
    const singular = plural.endsWith('s') ? plural.slice(0, -1) : plural;
    return singular.charAt(0).toUpperCase() + singular.slice(1);
  }

  #watch(r: RecordedRequest, res: ServerResponse, collection: string, namespace: string | undefined): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const from = Number(r.query.get('resourceVersion') ?? '0');
    if (from !== 0 && from < this.#oldestRv) {
      res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } })}\n`);
      return;
    }
    const watcher: Watcher = { path: r.path, collection, namespace, res };
    this.#watchers.add(watcher);
    res.on('close', () => this.#watchers.delete(watcher));
    res.flushHeaders();
  }
}


/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}
