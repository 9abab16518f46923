// `npm start`: the product on a host cluster. With KUBECONFIG set, that cluster; without, the local
// test bed (a real single-node Kubernetes built from source, see README) is started as the host, by its
// own command (`npm run testbed -- up`): the product does not link the test bed's code.
// Runs the operator and the REST API as two processes and stops both on Ctrl-C (a second Ctrl-C while
// they stop changes nothing).
import { spawn, type ChildProcess } from 'node:child_process';
import { homedir, hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { ensureServingTlsFiles } from './api/serving-certificate.ts';
import { createLogger } from './core/index.ts';

const log = createLogger('kubeception-start');

/** Starts the test bed (or finds it running): its admin kubeconfig, and the VIP in front of its nodes. */
async function startTestbed(): Promise<{ kubeconfig: string; nodeAddress?: string }> {
  const child = spawn(process.execPath, ['e2e/testbed/cli.ts', 'up'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    process.stdout.write(chunk);
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const kubeconfig = /export KUBECONFIG=(\S+)/.exec(out)?.[1];
  if (code !== 0 || kubeconfig === undefined) throw new Error(`the test bed did not come up (exit code ${code}); see its log above`);
  const nodeAddress = /export NODE_ADDRESS=(\S+)/.exec(out)?.[1];
  return { kubeconfig, ...(nodeAddress === undefined ? {} : { nodeAddress }) };
}

let kubeconfig = process.env.KUBECONFIG;
const env: NodeJS.ProcessEnv = { ...process.env };
if (!kubeconfig) {
  log.info('KUBECONFIG is not set: starting the local test bed as the host cluster');
  try {
    const started = await startTestbed();
    kubeconfig = started.kubeconfig;
    // NodePort tenants are published at the test bed's VIP (keepalived over its nodes), not at one node;
    // clusters made through the API are LoadBalancer (MetalLB on the test bed), the API's default.
    if (started.nodeAddress !== undefined) env.NODE_ADDRESS ??= started.nodeAddress;
  } catch (error) {
    log.error((error as Error).message);
    process.exit(1);
  }
  // images on the test bed are built locally: never try to pull them
  env.IMAGE_PULL_POLICY ??= 'Never';
}
env.KUBECONFIG = kubeconfig;

/**
 * The API serves HTTPS: without a pair of the caller's (API_TLS_CERT_FILE/API_TLS_KEY_FILE) or an explicit
 * API_INSECURE_HTTP, it gets a self-signed CA and a certificate for this machine's names, kept between starts
 * (a new pair when a name is missing or the end nears). Returns the CA file clients must trust, if ours.
 */
async function apiServingCertificate(): Promise<string | undefined> {
  if (env.API_TLS_CERT_FILE || env.API_TLS_KEY_FILE || /^(true|1|yes)$/i.test(env.API_INSECURE_HTTP ?? '')) return undefined;
  const dir = join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'kubeception', 'api-tls');
  const addresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).filter((a) => !a.internal).map((a) => a.address.replace(/%.*$/, '')));
  // the host name only when it is a DNS name a certificate can carry (some machines have odd ones)
  const host = hostname().toLowerCase();
  const dnsNames = ['localhost', ...(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(host) && host !== 'localhost' ? [host] : [])];
  const { files, created, reason } = await ensureServingTlsFiles(dir, { dnsNames, ipAddresses: ['127.0.0.1', '::1', ...addresses] });
  if (created) log.info({ dir, reason }, 'made a self-signed certificate for the REST API');
  env.API_TLS_CERT_FILE = files.certFile;
  env.API_TLS_KEY_FILE = files.keyFile;
  return files.caFile;
}
let apiCaFile: string | undefined;
try {
  apiCaFile = await apiServingCertificate();
} catch (error) {
  log.error({ err: error }, 'could not make the REST API certificate');
  process.exit(1);
}

const children: ChildProcess[] = [];
function launch(name: string, script: string): void {
  const child = spawn(process.execPath, [script], { stdio: 'inherit', env });
  child.on('exit', (code, signal) => {
    log.warn({ process: name, code, signal }, 'exited');
    if (!stopping) void stop(code ?? 1);
  });
  children.push(child);
}

let stopping: Promise<void> | undefined;
function stop(code = 0): Promise<void> {
  stopping ??= (async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(undefined) : c.on('exit', r)))));
    process.exit(code);
  })();
  return stopping;
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

launch('operator', 'operator/main.ts');
launch('api', 'api/server.ts');
const port = env.API_PORT ?? '8080';
const scheme = env.API_TLS_CERT_FILE ? 'https' : 'http';
const trust = apiCaFile === undefined ? '' : `
  its CA:        ${apiCaFile}  (curl --cacert ${apiCaFile} https://127.0.0.1:${port}/healthz; Node: NODE_EXTRA_CA_CERTS=${apiCaFile})`;
console.log(`
Kubeception is running.
  host cluster:  export KUBECONFIG=${kubeconfig}
  REST API:      ${scheme}://127.0.0.1:${port}/docs  (OpenAPI: /openapi.json)${trust}
  API key:       node_modules/.bin/node api/keys-cli.ts create --account demo
  a tenant:      kubectl apply -f crds/samples/tenant-control-plane.yaml && kubectl get tcp -w
Ctrl-C stops the operator and the API; the test bed keeps running (npm run testbed -- down stops it).
`);
