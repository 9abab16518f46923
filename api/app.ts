// Builds the fastify app from injected dependencies: the host-cluster stores in production, the
// in-memory ones in unit tests and the benchmark. No I/O happens here beyond what they do.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifySchema } from 'fastify';
import { registerAuth, type AuthStore } from './auth.ts';
import type { ClusterStore } from './cluster-store.ts';
import { IdempotentCreates, type IdempotencyStore } from './idempotency.ts';
import type { KeyUsageRecorder } from './key-usage.ts';
import { MemoryIssuanceCounter, type IssuanceCounter } from './issuance-counter.ts';
import { registerJsonBodies } from './content-types.ts';
import { Meter, type LegacyUsage } from './metering.ts';
import { registerMethodNotAllowed } from './methods.ts';
import { collectRoutes, registerDocs } from './openapi.ts';
import { registerProblemHandlers } from './problems.ts';
import { StaticAccountLimits, type AccountLimitsSource } from './quotas.ts';
import { registerAccountRateLimit, TokenBucketLimiter } from './rate-limit.ts';
import { clusterRoutes } from './routes/clusters.ts';
import { healthRoutes } from './routes/health.ts';
import { joinTokenRoutes } from './routes/join-tokens.ts';
import { kubeconfigRoutes } from './routes/kubeconfig.ts';
import { limitRoutes } from './routes/limits.ts';
import { usageRoutes } from './routes/usage.ts';
import { versionRoutes } from './routes/versions.ts';
import { DEFAULT_LIMITS, SHARED_SCHEMAS, type ApiLimits } from './schemas.ts';
import type { TcpValidator } from './tcp-validation.ts';
import type { TenantAccess } from './tenant-access.ts';
import type { TlsMaterial } from './tls.ts';
import type { ServiceType } from './config.ts';
import { systemClock, type Clock } from './types.ts';
import type { UsageStore } from './usage-store.ts';
import { installValidation } from './validation.ts';

export interface RateLimitSettings {
  capacity: number;
  refillPerSecond: number;
}

export interface AppDependencies {
  clusters: ClusterStore;
  auth: AuthStore;
  idempotency: IdempotencyStore;
  /** Usage periods (metering). */
  usage: UsageStore;
  /** The old per-account usage ledgers, folded into periods by the metering pass. */
  legacyUsage?: LegacyUsage;
  tenants: TenantAccess;
  clock?: Clock;
  /** A pino logger; none (silent) when absent. */
  logger?: FastifyBaseLogger;
  /** Per account; default 100 burst, 20/s. */
  rateLimit?: RateLimitSettings;
  /** Failed authentications per client address (DEFAULT_AUTH_FAILURE_LIMIT). Never applied to a valid key. */
  authFailureLimit?: RateLimitSettings;
  /** Failed authentications per presented key prefix, auth.ts keyFailureBucket (DEFAULT_KEY_FAILURE_LIMIT). */
  keyFailureLimit?: RateLimitSettings;
  /** Records each key's last use (host: a ConfigMap beside the key store, at most once a minute per key). */
  keyUsage?: KeyUsageRecorder;
  limits?: ApiLimits;
  /** Quotas per account (clusters, join tokens per cluster, kubeconfigs per hour); default: DEFAULT_ACCOUNT_LIMITS for all. */
  accountLimits?: AccountLimitsSource;
  /** Counts kubeconfig issuances per account and hour; default: in memory (one replica). */
  issuance?: IssuanceCounter;
  /** Checks the spec a create would send against the CRD's schema. */
  validateTcp?: TcpValidator;
  /** Extra readiness checks (the auth store's reachability, for instance). */
  checkReady?: () => Promise<void>;
  /** Cluster id generator (tests pin it). */
  newClusterId?: () => string;
  /** Largest request body in bytes (default 64 KiB: the API takes small JSON documents). */
  bodyLimit?: number;
  /**
   * Addresses or CIDRs of the proxies in front of the API: X-Forwarded-For is believed only from them.
   * Empty or absent: the peer's address is the client's. Never "any" (a client would choose its address).
   */
  trustProxy?: readonly string[];
  /** Serve HTTPS with this certificate and key (server.ts reloads them through server.setSecureContext). */
  https?: TlsMaterial;
  /** spec.networkProfile.serviceType of new clusters; unset leaves it to the CRD's default. */
  defaultServiceType?: ServiceType;
}

/** Failed authentications per client address: a burst of 20, then 1 a second. Never applied to a valid key. */
export const DEFAULT_AUTH_FAILURE_LIMIT: RateLimitSettings = { capacity: 20, refillPerSecond: 1 };
/** Failed authentications per presented key prefix: a burst of 10, then 1 every 10 s. */
export const DEFAULT_KEY_FAILURE_LIMIT: RateLimitSettings = { capacity: 10, refillPerSecond: 0.1 };

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export const API_INFO = {
  title: 'Kubeception API',
  version: 'v1',
  description:
    'Clusters as a service for the billing portal. Authenticate with "Authorization: Bearer <API key>". ' +
    'Errors are RFC 9457 problem+json. Long operations answer 202: poll the cluster. Creates accept an Idempotency-Key. ' +
    'Every response carries X-Request-Id (send your own to correlate); authenticated ones carry RateLimit-* headers.',
};

export async function buildApp(deps: AppDependencies): Promise<FastifyInstance> {
  const clock = deps.clock ?? systemClock;
  const limits = deps.limits ?? DEFAULT_LIMITS;
  const app = Fastify({
    ...(deps.logger === undefined ? { logger: false } : { loggerInstance: deps.logger }),
    // A caller's X-Request-Id is kept when it is reasonable, so portal and API logs line up.
    genReqId: (request) => {
      const header = request.headers['x-request-id'];
      return typeof header === 'string' && REQUEST_ID_PATTERN.test(header) ? header : randomUUID();
    },
    bodyLimit: deps.bodyLimit ?? 64 * 1024,
    trustProxy: deps.trustProxy !== undefined && deps.trustProxy.length > 0 ? [...deps.trustProxy] : false,
    // Deep or huge query strings are not something this API takes. `/v1/clusters/` is `/v1/clusters`
    // (clients that join a base URL and a path often leave one).
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: true },
    return503OnClosing: true,
    ...(deps.https === undefined ? {} : { https: { cert: deps.https.cert, key: deps.https.key } }),
  });

  // The API takes JSON only: anything else is 415 rather than a string that then fails validation.
  app.removeContentTypeParser('text/plain');
  registerJsonBodies(app);
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  installValidation(app, SHARED_SCHEMAS);
  registerProblemHandlers(app);
  const routes = collectRoutes(app);
  registerMethodNotAllowed(app, routes);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  registerAuth(app, {
    store: deps.auth,
    clock,
    addressFailures: new TokenBucketLimiter({ ...DEFAULT_AUTH_FAILURE_LIMIT, ...deps.authFailureLimit, clock }),
    keyFailures: new TokenBucketLimiter({ ...DEFAULT_KEY_FAILURE_LIMIT, ...deps.keyFailureLimit, clock }),
    ...(deps.keyUsage === undefined ? {} : { usage: deps.keyUsage }),
  });
  registerAccountRateLimit(app, new TokenBucketLimiter({ capacity: 100, refillPerSecond: 20, ...deps.rateLimit, clock }));

  const meter = new Meter({
    clusters: deps.clusters,
    store: deps.usage,
    nodes: deps.tenants,
    clock,
    ...(deps.legacyUsage ? { legacy: deps.legacyUsage } : {}),
    ...(deps.logger ? { log: deps.logger } : {}),
  });
  const idempotency = new IdempotentCreates({ store: deps.idempotency, clock });
  const accountLimits = deps.accountLimits ?? new StaticAccountLimits();
  const issuance = deps.issuance ?? new MemoryIssuanceCounter();

  await app.register(healthRoutes, {
    checkReady: async () => {
      await deps.clusters.ready();
      await deps.checkReady?.();
    },
  });
  await app.register(versionRoutes);
  await app.register(clusterRoutes, {
    clusters: deps.clusters,
    idempotency,
    clock,
    accountLimits,
    ...(deps.validateTcp === undefined ? {} : { validateTcp: deps.validateTcp }),
    ...(deps.newClusterId === undefined ? {} : { newId: deps.newClusterId }),
    ...(deps.defaultServiceType === undefined ? {} : { defaultServiceType: deps.defaultServiceType }),
  });
  await app.register(kubeconfigRoutes, {
    clusters: deps.clusters,
    tenants: deps.tenants,
    limits,
    accountLimits,
    issuance,
    clock,
  });
  await app.register(joinTokenRoutes, { clusters: deps.clusters, tenants: deps.tenants, limits, accountLimits });
  await app.register(usageRoutes, { clusters: deps.clusters, store: deps.usage, clock });
  await app.register(limitRoutes, { clusters: deps.clusters, accountLimits, issuance, clock });
  // Prometheus text for the metering counters; no account in any label. Not part of the portal API (hidden from the docs).
  app.get('/metrics', { schema: { hide: true } as FastifySchema }, async (_request, reply) => {
    reply.type(meter.registry.contentType);
    return meter.registry.metrics();
  });
  registerDocs(app, API_INFO, routes, SHARED_SCHEMAS);
  app.decorate('meter', meter);
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's usage meter: server.ts runs its tick periodically. */
    meter: Meter;
  }
}
