// Operator settings, from flags or environment variables (flags win). `node operator/main.ts --help`.
import { parseArgs } from 'node:util';

export interface OperatorConfig {
  kubeconfig?: string;
  /** Namespace of the leader-election Lease. */
  leaseNamespace: string;
  /** Watch only this namespace (default all). */
  namespace?: string;
  concurrency: number;
  metricsPort: number;
  imageRegistry: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** Address clients use for NodePort tenants; default: the first host node's InternalIP. */
  nodeAddress?: string;
  installCRDs: boolean;
  logLevel: string;
  /** The REST API's service account: tcps the API created get a Role + RoleBinding to read their API_READ_SECRETS. */
  apiServiceAccount?: { namespace: string; name: string };
}

export const USAGE = `usage: node operator/main.ts [options]
  --kubeconfig PATH          host cluster (env KUBECONFIG; in a pod: the service account)
  --lease-namespace NS       namespace of the leader-election Lease (env LEASE_NAMESPACE, default kubeception-system)
  --namespace NS             watch one namespace only (env WATCH_NAMESPACE, default all); it must exist
  --api-service-account NS/NAME  the REST API's service account (env API_SERVICE_ACCOUNT): for every tcp
                             the API created, let it get that tcp's CA and admin kubeconfig Secrets
                             (a Role + RoleBinding <name>-api-secret-reader); default: no grant
  --concurrency N            tenants reconciled at once (env CONCURRENCY, default 8)
  --metrics-port N           /metrics, /healthz, /readyz (env METRICS_PORT, default 9090)
  --image-registry PREFIX    registry of control-plane images (env IMAGE_REGISTRY, default registry.k8s.io)
  --image-pull-policy P      Always | IfNotPresent | Never (env IMAGE_PULL_POLICY, default IfNotPresent)
  --node-address ADDR        address of the host nodes for NodePort tenants (env NODE_ADDRESS, default: a node's InternalIP)
  --no-install-crds          do not apply the CRD at start (env INSTALL_CRDS=false)
  --log-level LEVEL          pino level (env LOG_LEVEL, default info)`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** `NAMESPACE/NAME` of a service account; unset or empty: none. */
function parseServiceAccount(value: string | undefined): OperatorConfig['apiServiceAccount'] {
  if (value === undefined || value === '') return undefined;
  const [namespace, name, ...rest] = value.split('/');
  if (rest.length > 0 || namespace === undefined || name === undefined || !DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(name)) {
    throw new Error(`--api-service-account (API_SERVICE_ACCOUNT) must be NAMESPACE/NAME of a service account, e.g. kubeception-system/kubeception-api, got ${JSON.stringify(value)}`);
  }
  return { namespace, name };
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): OperatorConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      'lease-namespace': { type: 'string' },
      namespace: { type: 'string' },
      concurrency: { type: 'string' },
      'metrics-port': { type: 'string' },
      'image-registry': { type: 'string' },
      'image-pull-policy': { type: 'string' },
      'node-address': { type: 'string' },
      'no-install-crds': { type: 'boolean' },
      'log-level': { type: 'string' },
      'api-service-account': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) throw new Error(USAGE);
  const int = (name: string, raw: string | undefined, fallback: number, min: number, max: number) => {
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, got ${raw}`);
    return n;
  };
  const pull = values['image-pull-policy'] ?? env.IMAGE_PULL_POLICY ?? 'IfNotPresent';
  if (!['Always', 'IfNotPresent', 'Never'].includes(pull)) throw new Error(`--image-pull-policy must be Always, IfNotPresent or Never, got ${pull}`);
  const apiServiceAccount = parseServiceAccount(values['api-service-account'] ?? env.API_SERVICE_ACCOUNT);
  const namespace = values.namespace ?? env.WATCH_NAMESPACE;
  if (namespace !== undefined && namespace !== '' && !DNS_LABEL.test(namespace)) throw new Error(`--namespace (WATCH_NAMESPACE) must be a namespace name, got ${JSON.stringify(namespace)}`);
  return {
    kubeconfig: values.kubeconfig ?? env.KUBECONFIG,
    leaseNamespace: values['lease-namespace'] ?? env.LEASE_NAMESPACE ?? 'kubeception-system',
    namespace: namespace === '' ? undefined : namespace,
    concurrency: int('concurrency', values.concurrency ?? env.CONCURRENCY, 8, 1, 64),
    metricsPort: int('metrics-port', values['metrics-port'] ?? env.METRICS_PORT, 9090, 0, 65535),
    imageRegistry: values['image-registry'] ?? env.IMAGE_REGISTRY ?? 'registry.k8s.io',
    imagePullPolicy: pull as OperatorConfig['imagePullPolicy'],
    nodeAddress: values['node-address'] ?? env.NODE_ADDRESS,
    installCRDs: !(values['no-install-crds'] ?? env.INSTALL_CRDS === 'false'),
    logLevel: values['log-level'] ?? env.LOG_LEVEL ?? 'info',
    ...(apiServiceAccount === undefined ? {} : { apiServiceAccount }),
  };
}
