// The operator process: installs the CRD, elects a leader through a Lease, and while leading runs the
// TenantControlPlane controller. Serves /metrics, /healthz and /readyz all the time, and on every replica
// (leader or not) the validating admission webhook when configured (operator/admission).
import { readFile } from 'node:fs/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { parseConfig, USAGE, type OperatorConfig, type WebhookConfig } from './config.ts';
import { GROUP, KubeClient, LeaderElector, PLURAL, TenantClients, apply, createLogger, productVersion, type Applicable, type Logger } from '../core/index.ts';
import { EventRecorder } from './runtime/events.ts';
import { createMetrics, operatorReady, startHealthServer } from './runtime/metrics.ts';
import { TenantController } from './controller/tenant-controller.ts';
import { nodePortAddress } from './controller/node-address.ts';
import { tenantBootstrapper } from './controller/tenant-bootstrap.ts';
import { checkWatchNamespace } from './watch-namespace.ts';
import { startAdmissionWebhook, type AdmissionWebhook } from './admission/admission-webhook.ts';

const crdFile = new URL(`../crds/${GROUP}_${PLURAL}.yaml`, import.meta.url);

async function installCRD(client: KubeClient): Promise<void> {
  const crd = parse(await readFile(crdFile, 'utf8')) as Applicable;
  await apply(client, crd);
  // wait until the API server serves the new resource
  for (let i = 0; i < 100; i++) {
    const got = await client.request<{ status?: { conditions?: { type: string; status: string }[] } }>('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata!.name}`);
    if (got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the TenantControlPlane CRD did not become Established');
}

async function ensureNamespace(client: KubeClient, name: string): Promise<void> {
  await apply(client, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

export async function runOperator(config: OperatorConfig): Promise<{ stop: () => Promise<void> }> {
  const logger = createLogger('kubeception-operator', config.logLevel);
  const kc = new KubeConfig();
  // Without a kubeconfig: $KUBECONFIG, ~/.kube/config, else (in a pod) the service account's token and CA.
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromDefault();
  const client = new KubeClient(kc);
  try {
    return await startOperator(config, client, logger);
  } catch (error) {
    await client.close();
    throw error;
  }
}

async function startOperator(config: OperatorConfig, client: KubeClient, logger: Logger): Promise<{ stop: () => Promise<void> }> {
  if (config.namespace !== undefined && (await checkWatchNamespace(client, config.namespace)) === 'unknown') {
    logger.warn({ namespace: config.namespace }, 'cannot read namespaces (RBAC): not checked that the watched namespace exists');
  }
  if (config.installCRDs) await installCRD(client);
  await ensureNamespace(client, config.leaseNamespace);
  // Before the health server: a replica is ready only once it can answer reviews (the webhook Service
  // sends them to ready pods), and a start that cannot get its certificate fails here, loudly.
  const webhook = config.webhook ? await startWebhook(config.webhook, config.namespace, client, logger) : undefined;
  try {
    return await startReplica(config, client, logger, webhook);
  } catch (error) {
    await webhook?.close();
    throw error;
  }
}

async function startWebhook(settings: WebhookConfig, namespace: string | undefined, client: KubeClient, logger: Logger): Promise<AdmissionWebhook> {
  const { port, service, configuration } = settings;
  try {
    return await startAdmissionWebhook({
      client, logger, port, service,
      ...(configuration === undefined ? {} : { webhookConfiguration: configuration }),
      ...(namespace === undefined ? {} : { namespace }),
    });
  } catch (error) {
    throw new Error(`the admission webhook (--webhook-port ${port}, --webhook-service ${service.namespace}/${service.name}) did not start: ${(error as Error).message}`, { cause: error });
  }
}

async function startReplica(config: OperatorConfig, client: KubeClient, logger: Logger, webhook: AdmissionWebhook | undefined): Promise<{ stop: () => Promise<void> }> {
  const metrics = createMetrics();
  const events = new EventRecorder({ client, logger });
  // One client per tenant API server, kept while the tenant exists (and across leadership changes).
  const tenantClients = new TenantClients();
  let controller: TenantController | undefined;
  const elector: LeaderElector = new LeaderElector({
    client,
    namespace: config.leaseNamespace,
    name: 'kubeception-operator',
    logger,
    onStartedLeading: async () => {
      controller = new TenantController({
        client, events, logger, metrics, tenantClients,
        options: {
          concurrency: config.concurrency,
          namespace: config.namespace,
          imageRegistry: config.imageRegistry,
          imagePullPolicy: config.imagePullPolicy,
          nodeAddress: nodePortAddress({ configured: config.nodeAddress, client }),
          bootstrapTenant: tenantBootstrapper({ clients: tenantClients, logger, imageRegistry: config.imageRegistry, imagePullPolicy: config.imagePullPolicy }),
          ...(config.apiServiceAccount === undefined ? {} : { apiServiceAccount: config.apiServiceAccount }),
        },
      });
      await controller.start();
    },
    onStoppedLeading: async () => {
      await controller?.stop();
      controller = undefined;
    },
  });
  metrics.observeLeadership(() => elector.isLeader);
  const health = await startHealthServer({
    registry: metrics.registry,
    port: config.metricsPort,
    ready: () => operatorReady({ leading: elector.isLeader, controllerStarted: controller?.started ?? false, leaseReachable: elector.reachable }),
    logger,
  });
  const leading = elector.run();
  logger.info({
    version: productVersion, identity: elector.identity, metricsPort: health.port, leaseNamespace: config.leaseNamespace,
    namespace: config.namespace ?? '(all)', apiServiceAccount: config.apiServiceAccount, webhookPort: webhook?.port ?? 0,
  }, 'operator started');
  return {
    stop: async () => {
      await elector.stop();
      await leading.catch(() => undefined);
      await controller?.stop();
      // after the Lease is free (a standby takes over at once); in-flight reviews are answered first
      await webhook?.close();
      await tenantClients.close();
      await events.close();
      await health.close();
      await client.close();
    },
  };
}

if (import.meta.main) {
  let config: OperatorConfig;
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (error) {
    const message = (error as Error).message;
    process.stderr.write(message === USAGE ? `${USAGE}\n` : `${message}\n\n${USAGE}\n`);
    process.exit(message === USAGE ? 0 : 2);
  }
  let operator: { stop: () => Promise<void> };
  try {
    operator = await runOperator(config);
  } catch (error) {
    // A start that cannot succeed (a missing watch namespace, no access to the host) is one clear line.
    process.stderr.write(`operator failed to start: ${(error as Error).message}\n`);
    process.exit(1);
  }
  // Ctrl-C on `npm start` signals the whole process group, and users press it twice: the second signal
  // waits for the same shutdown instead of closing servers that are already closed.
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= operator.stop().then(() => process.exit(0), (error: unknown) => {
    process.stderr.write(`operator shutdown failed: ${(error as Error).message}\n`);
    process.exit(1);
  }));
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}
