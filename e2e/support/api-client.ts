// Calling a REST API replica that serves HTTPS with a test certificate: the e2e tests run the API in
// process on loopback with a certificate from a self-signed CA (api/serving-certificate.ts), and trust that
// CA and nothing else. Node's fetch takes no CA of its own, so requests go through node:https and come
// back as a fetch Response, which the tests read as before.
import { request } from 'node:https';
import { issueServingTls, type ServingTls } from '../../api/serving-certificate.ts';

let loopback: Promise<ServingTls> | undefined;

/** One certificate for 127.0.0.1 and localhost per test process. */
export function loopbackTls(): Promise<ServingTls> {
  loopback ??= issueServingTls({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  return loopback;
}

/** What buildApp's `https` option takes. */
export async function loopbackHttps(): Promise<{ cert: Buffer; key: Buffer }> {
  const tls = await loopbackTls();
  return { cert: Buffer.from(tls.certPem), key: Buffer.from(tls.keyPem) };
}

/** Statuses whose Response has no body (the constructor refuses one). */
const NULL_BODY = new Set([101, 204, 205, 304]);

/** fetch for an https URL, trusting `ca` (default: the loopback CA) only. */
export async function apiFetch(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}, ca?: string): Promise<Response> {
  const trusted = ca ?? (await loopbackTls()).caCertPem;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, ca: trusted }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const one of [value ?? []].flat()) headers.append(name, one);
        }
        const status = res.statusCode ?? 0;
        resolve(new Response(NULL_BODY.has(status) ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers }));
      });
    });
    req.on('error', reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}
