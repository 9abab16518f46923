// The images the test bed runs, all built here from local binaries (no registry is reachable): the pod
// sandbox (pause), the e2e workload (hello), the tenant control plane images under the upstream
// names the operator's manifests reference, and the product's own images (operator and API, made by
// images/product.ts) for the host node.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostFilesLayer, iptablesLayer } from './host-files.ts';
import { dockerArchive, type ImageSpec, type LayerEntry } from '../../images/archive.ts';
import { buildProductImages, packageVersion, PRODUCT_PROGRAMS, productImageRef, productImages, productImageSources, readProductInputs, type ProductImageName } from '../../images/product.ts';
import { run } from './exec.ts';
import { log } from './log.ts';
import { pauseImage, type TestbedConfig } from './config.ts';

export const helloImage = 'kubeception.local/hello:v1';

/** The konnectivity images under the upstream names the operator renders: the server runs in the control-plane pods (host nodes), the agent on worker machines. */
export const konnectivityServerImage = (c: TestbedConfig) => `registry.k8s.io/kas-network-proxy/proxy-server:${c.versions.konnectivity}`;
export const konnectivityAgentImage = (c: TestbedConfig) => `registry.k8s.io/kas-network-proxy/proxy-agent:${c.versions.konnectivity}`;

/** flannel's images under its upstream names (kube-flannel.yml), which the tenants' CNI add-on runs on worker machines. */
export const flannelImage = (c: TestbedConfig) => `ghcr.io/flannel-io/flannel:${c.versions.flannel}`;
export const flannelCNIPluginImage = (c: TestbedConfig) => `ghcr.io/flannel-io/flannel-cni-plugin:${c.versions.flannelCNIPlugin}`;

/** Builds the small Go programs of e2e/images (static, no dependencies: seconds). */
export async function buildTestPrograms(c: TestbedConfig): Promise<string> {
  const out = join(c.imagesDir, 'bin');
  await mkdir(out, { recursive: true });
  await run('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', `${out}/`, './pause', './hello'], {
    cwd: join(c.repoRoot, 'e2e', 'images'),
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' },
  });
  return out;
}

async function binaryEntry(path: string, from: string): Promise<LayerEntry> {
  return { path, type: 'file', mode: 0o755, content: await readFile(from) };
}

const tmpDir: LayerEntry = { path: 'tmp', type: 'dir', mode: 0o1777 };

/** An image the test bed needs: its reference, and how to make it (read lazily: binaries are large). */
interface ImageRecipe {
  ref: string;
  /** The files the image is made of: a change of one re-imports the image under the same reference. */
  sources: string[];
  make: () => Promise<ImageSpec>;
}

/** The image list. */
export function imageRecipes(c: TestbedConfig, programs: string): ImageRecipe[] {
  const k = c.bin.kubernetes;
  const v = c.versions;
  const kubeImage = (name: string): ImageRecipe => {
    const ref = `registry.k8s.io/${name}:${v.kubernetes}`;
    return {
      ref,
      sources: [join(k, name)],
      make: async () => ({ ref, entries: [await binaryEntry(`usr/local/bin/${name}`, join(k, name)), tmpDir], entrypoint: [`/usr/local/bin/${name}`] }),
    };
  };
  const etcdRef = `registry.k8s.io/etcd:${v.etcd.replace(/^v/, '')}-0`;
  // Upstream's layout: the static binary at the root, the entrypoint the manifests' `command` names.
  const konnectivity = (ref: string, binary: 'proxy-server' | 'proxy-agent'): ImageRecipe => ({
    ref,
    sources: [join(c.bin.konnectivity, binary)],
    make: async () => ({ ref, entries: [await binaryEntry(binary, join(c.bin.konnectivity, binary)), tmpDir], entrypoint: [`/${binary}`], user: '65532' }),
  });
  const corednsRef = `registry.k8s.io/coredns/coredns:${v.coredns}`;
  return [
    { ref: pauseImage, sources: [join(programs, 'pause')], make: async () => ({ ref: pauseImage, entries: [await binaryEntry('pause', join(programs, 'pause'))], entrypoint: ['/pause'] }) },
    { ref: helloImage, sources: [join(programs, 'hello')], make: async () => ({ ref: helloImage, entries: [await binaryEntry('hello', join(programs, 'hello'))], entrypoint: ['/hello'], user: '65532' }) },
    kubeImage('kube-apiserver'),
    kubeImage('kube-controller-manager'),
    kubeImage('kube-scheduler'),
    {
      // kube-proxy programs the node with iptables-restore: the image carries Debian's iptables.
      ref: `registry.k8s.io/kube-proxy:${v.kubernetes}`,
      sources: [join(k, 'kube-proxy'), '/usr/sbin/xtables-nft-multi'],
      make: async () => ({
        ref: `registry.k8s.io/kube-proxy:${v.kubernetes}`,
        entries: [await binaryEntry('usr/local/bin/kube-proxy', join(k, 'kube-proxy')), ...(await iptablesLayer()), tmpDir, { path: 'run', type: 'dir', mode: 0o755 }],
        entrypoint: ['/usr/local/bin/kube-proxy'],
        env: ['PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      }),
    },
    {
      ref: etcdRef,
      sources: [join(c.bin.etcd, 'etcd'), join(c.bin.etcd, 'etcdctl')],
      make: async () => ({
        ref: etcdRef,
        entries: [await binaryEntry('usr/local/bin/etcd', join(c.bin.etcd, 'etcd')), await binaryEntry('usr/local/bin/etcdctl', join(c.bin.etcd, 'etcdctl')), tmpDir],
        entrypoint: ['/usr/local/bin/etcd'],
      }),
    },
    { ref: corednsRef, sources: [join(c.bin.coredns, 'coredns')], make: async () => ({ ref: corednsRef, entries: [await binaryEntry('coredns', join(c.bin.coredns, 'coredns'))], entrypoint: ['/coredns'] }) },
    konnectivity(konnectivityServerImage(c), 'proxy-server'),
    konnectivity(konnectivityAgentImage(c), 'proxy-agent'),
    ...flannelRecipes(c),
    metallbRecipe(c, 'controller'),
    metallbRecipe(c, 'speaker'),
    ...PRODUCT_PROGRAMS.map(({ name }) => productRecipe(c, name)),
  ];
}

/**
 * flannel as upstream's images lay it out: flanneld and install-conf in /opt/bin with iptables (flanneld
 * programs masquerading and forwarding rules with it; Debian's nft backend, as the kube-proxy image), and the
 * CNI plugin image: the `flannel` binary at / and a `cp` (Debian's coreutils, with its libraries) for the init
 * container that copies it onto the node.
 */
function flannelRecipes(c: TestbedConfig): ImageRecipe[] {
  const flanneld = join(c.bin.flannel, 'flanneld');
  const installConf = join(c.bin.flannel, 'install-conf');
  const plugin = join(c.bin.flannelCNIPlugin, 'flannel');
  const ref = flannelImage(c);
  const pluginRef = flannelCNIPluginImage(c);
  return [
    {
      ref,
      sources: [flanneld, installConf, '/usr/sbin/xtables-nft-multi'],
      make: async () => ({
        ref,
        entries: [await binaryEntry('opt/bin/flanneld', flanneld), await binaryEntry('opt/bin/install-conf', installConf), ...(await iptablesLayer()), tmpDir, { path: 'run', type: 'dir', mode: 0o755 }],
        entrypoint: ['/opt/bin/flanneld'],
        env: ['PATH=/opt/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      }),
    },
    {
      ref: pluginRef,
      sources: [plugin, '/usr/bin/cp'],
      make: async () => ({
        ref: pluginRef,
        entries: [await binaryEntry('flannel', plugin), ...(await hostFilesLayer(['/usr/bin/cp'])), tmpDir],
        entrypoint: ['cp'],
        env: ['PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      }),
    },
  ];
}

/** MetalLB's controller or speaker under its upstream name (as its Dockerfile: the binary at /, static). */
function metallbRecipe(c: TestbedConfig, name: 'controller' | 'speaker'): ImageRecipe {
  const ref = `quay.io/metallb/${name}:${c.versions.metallb}`;
  const binary = join(c.bin.metallb, name);
  return { ref, sources: [binary], make: async () => ({ ref, entries: [await binaryEntry(name, binary), tmpDir], entrypoint: [`/${name}`] }) };
}

/**
 * The operator or API image at package.json's version. Its sources are every file it is made from (the
 * programs' import closure, package.json and the lock, Node, the image builder), so a code change
 * re-imports it at the next `up`. Worker machines do not get it (worker.ts lists what they load).
 */
function productRecipe(c: TestbedConfig, name: ProductImageName): ImageRecipe {
  return {
    ref: productImageRef(name, packageVersion(c.repoRoot)),
    sources: productImageSources(name, c.repoRoot),
    make: async () => productImages(await readProductInputs({ root: c.repoRoot, only: [name] }))[0]!.spec,
  };
}

/** A containerd to load images into: the test bed node's, or a worker machine's. */
export interface ImageTarget {
  name: string;
  socket: string;
}

export const testbedNode = (c: TestbedConfig): ImageTarget => ({ name: 'testbed-node', socket: c.containerdSocket });

async function importedRefs(target: ImageTarget): Promise<Set<string>> {
  const { stdout } = await run('ctr', ['--address', target.socket, '-n', 'k8s.io', 'images', 'ls', '-q']);
  return new Set(stdout.split('\n').filter(Boolean));
}

/**
 * Imports every image the target lacks, or whose files changed since it was imported (containerd keeps
 * images across restarts); `only` limits the list (a worker needs no control-plane images).
 */
export async function loadImages(c: TestbedConfig, target: ImageTarget = testbedNode(c), only?: (ref: string) => boolean): Promise<void> {
  const present = await importedRefs(target);
  const programs = await buildTestPrograms(c);
  for (const recipe of imageRecipes(c, programs)) {
    if (only && !only(recipe.ref)) continue;
    const stamp = join(c.imagesDir, `${target.name}_${recipe.ref.replace(/[/:]/g, '_')}.sources`);
    const fingerprint = JSON.stringify(recipe.sources.map((f) => [f, createHash('sha256').update(readFileSync(f)).digest('hex')]));
    const current = existsSync(stamp) ? readFileSync(stamp, 'utf8') : '';
    if (present.has(recipe.ref) && current === fingerprint) continue;
    await importImage(c, await recipe.make(), target);
    await writeFile(stamp, fingerprint);
  }
}

/** Writes an image's tarball and imports it into a node (also for images a test builds). */
export async function importImage(c: TestbedConfig, spec: ImageSpec, target: ImageTarget = testbedNode(c)): Promise<void> {
  await importArchive(c, spec.ref, dockerArchive(spec), [target]);
}

let archiveSerial = 0;

async function importArchive(c: TestbedConfig, ref: string, archive: Buffer, targets: ImageTarget[]): Promise<void> {
  await mkdir(c.imagesDir, { recursive: true });
  // a file of its own per call: the node machines load their images at the same time
  const file = join(c.imagesDir, `${ref.replace(/[/:]/g, '_')}.${process.pid}-${++archiveSerial}.tar`);
  await writeFile(file, archive);
  try {
    for (const target of targets) {
      await run('ctr', ['--address', target.socket, '-n', 'k8s.io', 'images', 'import', file]);
      log.info({ image: ref, node: target.name }, 'image imported');
    }
  } finally {
    await rm(file, { force: true });
  }
}

/**
 * Builds the product images (operator and API) at `version` and imports them into every target; returns
 * their references. The default version is package.json's; another one (e.g. '0.1.1-e2e', for the
 * self-upgrade test) is a real code change: the images' package.json says it, so the programs report it.
 * Built once, imported into each node.
 */
export async function importProductImages(c: TestbedConfig, targets: ImageTarget[], options: { version?: string; only?: ProductImageName[] } = {}): Promise<string[]> {
  const { images } = await buildProductImages({ root: c.repoRoot, ...options });
  for (const image of images) await importArchive(c, image.ref, image.built.archive, targets);
  return images.map((image) => image.ref);
}
