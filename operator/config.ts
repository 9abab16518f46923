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
  /** The validating admission webhook (operator/admission); undefined = not served. */
  webhook?: WebhookConfig;
}

export interface WebhookConfig {
  port: number;
  /** The Service the API server calls the webhook through: names its certificate, holds its Secret. */
  service: { namespace: string; name: string };
  /** The ValidatingWebhookConfiguration whose caBundle the operator sets; undefined = left alone. */
  configuration?: string;
}

export const USAGE = `usage: node operator/main.ts [options]
  --kubeconfig PATH          host cluster (env KUBECONFIG; in a pod: the service account)
  --lease-namespace NS       namespace of the leader-election Lease (env LEASE_NAMESPACE, default kubeception-system)
  --namespace NS             watch one namespace only (env WATCH_NAMESPACE, default all); it must exist
  --api-service-account NS/NAME  the REST API's service account (env API_SERVICE_ACCOUNT): for every tcp
                             the API created, let it get that tcp's portal kubeconfig Secret, the API's
                             narrow identity in the tenant (a Role + RoleBinding <name>-api-secret-reader);
                             default: no grant
  --concurrency N            tenants reconciled at once (env CONCURRENCY, default 8)
  --metrics-port N           /metrics, /healthz, /readyz (env METRICS_PORT, default 9090)
  --image-registry PREFIX    registry of control-plane images (env IMAGE_REGISTRY, default registry.k8s.io)
  --image-pull-policy P      Always | IfNotPresent | Never (env IMAGE_PULL_POLICY, default IfNotPresent)
  --node-address ADDR        address of the host nodes for NodePort tenants, e.g. a VIP (env NODE_ADDRESS; default:
                             a Ready node's InternalIP, kept while that node is Ready)
  --webhook-port N           the admission webhook's HTTPS port, on every replica (env WEBHOOK_PORT; 0 = off;
                             default 9443 in a pod, 0 when run as a local process)
  --webhook-service NS/NAME  the Service in front of the webhook (env WEBHOOK_SERVICE; required with a port):
                             its certificate is for NAME.NS.svc, kept in the Secret NS/NAME-tls
  --webhook-configuration NAME  the ValidatingWebhookConfiguration whose caBundle the operator sets
                             (env WEBHOOK_CONFIGURATION; default: not touched)
  --no-install-crds          do not apply the CRD at start (env INSTALL_CRDS=false)
  --log-level LEVEL          pino level (env LOG_LEVEL, default info)`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** `NAMESPACE/NAME` of an object whose name is a DNS subdomain (or `label`); unset or empty: none. */
function parseNamespacedName(value: string | undefined, setting: string, what: string, name: RegExp = DNS_SUBDOMAIN) {
  if (value === undefined || value === '') return undefined;
  const [namespace, objectName, ...rest] = value.split('/');
  if (rest.length > 0 || namespace === undefined || objectName === undefined || !DNS_LABEL.test(namespace) || !name.test(objectName)) {
    throw new Error(`${setting} must be NAMESPACE/NAME of ${what}, got ${JSON.stringify(value)}`);
  }
  return { namespace, name: objectName };
}

function parseServiceAccount(value: string | undefined): OperatorConfig['apiServiceAccount'] {
  return parseNamespacedName(value, '--api-service-account (API_SERVICE_ACCOUNT)', 'a service account, e.g. kubeception-system/kubeception-api');
}

/**
 * The webhook settings. Its port defaults to 9443 in a pod (the kubelet sets KUBERNETES_SERVICE_HOST) and
 * to off elsewhere: a local operator (`npm start`) is not behind a Service the host API server can call.
 */
function parseWebhook(port: number, serviceText: string | undefined, configuration: string | undefined): OperatorConfig['webhook'] {
  if (port === 0) return undefined;
  // A Service name is a DNS label, and `<name>-tls` must still be a Secret name.
  const service = parseNamespacedName(serviceText, '--webhook-service (WEBHOOK_SERVICE)', 'the webhook Service, e.g. kubeception-system/kubeception-operator-webhook', DNS_LABEL);
  if (service === undefined) {
    throw new Error('--webhook-service (WEBHOOK_SERVICE) is required when the admission webhook is served (--webhook-port is not 0): its certificate is for that Service');
  }
  if (configuration !== undefined && configuration !== '' && !DNS_SUBDOMAIN.test(configuration)) {
    throw new Error(`--webhook-configuration (WEBHOOK_CONFIGURATION) must be the name of a ValidatingWebhookConfiguration, got ${JSON.stringify(configuration)}`);
  }
  return { port, service, ...(configuration ? { configuration } : {}) };
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
      'webhook-port': { type: 'string' },
      'webhook-service': { type: 'string' },
      'webhook-configuration': { type: 'string' },
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
  const webhook = parseWebhook(
    int('webhook-port', values['webhook-port'] ?? env.WEBHOOK_PORT, env.KUBERNETES_SERVICE_HOST ? 9443 : 0, 0, 65535),
    values['webhook-service'] ?? env.WEBHOOK_SERVICE,
    values['webhook-configuration'] ?? env.WEBHOOK_CONFIGURATION,
  );
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
    ...(webhook === undefined ? {} : { webhook }),
  };
}
