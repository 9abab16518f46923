// The validating admission webhook for TenantControlPlanes, an HTTPS server answering AdmissionReview v1
// on POST /validate-tenantcontrolplanes: a tcp whose spec.networkProfile.address collides with another
// tenant's (address-conflict.ts) is denied with a message that says what to fix.
//
// The tenants are listed live from the host API server for each review (every replica serves the webhook,
// standbys included, and only the leader has an informer cache). When that list fails the webhook answers
// 500, so the API server applies the configured failurePolicy instead of this code guessing.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger, TenantControlPlane } from '../../core/index.ts';
import { addressConflict } from './address-conflict.ts';

export const VALIDATE_PATH = '/validate-tenantcontrolplanes';
/** kube-apiserver sends at most its request size limit (3 MiB) plus the old object; more is not a review. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const ADMISSION_REVIEW = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' } as const;

export interface ServingCertificate {
  certPem: string;
  keyPem: string;
}

/** The tcps to check a candidate against (every namespace the operator watches). */
export type ListTenants = () => Promise<TenantControlPlane[]>;

export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  operation?: string;
  namespace?: string;
  name?: string;
  object?: TenantControlPlane | null;
  oldObject?: TenantControlPlane | null;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason: string; message: string; details?: { causes: Array<{ type: string; field: string; message: string }> } };
}

/** Decides one review. Pure apart from `listTenants`. */
export async function review(request: AdmissionRequest, listTenants: ListTenants): Promise<AdmissionResponse> {
  const allowed: AdmissionResponse = { uid: request.uid, allowed: true };
  const candidate = request.object;
  if (request.kind?.kind !== 'TenantControlPlane' || !candidate || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) return allowed;
  // The object in a review may lack namespace (generateName, a namespaced create): the request names it.
  const withIdentity: TenantControlPlane = {
    ...candidate,
    metadata: { ...candidate.metadata, namespace: candidate.metadata?.namespace ?? request.namespace, name: candidate.metadata?.name ?? request.name },
  };
  if (!withIdentity.spec?.networkProfile?.address) return allowed;
  const message = addressConflict(withIdentity, await listTenants());
  if (message === undefined) return allowed;
  return {
    uid: request.uid,
    allowed: false,
    status: {
      // 422 Invalid with the field, as the API server reports a field that fails validation; not 409, which
      // clients read as "re-read and retry" and would retry forever.
      code: 422,
      reason: 'Invalid',
      message,
      details: { causes: [{ type: 'FieldValueDuplicate', field: 'spec.networkProfile.address', message }] },
    },
  };
}

export interface WebhookServerOptions {
  port: number;
  /** Listen address (default: every interface, as a pod behind a Service needs). */
  host?: string;
  certificate: ServingCertificate;
  listTenants: ListTenants;
  logger: Logger;
}

export interface WebhookServer {
  port: number;
  /** Serves a new certificate from the next TLS handshake on (a renewal by any replica). */
  setCertificate(certificate: ServingCertificate): void;
  close(): Promise<void>;
}

class HttpError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `an AdmissionReview is at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseReview(text: string): AdmissionRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
  const { apiVersion, kind, request } = (body ?? {}) as { apiVersion?: unknown; kind?: unknown; request?: Partial<AdmissionRequest> };
  if (apiVersion !== ADMISSION_REVIEW.apiVersion || kind !== ADMISSION_REVIEW.kind) {
    throw new HttpError(400, `expected an ${ADMISSION_REVIEW.kind} of ${ADMISSION_REVIEW.apiVersion} (admissionReviewVersions: [v1])`);
  }
  if (typeof request?.uid !== 'string' || request.uid === '') throw new HttpError(400, 'the AdmissionReview has no request.uid');
  return request as AdmissionRequest;
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json' });
  res.end(text);
}

/** Starts the HTTPS server; resolves once it listens. */
export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const { logger, listTenants } = options;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'https://webhook').pathname;
    if (path !== VALIDATE_PATH) return send(res, 404, `not found: the webhook serves POST ${VALIDATE_PATH}\n`);
    if (req.method !== 'POST') return send(res, 405, `method ${req.method} not allowed: POST an AdmissionReview\n`);
    const started = performance.now();
    try {
      const request = parseReview(await readBody(req));
      const response = await review(request, listTenants);
      const log = { uid: request.uid, operation: request.operation, tcp: `${request.namespace ?? ''}/${request.name ?? ''}`, ms: Math.round(performance.now() - started) };
      if (response.allowed) logger.debug(log, 'admission: allowed');
      else logger.info({ ...log, message: response.status?.message }, 'admission: denied');
      send(res, 200, { ...ADMISSION_REVIEW, response });
    } catch (error) {
      if (error instanceof HttpError) return send(res, error.code, `${error.message}\n`);
      // Most likely the list of tenants failed: no verdict, the API server applies failurePolicy.
      logger.warn({ err: error }, 'admission: no verdict, answering 500');
      send(res, 500, `cannot check the address against other tenants: ${(error as Error).message}\n`);
    }
  };
  const server: Server = createServer({ cert: options.certificate.certPem, key: options.certificate.keyPem, minVersion: 'TLSv1.2' }, (req, res) => {
    void handle(req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'admission: handler failed');
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  // The API server keeps connections open between reviews; idle ones must not block a shutdown.
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    setCertificate: (certificate) => server.setSecureContext({ cert: certificate.certPem, key: certificate.keyPem, minVersion: 'TLSv1.2' }),
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      })),
  };
}
