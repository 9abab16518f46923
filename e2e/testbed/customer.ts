// The customer's side of the test bed: commands run inside the customer network namespace (10.196.0.100 on
// the public network, no route to the host's pod or Service networks), as a billing portal's customer
// would run them from their own machine.
import { join } from 'node:path';
import { run, type RunResult } from './exec.ts';
import { testbedConfig as c } from './config.ts';

/** Runs a command inside the customer network namespace; throws with its stderr when it fails. */
export function inCustomer(cmd: string, args: readonly string[], options: { input?: string } = {}): Promise<RunResult> {
  return run('ip', ['netns', 'exec', c.public.customer.netns, cmd, ...args], options);
}

/** The test bed's kubectl, run from the customer network with the given kubeconfig. */
export function customerKubectl(kubeconfigPath: string, args: readonly string[], input?: string): Promise<RunResult> {
  return inCustomer(join(c.bin.kubernetes, 'kubectl'), [`--kubeconfig=${kubeconfigPath}`, '--request-timeout=10s', ...args], { input });
}

export interface HttpGetOptions {
  /** PEM file of the CA that signs the server's certificate (https). */
  ca?: string;
  /** Skip the server certificate check (https). */
  insecure?: boolean;
  timeoutMs?: number;
}

export interface HttpGetResult {
  status: number;
  body: string;
}

/** A child program: one GET, then {status, body} as JSON on stdout; a connection failure exits 3 with the error. */
const GET_PROGRAM = `
const [url, ca, insecure, timeout] = process.argv.slice(1);
const mod = url.startsWith('https:') ? await import('node:https') : await import('node:http');
const { readFileSync } = await import('node:fs');
const req = mod.request(url, { ca: ca ? readFileSync(ca) : undefined, rejectUnauthorized: insecure !== '1', timeout: Number(timeout) }, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (d) => (body += d));
  res.on('end', () => { process.stdout.write(JSON.stringify({ status: res.statusCode, body })); process.exit(0); });
});
req.on('timeout', () => req.destroy(new Error('timeout after ' + timeout + ' ms')));
req.on('error', (e) => { process.stderr.write(String(e.code ?? '') + ' ' + e.message); process.exit(3); });
req.end();
`;

/**
 * One HTTP(S) GET from inside network namespace `netns` (a new connection each time). Resolves with the
 * status and body; rejects with the connection error (unreachable, refused, timeout).
 */
export async function httpGetIn(netns: string, url: string, options: HttpGetOptions = {}): Promise<HttpGetResult> {
  const { stdout } = await run('ip', ['netns', 'exec', netns, process.execPath, '--input-type=module', '-e', GET_PROGRAM,
    url, options.ca ?? '', options.insecure ? '1' : '', String(options.timeoutMs ?? 3000)]);
  return JSON.parse(stdout) as HttpGetResult;
}

/**
 * Whether a TCP connection from `netns` to host:port is established within the timeout (no data sent):
 * the test of "no route" and "nothing can open a connection to it".
 */
export async function tcpConnects(netns: string, host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  const program = `const s = (await import('node:net')).connect({ host: process.argv[1], port: Number(process.argv[2]), timeout: Number(process.argv[3]) });
s.on('connect', () => process.exit(0)); s.on('timeout', () => process.exit(4)); s.on('error', () => process.exit(5));`;
  return run('ip', ['netns', 'exec', netns, process.execPath, '--input-type=module', '-e', program, host, String(port), String(timeoutMs)]).then(() => true, () => false);
}
