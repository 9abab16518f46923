// The images the conformance specs run, built here under the exact names `e2e.test --list-images` prints
// (no registry is reachable), from real parts:
// - agnhost: the binary built from k8s.io/kubernetes/test/images/agnhost (build-kubernetes.sh e2e), laid out
//   as its Dockerfile does (/agnhost, /agnhost-2, porter's localhost.crt/.key, /uploads, the user and group
//   the SupplementalGroups specs expect, the tools specs exec in it (toolsLayer: Debian's bash as sh, OpenBSD
//   netcat, dig, nslookup, curl, ip, ss, busybox-static for the rest), and the test bed's CoreDNS at /coredns);
// - busybox: Debian's busybox-static with its applets, bash as /bin/sh (toolsLayer says why);
// - kitten and nautilus (kubectl's Update Demo): agnhost plus their html/ folder, running test-webserver, as
//   their Dockerfiles make them;
// - nonroot: busybox, user 1234; nonewprivs: busybox and nnp (test/images/nonewprivs) setuid root at
//   /usr/local/bin/nnp, as its Dockerfile;
// - glibc-dns-testing (the DNS specs' glibc querier; upstream: Debian bookworm with dnsutils and CoreDNS): the
//   same Debian tools as agnhost's, CoreDNS at /coredns;
// - nginx (both tags): Debian's nginx (its .deb, fetched with `apt-get download`, unpacked, not installed: its
//   maintainer scripts would start a server on the machine) with the libraries it loads, configured like the
//   official image (port 80, /usr/share/nginx/html, logs to stdout/stderr, `nginx -g 'daemon off;'`);
// - sample-apiserver (the aggregator spec): the binary built from k8s.io/sample-apiserver at the tenant's
//   version, on busybox (upstream: alpine); etcd beside it: the test bed's etcd build at /usr/local/bin;
// - pause: the test bed's pause program under the tag the suite names.
// Images the suite lists that have no recipe here are reported by name (what needs them fails or is skipped).
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageSpec, LayerEntry } from '../../images/archive.ts';
import { hostFilesLayer } from '../testbed/host-files.ts';
import { run } from '../testbed/exec.ts';

/** Where the Debian packages' files are: they are installed on the machine (conformance preflight). */
export const HOST_PACKAGES = ['busybox-static', 'bind9-dnsutils', 'curl', 'netcat-openbsd', 'bash', 'iproute2'] as const;

export interface E2eImageSources {
  /** Folder with e2e.test, ginkgo and agnhost. */
  e2eBin: string;
  /** The test bed's pause program (built by its images step) and CoreDNS binary. */
  pauseBinary: string;
  corednsBinary: string;
  /** Folder of the test bed's etcd and etcdctl. */
  etcdBin: string;
  /** Debian's nginx and nginx-common unpacked (debianPackages). */
  nginxRoot: string;
  /** The kubernetes module's source folder (agnhost's porter certificates). */
  kubernetesSource: string;
}

const dir = (path: string, mode = 0o755): LayerEntry => ({ path, type: 'dir', mode });
const file = (path: string, content: string | Buffer, mode = 0o644): LayerEntry => ({ path, type: 'file', mode, content: Buffer.from(content) });

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nuser-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
const GROUP = 'root:x:0:\nuser-defined-in-image:x:1000:\ngroup-defined-in-image:x:50000:user-defined-in-image\nnogroup:x:65534:\n';

/**
 * Debian's static busybox with a link per applet under merged /usr (bin -> usr/bin), skipping names `taken`.
 * Every applet is in /bin, as in upstream's busybox image (the sysctl spec runs /bin/sysctl); the ones Debian
 * places in sbin are in /sbin too.
 */
async function busyboxLayer(taken: Set<string>): Promise<LayerEntry[]> {
  const busybox = '/usr/bin/busybox';
  const { stdout } = await run(busybox, ['--list-full']);
  const out: LayerEntry[] = [{ path: 'usr/bin/busybox', type: 'file', mode: 0o755, content: await readFile(busybox) }];
  const link = (path: string) => {
    if (path === 'usr/bin/busybox' || taken.has(path)) return;
    taken.add(path);
    out.push({ path, type: 'symlink', mode: 0o777, linkTarget: '/usr/bin/busybox' });
  };
  for (const applet of stdout.split('\n').filter(Boolean)) {
    const name = applet.split('/').at(-1)!;
    link(`usr/bin/${name}`);
    if (/^(usr\/)?sbin\//.test(applet)) link(`usr/sbin/${name}`);
  }
  return out;
}

/**
 * The shells and tools of the images. Upstream's images take one shell from Alpine, busybox ash, that both
 * passes environment variables whose names are not shell identifiers (`data-1`) on to what it runs and words
 * its errors as ash does. Debian has no such shell: its busybox ash (1.35, and 1.37 in trixie, tried) and dash
 * drop those names, bash keeps them but words errors its own way. So:
 * - with `withTools` (agnhost-based images; upstream installs the tools from Alpine), /bin/sh is bash, which
 *   also runs the programs on the PATH (Debian's busybox-static ash prefers its own applets, so `nc` would be
 *   busybox's small one), plus OpenBSD netcat as nc (specs use `nc -v -t`/`-u`), dig, nslookup, curl, ip, ss
 *   and getent with their libraries;
 * - in the busybox images, /bin/sh is busybox's ash (the read-only root filesystem spec runs `/bin/sh` and
 *   compares ash's `can't create` message) and a bare `sh` is bash, found first on the PATH in
 *   /usr/local/bin (the ConfigMap and Secret env specs run `sh -c env` and look for `data-1`).
 * Busybox links for everything else.
 */
async function toolsLayer(withTools: boolean): Promise<LayerEntry[]> {
  const tools = withTools ? ['/usr/bin/nc.openbsd', '/usr/bin/dig', '/usr/bin/nslookup', '/usr/bin/curl', '/usr/bin/ss', '/usr/sbin/ip', '/usr/bin/getent'] : [];
  const host = await hostFilesLayer(['/usr/bin/bash', ...tools]);
  host.push(withTools ? { path: 'usr/bin/sh', type: 'symlink', mode: 0o777, linkTarget: 'bash' } : { path: 'usr/local/bin/sh', type: 'symlink', mode: 0o777, linkTarget: '/usr/bin/bash' });
  if (withTools) {
    host.push({ path: 'usr/bin/nc', type: 'symlink', mode: 0o777, linkTarget: 'nc.openbsd' });
    // getent (the DNS specs' /etc/hosts lookups) resolves through glibc's NSS: the kubelet-written /etc/hosts first
    host.push(file('etc/nsswitch.conf', 'hosts: files dns\n'));
  }
  const taken = new Set(host.map((e) => e.path));
  return [...host, ...(await busyboxLayer(taken)), dir('tmp', 0o1777), dir('etc'), file('etc/passwd', PASSWD), file('etc/group', GROUP), dir('root', 0o700)];
}

type Recipe = (ref: string, s: E2eImageSources) => Promise<ImageSpec>;

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const agnhostLayers = async (s: E2eImageSources) => {
  const porter = join(s.kubernetesSource, 'test', 'images', 'agnhost', 'porter');
  return [
    { comment: 'bash, nc, dig, nslookup, curl, ip, ss, busybox (Debian)', entries: await toolsLayer(true) },
    {
      comment: 'agnhost (k8s.io/kubernetes/test/images/agnhost), CoreDNS',
      entries: [
        { path: 'agnhost', type: 'file', mode: 0o755, content: await readFile(join(s.e2eBin, 'agnhost')) },
        { path: 'agnhost-2', type: 'symlink', mode: 0o777, linkTarget: 'agnhost' },
        { path: 'coredns', type: 'file', mode: 0o755, content: await readFile(s.corednsBinary) },
        file('localhost.crt', await readFile(join(porter, 'localhost.crt'))),
        file('localhost.key', await readFile(join(porter, 'localhost.key'))),
        dir('uploads'),
        dir('home/user-defined-in-image'),
      ] satisfies LayerEntry[],
    },
  ];
};

const agnhost: Recipe = async (ref, s) => ({ ref, layers: await agnhostLayers(s), entrypoint: ['/agnhost'], cmd: ['pause'], env: [PATH_ENV] });

/** kitten and nautilus: agnhost with their html/ files at /, serving them with test-webserver. */
const agnhostWebserver = (name: string): Recipe => async (ref, s) => {
  const html = join(s.kubernetesSource, 'test', 'images', name, 'html');
  return {
    ref,
    layers: [...(await agnhostLayers(s)), { comment: `${name}'s html`, entries: [file(`${name}.jpg`, await readFile(join(html, `${name}.jpg`))), file('data.json', await readFile(join(html, 'data.json')))] }],
    entrypoint: ['/agnhost'], cmd: ['test-webserver'], env: [PATH_ENV],
  };
};

const busybox = (user?: string): Recipe => async (ref) => ({ ref, layers: [{ comment: 'busybox-static, bash (Debian)', entries: await toolsLayer(false) }], cmd: ['sh'], env: [PATH_ENV], ...(user ? { user } : {}) });

/**
 * Debian packages unpacked (not installed) into `<cacheDir>/root`: `apt-get download` fetches the candidate
 * versions, `dpkg-deb -x` unpacks them. Kept while the folder exists.
 */
export async function debianPackages(cacheDir: string, packages: string[]): Promise<string> {
  const root = join(cacheDir, 'root');
  if (existsSync(join(cacheDir, 'unpacked'))) return root;
  await rm(cacheDir, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  await run('apt-get', ['download', ...packages], { cwd: cacheDir });
  for (const deb of (await readdir(cacheDir)).filter((f) => f.endsWith('.deb'))) await run('dpkg-deb', ['-x', join(cacheDir, deb), root]);
  await mkdir(join(cacheDir, 'unpacked'));
  return root;
}

const NGINX_CONF = `user www-data;
worker_processes 1;
pid /run/nginx.pid;
error_log stderr notice;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log /dev/stdout;
  sendfile on;
  keepalive_timeout 65;
  server {
    listen 80;
    listen [::]:80;
    server_name localhost;
    location / { root /usr/share/nginx/html; index index.html index.htm; }
  }
}
`;

const nginx: Recipe = async (ref, s) => {
  const binary = join(s.nginxRoot, 'usr', 'sbin', 'nginx');
  const { stdout } = await run('ldd', [binary]);
  const libraries = [...stdout.matchAll(/=> (\/\S+)/g)].map((m) => m[1]!);
  const libs = await hostFilesLayer(libraries);
  return {
    ref,
    layers: [
      { comment: 'busybox-static, bash (Debian)', entries: await toolsLayer(false) },
      {
        comment: 'nginx (Debian, unpacked) and its libraries',
        entries: [
          ...libs.filter((e) => !['lib', 'lib64', 'bin', 'sbin'].includes(e.path)),
          { path: 'usr/sbin/nginx', type: 'file', mode: 0o755, content: await readFile(binary) },
          dir('etc/nginx'),
          file('etc/nginx/nginx.conf', NGINX_CONF),
          file('etc/nginx/mime.types', await readFile(join(s.nginxRoot, 'etc', 'nginx', 'mime.types'))),
          file('etc/passwd', `${PASSWD}www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n`),
          file('etc/group', `${GROUP}www-data:x:33:\n`),
          dir('usr/share/nginx/html'),
          file('usr/share/nginx/html/index.html', '<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>\n'),
          dir('var/lib/nginx'), dir('var/log/nginx'), dir('run'),
        ],
      },
    ],
    cmd: ['nginx', '-g', 'daemon off;'], env: [PATH_ENV],
  };
};

const RECIPES: Record<string, Recipe> = {
  'registry.k8s.io/e2e-test-images/nginx': nginx,
  'registry.k8s.io/e2e-test-images/agnhost': agnhost,
  'registry.k8s.io/e2e-test-images/kitten': agnhostWebserver('kitten'),
  'registry.k8s.io/e2e-test-images/nautilus': agnhostWebserver('nautilus'),
  'registry.k8s.io/e2e-test-images/busybox': busybox(),
  'registry.k8s.io/e2e-test-images/nonroot': busybox('1234'),
  'registry.k8s.io/e2e-test-images/nonewprivs': async (ref, s) => ({
    ref,
    layers: [
      { comment: 'busybox-static, bash (Debian)', entries: await toolsLayer(false) },
      { comment: 'nnp (k8s.io/kubernetes/test/images/nonewprivs), setuid root', entries: [dir('usr/local/bin'), { path: 'usr/local/bin/nnp', type: 'file', mode: 0o4755, content: await readFile(join(s.e2eBin, 'nonewprivs')) }] },
    ],
    cmd: ['nnp'], env: [PATH_ENV],
  }),
  'registry.k8s.io/e2e-test-images/glibc-dns-testing': async (ref, s) => ({
    ref,
    layers: [
      { comment: 'bash, nc, dig, nslookup, curl, ip, ss, busybox (Debian)', entries: await toolsLayer(true) },
      { comment: 'CoreDNS', entries: [{ path: 'coredns', type: 'file', mode: 0o755, content: await readFile(s.corednsBinary) }] },
    ],
    cmd: ['sh'], env: [PATH_ENV],
  }),
  'registry.k8s.io/e2e-test-images/sample-apiserver': async (ref, s) => ({
    ref,
    layers: [
      { comment: 'busybox-static, bash (Debian)', entries: await toolsLayer(false) },
      { comment: 'sample-apiserver (k8s.io/sample-apiserver)', entries: [{ path: 'sample-apiserver', type: 'file', mode: 0o755, content: await readFile(join(s.e2eBin, 'sample-apiserver')) }] },
    ],
    entrypoint: ['/sample-apiserver'], env: [PATH_ENV],
  }),
  'registry.k8s.io/etcd': async (ref, s) => ({
    ref,
    entries: [
      { path: 'usr/local/bin/etcd', type: 'file', mode: 0o755, content: await readFile(join(s.etcdBin, 'etcd')) },
      { path: 'usr/local/bin/etcdctl', type: 'file', mode: 0o755, content: await readFile(join(s.etcdBin, 'etcdctl')) },
      dir('tmp', 0o1777),
    ],
    entrypoint: ['/usr/local/bin/etcd'],
    env: [PATH_ENV],
  }),
  'registry.k8s.io/pause': async (ref, s) => ({ ref, entries: [{ path: 'pause', type: 'file', mode: 0o755, content: await readFile(s.pauseBinary) }], entrypoint: ['/pause'] }),
};

const repository = (ref: string) => ref.replace(/:[^/:]+$/, '');

/** The images of `refs` this module can build, and those it cannot. */
export function planImages(refs: string[]): { buildable: string[]; missing: string[] } {
  const buildable = refs.filter((r) => RECIPES[repository(r)] !== undefined);
  return { buildable, missing: refs.filter((r) => !buildable.includes(r)) };
}

/**
 * The image of `ref`. Its config names the reference in a label, so two tags made the same way (agnhost
 * 2.55 and 2.66.1, both nginx tags) are two images: containerd 1.6 reports a container's image as the first
 * tag of its image, and specs compare the reported image with the one they asked for.
 */
export async function imageSpec(ref: string, sources: E2eImageSources): Promise<ImageSpec> {
  const recipe = RECIPES[repository(ref)];
  if (!recipe) throw new Error(`no recipe for ${ref}`);
  const spec = await recipe(ref, sources);
  return { ...spec, labels: { ...spec.labels, 'io.kubeception.e2e-image': ref } };
}

/** The image references `e2e.test --list-images` prints (one per line). */
export async function listImages(e2eTest: string): Promise<string[]> {
  const { stdout } = await run(e2eTest, ['--list-images']);
  return stdout.split('\n').map((l) => l.trim()).filter((l) => /^[a-z0-9.-]+\/\S+:\S+$/.test(l));
}
