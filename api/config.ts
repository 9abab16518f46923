// Settings of the API process, from command-line flags with environment fallbacks (flags win).
import { parseArgs } from 'node:util';
import type { NamespaceLayout } from './host/cluster-store.ts';
import type { TlsFiles } from './tls.ts';
import { SERVICE_TYPES } from '../crds/schema/tenant-control-plane.ts';

export type ServiceType = (typeof SERVICE_TYPES)[number];

export interface ApiConfig {
  host: string;
  port: number;
  /** Host kubeconfig; undefined: in-cluster service account, else the default loading rules. */
  kubeconfig?: string;
  /** Namespace of the API's own state: API keys, idempotency records, usage ledgers. */
  namespace: string;
  layout: NamespaceLayout;
  rateLimit: { capacity: number; refillPerSecond: number };
  /** Seconds between metering / cleanup passes. */
  meteringIntervalSeconds: number;
  logLevel: string;
  trustProxy: boolean;
  /** Serve HTTPS with this pair (reloaded when the files change); unset: plain HTTP. */
  tls?: TlsFiles;
  /** spec.networkProfile.serviceType of clusters created through the API (DEFAULT_SERVICE_TYPE when not given). */
  defaultServiceType: ServiceType;
}

export const USAGE = `Usage: node api/server.ts [options]

  --host <addr>                 listen address (API_HOST, default 0.0.0.0)
  --port <n>                    listen port (API_PORT, default 8080)
  --kubeconfig <path>           host cluster kubeconfig (KUBECONFIG; in a pod: its service account)
  --namespace <ns>              where API keys, idempotency records and usage ledgers live
                                (KUBECEPTION_API_NAMESPACE, default kubeception-system)
  --cluster-namespace <ns>      put every TenantControlPlane in this one namespace
                                (KUBECEPTION_CLUSTER_NAMESPACE; default: one namespace per cluster)
  --cluster-namespace-prefix <p> prefix of per-cluster namespaces (default kc-: kc-<cluster id>)
  --rate-limit-burst <n>        requests an account may burst (default 100)
  --rate-limit-per-second <n>   sustained requests per second per account (default 20)
  --metering-interval <s>       seconds between metering passes (default 60)
  --log-level <level>           pino level (LOG_LEVEL, default info)
  --trust-proxy                 take client addresses from X-Forwarded-For
  --tls-cert-file <path>        serve HTTPS with this certificate (PEM, chain allowed; API_TLS_CERT_FILE);
                                needs --tls-key-file; both files are re-read every 10 s and a changed
                                pair is served without a restart (a mounted Secret updated in place)
  --tls-key-file <path>         its private key (PEM; API_TLS_KEY_FILE)
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

const unset = (value: string | undefined): value is undefined | '' => value === undefined || value === '';

/** Both or neither: a certificate without its key (or the reverse) is a broken install, not plain HTTP. */
function tlsFiles(certFile: string | undefined, keyFile: string | undefined): TlsFiles | undefined {
  if (unset(certFile) && unset(keyFile)) return undefined;
  if (unset(certFile)) throw new Error('--tls-key-file (API_TLS_KEY_FILE) is set but --tls-cert-file (API_TLS_CERT_FILE) is not: give both to serve HTTPS, or neither');
  if (unset(keyFile)) throw new Error('--tls-cert-file (API_TLS_CERT_FILE) is set but --tls-key-file (API_TLS_KEY_FILE) is not: give both to serve HTTPS, or neither');
  return { certFile, keyFile };
}

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
      'log-level': { type: 'string' },
      'trust-proxy': { type: 'boolean' },
      'tls-cert-file': { type: 'string' },
      'tls-key-file': { type: 'string' },
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
  const tls = tlsFiles(values['tls-cert-file'] ?? env.API_TLS_CERT_FILE, values['tls-key-file'] ?? env.API_TLS_KEY_FILE);
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
    meteringIntervalSeconds: positiveNumber(values['metering-interval'], 60, '--metering-interval'),
    logLevel: values['log-level'] ?? env.LOG_LEVEL ?? 'info',
    trustProxy: values['trust-proxy'] ?? false,
    ...(tls === undefined ? {} : { tls }),
    defaultServiceType,
  };
}
