// Settings of the API process, from command-line flags with environment fallbacks (flags win).
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import type { NamespaceLayout } from './host/cluster-store.ts';
import { DEFAULT_ACCOUNT_LIMITS, type AccountLimits } from './quotas.ts';
import type { TlsFiles } from './tls.ts';
import { SERVICE_TYPES } from '../crds/schema/tenant-control-plane.ts';

export type ServiceType = (typeof SERVICE_TYPES)[number];

export interface ApiConfig {
  host: string;
  port: number;
  /** Host kubeconfig; undefined: in-cluster service account, else the default loading rules. */
  kubeconfig?: string;
  /** Namespace of the API's own state: API keys, idempotency records, usage periods, the metering Lease. */
  namespace: string;
  layout: NamespaceLayout;
  rateLimit: { capacity: number; refillPerSecond: number };
  /** Quotas of accounts without an entry in the kubeception-account-limits ConfigMap. */
  defaultLimits: AccountLimits;
  /** Seconds between metering / cleanup passes. */
  meteringIntervalSeconds: number;
  logLevel: string;
  /** Addresses/CIDRs of the proxies whose X-Forwarded-For is believed; empty: none. */
  trustProxy: string[];
  /** Serve HTTPS with this pair (reloaded when the files change); unset only with insecureHttp. */
  tls?: TlsFiles;
  /** Plain HTTP, asked for explicitly (--insecure-http); server.ts logs a warning. */
  insecureHttp: boolean;
  /** spec.networkProfile.serviceType of clusters created through the API (DEFAULT_SERVICE_TYPE when not given). */
  defaultServiceType: ServiceType;
}

export const USAGE = `Usage: node api/server.ts [options]

  --host <addr>                 listen address (API_HOST, default 0.0.0.0)
  --port <n>                    listen port (API_PORT, default 8080)
  --kubeconfig <path>           host cluster kubeconfig (KUBECONFIG; in a pod: its service account)
  --namespace <ns>              where API keys, idempotency records, usage periods and the metering Lease live
                                (KUBECEPTION_API_NAMESPACE, default kubeception-system)
  --cluster-namespace <ns>      put every TenantControlPlane in this one namespace
                                (KUBECEPTION_CLUSTER_NAMESPACE; default: one namespace per cluster)
  --cluster-namespace-prefix <p> prefix of per-cluster namespaces (default kc-: kc-<cluster id>)
  --rate-limit-burst <n>        requests an account may burst (default 100)
  --rate-limit-per-second <n>   sustained requests per second per account (default 20)
  --max-clusters-per-account <n>  default quota: clusters an account may have
                                (API_MAX_CLUSTERS_PER_ACCOUNT, default ${DEFAULT_ACCOUNT_LIMITS.maxClusters})
  --max-join-tokens-per-cluster <n> default quota: live join tokens per cluster
                                (API_MAX_JOIN_TOKENS_PER_CLUSTER, default ${DEFAULT_ACCOUNT_LIMITS.maxJoinTokensPerCluster})
  --max-kubeconfigs-per-hour <n>  default rate: kubeconfigs an account is issued per UTC hour
                                (API_MAX_KUBECONFIGS_PER_HOUR, default ${DEFAULT_ACCOUNT_LIMITS.maxKubeconfigsPerHour});
                                0 forbids; per-account overrides: ConfigMap kubeception-account-limits
  --metering-interval <s>       seconds between metering passes (default 60)
  --log-level <level>           pino level (LOG_LEVEL, default info)
  --trust-proxy <list>          comma-separated addresses or CIDRs of the proxies in front of the API
                                (API_TRUST_PROXY, e.g. 10.0.0.0/8,192.168.1.5; or loopback, linklocal,
                                uniquelocal): the client address is taken from X-Forwarded-For only when
                                the request comes from one of them. Default: none (the peer's address)
  --tls-cert-file <path>        the HTTPS certificate (PEM, chain allowed; API_TLS_CERT_FILE); required
                                with --tls-key-file unless --insecure-http; both files are re-read every
                                10 s and a changed pair is served without a restart (a renewed Secret)
  --tls-key-file <path>         its private key (PEM; API_TLS_KEY_FILE)
  --insecure-http               serve plain HTTP instead (API_INSECURE_HTTP=true): only behind a proxy that
                                terminates TLS, or on loopback for tests; logged as a warning at start
  --default-service-type <t>    how new clusters are exposed: ClusterIP, NodePort or LoadBalancer
                                (DEFAULT_SERVICE_TYPE; default LoadBalancer: reachable from outside the
                                host where it has a load balancer; ClusterIP is reachable only inside it)

API keys: node api/keys-cli.ts --help`;

function positiveNumber(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new Error(`${what} must be a positive number, got ${JSON.stringify(value)}`);
  return number;
}

function wholeNumber(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new Error(`${what} must be a whole number >= 0, got ${JSON.stringify(value)}`);
  return number;
}

const unset = (value: string | undefined): value is undefined | '' => value === undefined || value === '';

/**
 * HTTPS needs both files; plain HTTP needs --insecure-http and no files. A certificate without its key (or the
 * reverse), or no TLS settings at all, is a broken install, never a silent fall back to plain HTTP.
 */
function transport(certFile: string | undefined, keyFile: string | undefined, insecureHttp: boolean): TlsFiles | undefined {
  if (insecureHttp) {
    if (!unset(certFile) || !unset(keyFile)) throw new Error('--insecure-http (API_INSECURE_HTTP) and --tls-cert-file/--tls-key-file contradict each other: give the files to serve HTTPS, or --insecure-http alone');
    return undefined;
  }
  if (unset(certFile) && unset(keyFile)) {
    throw new Error('the API serves HTTPS: give --tls-cert-file and --tls-key-file (API_TLS_CERT_FILE, API_TLS_KEY_FILE), or --insecure-http (API_INSECURE_HTTP=true) to serve plain HTTP behind a proxy that terminates TLS');
  }
  if (unset(certFile)) throw new Error('--tls-key-file (API_TLS_KEY_FILE) is set but --tls-cert-file (API_TLS_CERT_FILE) is not: HTTPS needs both');
  if (unset(keyFile)) throw new Error('--tls-cert-file (API_TLS_CERT_FILE) is set but --tls-key-file (API_TLS_KEY_FILE) is not: HTTPS needs both');
  return { certFile, keyFile };
}

const TRUST_PROXY_HELP =
  'give the addresses or CIDRs of the proxies in front of the API, comma-separated (e.g. --trust-proxy 10.0.0.0/8,192.168.1.5, ' +
  'or loopback, linklocal, uniquelocal), or leave it unset when clients connect directly';
/** proxy-addr's names for well-known ranges, which fastify's trustProxy list accepts. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function trustedProxy(entry: string): string {
  if (NAMED_RANGES.has(entry)) return entry;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) throw new Error(`--trust-proxy (API_TRUST_PROXY): ${JSON.stringify(entry)} is not an address or CIDR; ${TRUST_PROXY_HELP}`);
  if (prefix === undefined) return entry;
  const bits = Number(prefix);
  if (!/^\d{1,3}$/.test(prefix) || bits > (family === 4 ? 32 : 128)) throw new Error(`--trust-proxy (API_TRUST_PROXY): ${JSON.stringify(entry)} has an invalid prefix length; ${TRUST_PROXY_HELP}`);
  if (bits === 0) throw new Error(`--trust-proxy (API_TRUST_PROXY): ${entry} trusts every address, so any client could choose its address; ${TRUST_PROXY_HELP}`);
  return entry;
}

/**
 * The proxies whose X-Forwarded-For is believed. "Trust everyone" (true, all, *) is refused: behind it any
 * client sets its own address and escapes the per-address failure limit, and a bare flag (the old boolean
 * form) is refused with what to pass instead.
 */
export function parseTrustProxy(value: string | undefined): string[] {
  if (unset(value)) return [];
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  for (const entry of entries) {
    if (/^(true|false|yes|no|1|0|all|\*)$/i.test(entry)) {
      throw new Error(`--trust-proxy (API_TRUST_PROXY) no longer takes ${JSON.stringify(entry)}: trusting every X-Forwarded-For lets any client choose its address; ${TRUST_PROXY_HELP}`);
    }
  }
  return entries.map(trustedProxy);
}

/** `--trust-proxy` with no value after it (the old boolean flag): parseArgs' own message would not say what to pass. */
function refuseBareTrustProxy(argv: string[]): void {
  const at = argv.indexOf('--trust-proxy');
  if (at !== -1 && (at === argv.length - 1 || argv[at + 1]!.startsWith('-'))) throw new Error(`--trust-proxy needs a value: ${TRUST_PROXY_HELP}`);
}

const truthy = (value: string | undefined) => value !== undefined && /^(true|1|yes)$/i.test(value);

/**
 * Customers reach their clusters from outside the host: a ClusterIP endpoint would hand them a kubeconfig
 * that works nowhere they stand. Hosts without a load balancer choose NodePort (with the operator's --node-address).
 */
export const DEFAULT_SERVICE_TYPE: ServiceType = 'LoadBalancer';

function serviceType(value: string | undefined): ServiceType {
  if (unset(value)) return DEFAULT_SERVICE_TYPE;
  if (!(SERVICE_TYPES as readonly string[]).includes(value)) {
    throw new Error(`--default-service-type (DEFAULT_SERVICE_TYPE) must be one of ${SERVICE_TYPES.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as ServiceType;
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): ApiConfig {
  refuseBareTrustProxy(argv);
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      'cluster-namespace': { type: 'string' },
      'cluster-namespace-prefix': { type: 'string' },
      'rate-limit-burst': { type: 'string' },
      'rate-limit-per-second': { type: 'string' },
      'metering-interval': { type: 'string' },
      'max-clusters-per-account': { type: 'string' },
      'max-join-tokens-per-cluster': { type: 'string' },
      'max-kubeconfigs-per-hour': { type: 'string' },
      'log-level': { type: 'string' },
      'trust-proxy': { type: 'string' },
      'tls-cert-file': { type: 'string' },
      'tls-key-file': { type: 'string' },
      'insecure-http': { type: 'boolean' },
      'default-service-type': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) throw new Error(USAGE);
  const port = positiveNumber(values.port ?? env.API_PORT, 8080, '--port');
  if (!Number.isInteger(port) || port > 65535) throw new Error(`--port must be 1..65535, got ${port}`);
  const sharedNamespace = values['cluster-namespace'] ?? env.KUBECEPTION_CLUSTER_NAMESPACE;
  const layout: NamespaceLayout =
    sharedNamespace !== undefined && sharedNamespace !== ''
      ? { kind: 'shared', namespace: sharedNamespace }
      : { kind: 'per-cluster', prefix: values['cluster-namespace-prefix'] ?? 'kc-' };
  const kubeconfig = values.kubeconfig ?? env.KUBECONFIG;
  const insecureHttp = values['insecure-http'] ?? truthy(env.API_INSECURE_HTTP);
  const tls = transport(values['tls-cert-file'] ?? env.API_TLS_CERT_FILE, values['tls-key-file'] ?? env.API_TLS_KEY_FILE, insecureHttp);
  const trustProxy = parseTrustProxy(values['trust-proxy'] ?? env.API_TRUST_PROXY);
  const defaultServiceType = serviceType(values['default-service-type'] ?? env.DEFAULT_SERVICE_TYPE);
  return {
    host: values.host ?? env.API_HOST ?? '0.0.0.0',
    port,
    ...(kubeconfig === undefined || kubeconfig === '' ? {} : { kubeconfig }),
    namespace: values.namespace ?? env.KUBECEPTION_API_NAMESPACE ?? 'kubeception-system',
    layout,
    rateLimit: {
      capacity: positiveNumber(values['rate-limit-burst'], 100, '--rate-limit-burst'),
      refillPerSecond: positiveNumber(values['rate-limit-per-second'], 20, '--rate-limit-per-second'),
    },
    defaultLimits: {
      maxClusters: wholeNumber(values['max-clusters-per-account'] ?? env.API_MAX_CLUSTERS_PER_ACCOUNT, DEFAULT_ACCOUNT_LIMITS.maxClusters, '--max-clusters-per-account'),
      maxJoinTokensPerCluster: wholeNumber(
        values['max-join-tokens-per-cluster'] ?? env.API_MAX_JOIN_TOKENS_PER_CLUSTER,
        DEFAULT_ACCOUNT_LIMITS.maxJoinTokensPerCluster,
        '--max-join-tokens-per-cluster',
      ),
      maxKubeconfigsPerHour: wholeNumber(values['max-kubeconfigs-per-hour'] ?? env.API_MAX_KUBECONFIGS_PER_HOUR, DEFAULT_ACCOUNT_LIMITS.maxKubeconfigsPerHour, '--max-kubeconfigs-per-hour'),
    },
    meteringIntervalSeconds: positiveNumber(values['metering-interval'], 60, '--metering-interval'),
    logLevel: values['log-level'] ?? env.LOG_LEVEL ?? 'info',
    trustProxy,
    ...(tls === undefined ? {} : { tls }),
    insecureHttp,
    defaultServiceType,
  };
}
