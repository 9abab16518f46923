// MetalLB in L2 mode, the host cluster's LoadBalancer implementation: controller and speaker built from the
// Go module go.universe.tf/metallb (e2e/build/build-kubernetes.sh metallb), run as pods from locally built
// images under their upstream names, installed from the module's own manifest (config/manifests/
// metallb-native.yaml: RBAC, Deployment, DaemonSet; memberlist on) and CRDs (config/crd/bases). The pool
// `public` hands out addresses of the public network; only the announcer nodes answer ARP for them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { kubectl } from './host-kubectl.ts';
import { testbedConfig as c, type TestbedConfig } from './config.ts';

/** Where the build put the module's CRDs and manifest, beside the binaries. */
export const metallbDirs = (cfg: TestbedConfig = c) => ({ crd: join(cfg.bin.metallb, '..', 'crd'), manifests: join(cfg.bin.metallb, '..', 'manifests') });

export const metallbImage = (name: 'controller' | 'speaker', cfg: TestbedConfig = c): string => `quay.io/metallb/${name}:${cfg.versions.metallb}`;

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [key: string]: unknown;
}

interface Probe {
  initialDelaySeconds?: number;
  periodSeconds?: number;
}

interface Container {
  name: string;
  image: string;
  args?: string[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
}

interface Workload extends KubeObject {
  spec: { template: { spec: { containers: Container[] } } };
}

/** Objects of the upstream manifest that the test bed leaves out: the CRDs (applied from config/crd) and the webhook. */
function keep(o: KubeObject): boolean {
  if (o.kind === 'CustomResourceDefinition' || o.kind === 'ValidatingWebhookConfiguration') return false;
  return !(o.kind === 'Service' && o.metadata.name === 'metallb-webhook-service');
}

/**
 * The upstream manifest as the test bed runs it. Changed: the images are the locally built ones (same
 * names, the version of versions.env); the controller's validating webhook is off (`--webhook-mode=disabled`:
 * its certificate rotation and a Service round trip on every pool change would slow `up`; the test bed's
 * pool is written here); the probes start after 1 s, every 2 s, instead of 10 s (a speaker is Ready, and
 * `up` returns, about 10 s sooner).
 */
export function metallbObjects(upstream: readonly KubeObject[], cfg: TestbedConfig = c): KubeObject[] {
  return upstream.filter(keep).map((o) => {
    if (o.kind !== 'Deployment' && o.kind !== 'DaemonSet') return o;
    const w = structuredClone(o) as Workload;
    for (const container of w.spec.template.spec.containers) {
      if (container.name === 'controller' || container.name === 'speaker') container.image = metallbImage(container.name, cfg);
      if (container.name === 'controller') container.args = [...(container.args ?? []), '--webhook-mode=disabled'];
      for (const probe of [container.readinessProbe, container.livenessProbe]) {
        if (probe) Object.assign(probe, { initialDelaySeconds: 1, periodSeconds: 2 });
      }
    }
    return w;
  });
}

/** The pool of public addresses, announced in L2 only from the announcer nodes, on their public interface. */
export function metallbPoolObjects(cfg: TestbedConfig = c): KubeObject[] {
  const ns = cfg.metallbNamespace;
  const { pool } = cfg.public;
  return [
    { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: pool.name, namespace: ns }, spec: { addresses: [`${pool.first}-${pool.last}`] } },
    {
      apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: pool.name, namespace: ns },
      spec: {
        ipAddressPools: [pool.name],
        interfaces: ['eth1'],
        nodeSelectors: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [...cfg.public.announcers] }] }],
      },
    },
  ];
}

function readYamlDocs(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as KubeObject | null).filter((o): o is KubeObject => o !== null);
}

const asList = (items: readonly KubeObject[]): string => stringify({ apiVersion: 'v1', kind: 'List', items });

/** Applies the CRDs, the controller and speakers, and the pool (idempotent; nothing waits for pods). */
export async function installMetalLB(): Promise<void> {
  const dirs = metallbDirs();
  const crds = readdirSync(dirs.crd).filter((f) => f.endsWith('.yaml')).sort().flatMap((f) => readYamlDocs(join(dirs.crd, f)));
  await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=kubeception-testbed', '-f', '-'], asList(crds));
  const upstream = readYamlDocs(join(dirs.manifests, 'metallb-native.yaml'));
  await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=kubeception-testbed', '-f', '-'], asList(metallbObjects(upstream)));
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/ipaddresspools.metallb.io', 'crd/l2advertisements.metallb.io']);
  await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=kubeception-testbed', '-f', '-'], asList(metallbPoolObjects()));
}

/** Waits until the controller and every speaker are Ready. */
export async function waitForMetalLB(timeoutSeconds = 180): Promise<void> {
  const ns = c.metallbNamespace;
  await kubectl(['-n', ns, 'rollout', 'status', 'deployment/controller', `--timeout=${timeoutSeconds}s`]);
  await kubectl(['-n', ns, 'rollout', 'status', 'daemonset/speaker', `--timeout=${timeoutSeconds}s`]);
}

/**
 * The nodes whose speaker announces the Service's address now (MetalLB's ServiceL2Status objects): one
 * when the speakers agree; two for a while after a cut-off announcer comes back, until memberlist takes it in
 * again (its periodic rejoin: up to a minute).
 */
export async function announcingNodes(namespace: string, service: string): Promise<string[]> {
  const out = await kubectl(['-n', c.metallbNamespace, 'get', 'servicel2statuses.metallb.io', '-o', 'json']);
  const items = (JSON.parse(out) as { items: { status?: { node?: string; serviceName?: string; serviceNamespace?: string } }[] }).items;
  return items.filter((i) => i.status?.serviceName === service && i.status.serviceNamespace === namespace).map((i) => i.status!.node!).sort();
}
