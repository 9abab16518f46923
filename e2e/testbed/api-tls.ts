// The REST API's serving certificate for chart installs on the test bed: the chart serves HTTPS from the
// Secret `kubeception-api-tls` in the release namespace and refuses to install without it. A production
// install brings its own; here a self-signed CA (api/serving-certificate.ts) signs one for the names clients
// in the host dial, and ca.crt in the same Secret is what test clients trust. A valid Secret is kept, so
// reinstalls and upgrades serve the same CA.
import { issueServingTls, serviceDnsNames, servingTlsProblem, type ServingTls } from '../../api/serving-certificate.ts';

export const API_TLS_SECRET = 'kubeception-api-tls';

type Kubectl = (args: string[], input?: string) => Promise<{ stdout: string }>;

const decode = (value: string | undefined) => (value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8'));
const encode = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/**
 * Makes sure `namespace` exists and holds a valid API certificate Secret for the Service `service` there;
 * returns the CA to trust. The namespace made here is adopted by the chart (helm --take-ownership).
 */
export async function ensureApiTlsSecret(kubectl: Kubectl, namespace: string, service = 'kubeception-api'): Promise<string> {
  const names = { dnsNames: [...serviceDnsNames(service, namespace), 'localhost'], ipAddresses: ['127.0.0.1'] };
  await kubectl(['create', 'namespace', namespace]).catch((error: Error) => {
    if (!/AlreadyExists/.test(error.message)) throw error;
  });
  const existing = await kubectl(['get', 'secret', API_TLS_SECRET, '-n', namespace, '-o', 'json']).then(
    (r) => JSON.parse(r.stdout) as { type?: string; data?: Record<string, string> },
    () => undefined,
  );
  const kept: Partial<ServingTls> = {
    ...(decode(existing?.data?.['ca.crt']) ? { caCertPem: decode(existing?.data?.['ca.crt'])! } : {}),
    ...(decode(existing?.data?.['tls.crt']) ? { certPem: decode(existing?.data?.['tls.crt'])! } : {}),
    ...(decode(existing?.data?.['tls.key']) ? { keyPem: decode(existing?.data?.['tls.key'])! } : {}),
  };
  if (existing?.type === 'kubernetes.io/tls' && servingTlsProblem(kept, names, new Date()) === undefined) return kept.caCertPem!;
  // a Secret's type cannot change in place: replace what is there
  if (existing !== undefined) await kubectl(['delete', 'secret', API_TLS_SECRET, '-n', namespace, '--wait=true']);
  const tls = await issueServingTls(names);
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name: API_TLS_SECRET, namespace, labels: { 'app.kubernetes.io/part-of': 'kubeception-testbed' } },
    data: { 'tls.crt': encode(tls.certPem), 'tls.key': encode(tls.keyPem), 'ca.crt': encode(tls.caCertPem) },
  };
  await kubectl(['apply', '-f', '-'], JSON.stringify(secret));
  return tls.caCertPem;
}
