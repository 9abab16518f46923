// Settings of the API process, from command-line flags with environment fallbacks (flags win).
import { parseArgs } from 'node:util';
import type { NamespaceLayout } from './host/cluster-store.ts';

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

API keys: node api/keys-cli.ts --help`;

function positiveNumber(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new Error(`${what} must be a positive number, got ${JSON.stringify(value)}`);
  return number;
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
  };
}
