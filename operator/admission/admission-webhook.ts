// The admission webhook as the operator runs it, on every replica: the serving certificate from its Secret
// (webhook-certificate.ts), the CA patched into the ValidatingWebhookConfiguration, the HTTPS server
// (webhook.ts), and a periodic check that picks up a certificate another replica renewed, renews one that
// nears its end, and puts the caBundle back should something (a `helm upgrade --force`) have cleared it.
import { FIELD_MANAGER, tenantControlPlanePath, type KubeClient, type Logger, type TenantControlPlane } from '../../core/index.ts';
import { ensureCaBundle, ensureWebhookTLS, type ServiceRef, type WebhookTLS } from './webhook-certificate.ts';
import { startWebhookServer, type ListTenants } from './webhook.ts';

export interface AdmissionWebhookOptions {
  client: KubeClient;
  logger: Logger;
  port: number;
  host?: string;
  /** The Service the API server calls: names the certificate and the Secret's namespace. */
  service: ServiceRef;
  /** The ValidatingWebhookConfiguration whose caBundle to keep; undefined = the caller manages it. */
  webhookConfiguration?: string;
  /** The namespace the operator watches, undefined = all: only tcps there are compared. */
  namespace?: string;
  refreshIntervalMs?: number;
  now?: () => Date;
}

export interface AdmissionWebhook {
  port: number;
  /** The certificate served now. */
  tls(): WebhookTLS;
  /** Runs the periodic check once, now (tests; the timer runs it every refreshIntervalMs). */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_REFRESH_MS = 60_000;
/** The webhook has timeoutSeconds 5 in the chart; the list must leave time for the answer. */
const LIST_TIMEOUT_MS = 3_000;
const PAGE_SIZE = 500;

/** Every tcp in `namespace` (all namespaces when undefined), page by page. */
export function liveTenantList(client: KubeClient, namespace: string | undefined): ListTenants {
  return async () => {
    const items: TenantControlPlane[] = [];
    let continueToken: string | undefined;
    do {
      const page = await client.request<{ items?: TenantControlPlane[]; metadata?: { continue?: string } }>('GET', tenantControlPlanePath(namespace), {
        query: { limit: PAGE_SIZE, continue: continueToken },
        timeoutMs: LIST_TIMEOUT_MS,
      });
      items.push(...(page.items ?? []));
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken !== undefined);
    return items;
  };
}

export async function startAdmissionWebhook(options: AdmissionWebhookOptions): Promise<AdmissionWebhook> {
  const { client, logger, service, webhookConfiguration } = options;
  const log = logger.child({ part: 'admission-webhook' });
  const ensureTLS = () => ensureWebhookTLS({ client, service, logger: log, ...(options.now ? { now: options.now } : {}) });
  const ensureBundle = async (tls: WebhookTLS) => {
    if (webhookConfiguration === undefined) return;
    const outcome = await ensureCaBundle(client, webhookConfiguration, tls.caCertPem, FIELD_MANAGER);
    if (outcome === 'updated') log.info({ webhookConfiguration }, 'caBundle of the webhook configuration set');
    if (outcome === 'missing') log.warn({ webhookConfiguration }, 'the ValidatingWebhookConfiguration does not exist: the API server does not call this webhook');
  };

  let current = (await ensureTLS()).tls;
  await ensureBundle(current);
  const server = await startWebhookServer({
    port: options.port,
    ...(options.host === undefined ? {} : { host: options.host }),
    certificate: current,
    listTenants: liveTenantList(client, options.namespace),
    logger: log,
  });

  const refresh = async () => {
    const { tls } = await ensureTLS();
    if (tls.certPem !== current.certPem || tls.keyPem !== current.keyPem) {
      server.setCertificate(tls);
      log.info('serving the renewed webhook certificate');
    }
    current = tls;
    await ensureBundle(tls);
  };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = refresh()
        .catch((error: unknown) => log.warn({ err: error }, 'webhook certificate check failed; trying again later'))
        .finally(schedule);
    }, options.refreshIntervalMs ?? DEFAULT_REFRESH_MS);
    timer.unref();
  };
  schedule();
  log.info({ port: server.port, service: `${service.namespace}/${service.name}`, webhookConfiguration: webhookConfiguration ?? '(not managed)' }, 'admission webhook serving');

  let closing: Promise<void> | undefined;
  return {
    port: server.port,
    tls: () => current,
    refresh,
    close: () =>
      (closing ??= (async () => {
        stopped = true;
        clearTimeout(timer);
        await running;
        await server.close();
      })()),
  };
}
