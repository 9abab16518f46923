// `npm start`: the product on a host cluster. With KUBECONFIG set, that cluster; without, the local
// test bed (a real single-node Kubernetes built from source, see README) is started as the host.
// Runs the operator and the REST API as two processes and stops both on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { log } from './e2e/testbed/log.ts';

let kubeconfig = process.env.KUBECONFIG;
const env: NodeJS.ProcessEnv = { ...process.env };
if (!kubeconfig) {
  log.info('KUBECONFIG is not set: starting the local test bed as the host cluster');
  const { up } = await import('./e2e/testbed/testbed.ts');
  try {
    kubeconfig = (await up()).kubeconfig;
  } catch (err) {
    // e.g. the preflight: what the machine lacks for the test bed, in one message
    console.error(`npm start: the local test bed did not start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  // images on the test bed are built locally: never try to pull them
  env.IMAGE_PULL_POLICY ??= 'Never';
}
env.KUBECONFIG = kubeconfig;

const children: ChildProcess[] = [];
function launch(name: string, script: string): void {
  const child = spawn(process.execPath, [script], { stdio: 'inherit', env });
  child.on('exit', (code, signal) => {
    log.warn({ process: name, code, signal }, 'exited');
    if (!stopping) void stop(code ?? 1);
  });
  children.push(child);
}

let stopping = false;
async function stop(code = 0): Promise<void> {
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(undefined) : c.on('exit', r)))));
  process.exit(code);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

launch('operator', 'operator/main.ts');
launch('api', 'api/server.ts');
const port = env.API_PORT ?? '8080';
console.log(`
Kubeception is running.
  host cluster:  export KUBECONFIG=${kubeconfig}
  REST API:      http://127.0.0.1:${port}/docs  (OpenAPI: /openapi.json)
  API key:       node_modules/.bin/node api/keys-cli.ts create --account demo
  a tenant:      kubectl apply -f crds/samples/tenant-control-plane.yaml && kubectl get tcp -w
Ctrl-C stops the operator and the API; the test bed keeps running (npm run testbed -- down stops it).
`);
