// The product's two images, the operator and the REST API, built from the repository without a Docker
// daemon. Three layers, bottom first, so that the two images share their first two and an upgrade that
// changes only the product's code ships one small layer:
//
//   base          Node 24 + the libraries it links to, /etc/passwd with user 65532, /tmp  (images/base.ts)
//   dependencies  the production packages of package-lock.json, pruned      (images/dependencies.ts)
//   app           package.json and the files the program reaches through its imports, at /app
//
// Tags: kubeception.local/kubeception-operator:<version> and kubeception.local/kubeception-api:<version>,
// <version> being package.json's unless overridden; the shipped package.json carries the same version,
// which is what the programs report (core/version.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { buildImage, type BuiltImage, type BuiltLayer, type ImageSpec, type Layer, type LayerCache } from './archive.ts';
import { baseLayer, NONROOT_UID, readBaseInputs } from './base.ts';
import { dependencyFiles, type PackageLock } from './dependencies.ts';
import { importClosure } from './imports.ts';
import { GROUP, PLURAL } from '../core/contract.ts';

export const repoRoot = resolve(import.meta.dirname, '..');
export const PRODUCT_REGISTRY = 'kubeception.local';
/** The npm package `node`'s binary: the runtime of the images, the same the npm scripts run. */
export const NODE_BINARY = 'node_modules/node/bin/node';

export type ProductImageName = 'kubeception-operator' | 'kubeception-api';

interface ProductProgram {
  name: ProductImageName;
  /** What the container runs. */
  entrypoint: string;
  /** Every program the image carries (the entrypoint and the CLIs an admin runs with kubectl exec). */
  programs: string[];
  /** Files a program reads at run time rather than imports. */
  dataFiles: string[];
}

export const PRODUCT_PROGRAMS: readonly ProductProgram[] = [
  {
    name: 'kubeception-operator',
    entrypoint: 'operator/main.ts',
    programs: ['operator/main.ts', 'operator/join-token.ts'],
    dataFiles: [`crds/${GROUP}_${PLURAL}.yaml`], // installed by the operator at start (operator/main.ts)
  },
  { name: 'kubeception-api', entrypoint: 'api/server.ts', programs: ['api/server.ts', 'api/keys-cli.ts'], dataFiles: [] },
];

const program = (name: ProductImageName): ProductProgram => PRODUCT_PROGRAMS.find((p) => p.name === name)!;

/** An image tag: letters, digits, `_`, `.`, `-`, at most 128 (the OCI distribution rule). */
export function checkVersion(version: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(version)) {
    throw new Error(`version ${JSON.stringify(version)} cannot be an image tag: use letters, digits, '.', '_' and '-' (e.g. 0.1.1-e2e)`);
  }
  return version;
}

export const productImageRef = (name: ProductImageName, version: string) => `${PRODUCT_REGISTRY}/${name}:${checkVersion(version)}`;

/** package.json's "version": the images' default tag. */
export function packageVersion(root = repoRoot): string {
  return checkVersion((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? '');
}

/** The package.json the image ships: what Node needs (ESM) and the version the programs report. */
export function appPackageJson(pkg: { name?: string; description?: string; license?: string }, version: string): Buffer {
  const shipped = { name: pkg.name, version, description: pkg.description, license: pkg.license, private: true, type: 'module' };
  return Buffer.from(`${JSON.stringify(shipped, null, 2)}\n`);
}

/** The repository files of an image's app layer (package.json apart): the programs' import closure and data files. */
export function appFilePaths(name: ProductImageName, root = repoRoot): string[] {
  const p = program(name);
  const read = (path: string) => (existsSync(join(root, path)) ? readFileSync(join(root, path), 'utf8') : undefined);
  const { files } = importClosure(p.programs, read);
  for (const data of p.dataFiles) if (!existsSync(join(root, data))) throw new Error(`${name}: data file ${data} is missing`);
  return [...files, ...p.dataFiles].sort();
}

/**
 * Every file on this machine an image is made from (absolute paths): a change to one of them changes the
 * image. The test bed fingerprints these to know when to re-import; the shared libraries are left out
 * (they change with the machine's glibc package only).
 */
export function productImageSources(name: ProductImageName, root = repoRoot): string[] {
  const builder = readdirSync(join(root, 'images')).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => join(root, 'images', f));
  return [realpathSync(join(root, NODE_BINARY)), join(root, 'package.json'), join(root, 'package-lock.json'), ...builder, ...appFilePaths(name, root).map((f) => join(root, f))];
}

export interface ProductImageOptions {
  /** The repository (default: this one). */
  root?: string;
  /** The tag and the version the programs report (default: package.json's). */
  version?: string;
  /** Only these images (default: both). */
  only?: ProductImageName[];
  /** org.opencontainers.image.revision (default: the repository's HEAD commit, when git knows it). */
  revision?: string;
  /** org.opencontainers.image.source (default: the URL of the git remote `origin`, when there is one). */
  source?: string;
}

/** Everything the images are made of, read from the repository and this machine. */
export interface ProductInputs {
  pkg: { name?: string; version?: string; description?: string; license?: string };
  base: Layer;
  dependencies: Layer;
  /** Bytes of the production packages before and after pruning, and how many packages. */
  dependencyStats: { bytesBeforePruning: number; bytes: number; packages: number };
  /** Each image's app files (package.json apart), repository paths with their contents. */
  appFiles: Partial<Record<ProductImageName, { path: string; content: Buffer }[]>>;
  revision?: string;
  source?: string;
}

export interface ProductImage {
  name: ProductImageName;
  ref: string;
  version: string;
  spec: ImageSpec;
}

/** What git says, or undefined (not a checkout, no remote): the label is then left out. */
function git(root: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Reads what the images are made of: Node and its libraries, the production packages, the product's files. */
export async function readProductInputs(options: Omit<ProductImageOptions, 'version'> = {}): Promise<ProductInputs> {
  const root = options.root ?? repoRoot;
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as ProductInputs['pkg'];
  const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as PackageLock;
  const [baseInputs, deps] = await Promise.all([readBaseInputs(join(root, NODE_BINARY)), dependencyFiles(root, lock)]);
  const appFiles: ProductInputs['appFiles'] = {};
  for (const name of options.only ?? PRODUCT_PROGRAMS.map((p) => p.name)) {
    appFiles[name] = await Promise.all(appFilePaths(name, root).map(async (path) => ({ path, content: await readFile(join(root, path)) })));
  }
  const packages = new Set(deps.entries.map((e) => /^app\/(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(e.path)?.[1])).size;
  const revision = options.revision ?? git(root, ['rev-parse', 'HEAD']);
  const source = options.source ?? git(root, ['remote', 'get-url', 'origin']);
  return {
    pkg,
    base: baseLayer(baseInputs.node, baseInputs.libraries),
    dependencies: { comment: `dependencies: production node_modules of package-lock.json, pruned (${deps.entries.length} files)`, entries: deps.entries },
    dependencyStats: { bytesBeforePruning: deps.bytesBeforePruning, bytes: deps.bytes, packages },
    appFiles,
    ...(revision ? { revision } : {}),
    ...(source ? { source } : {}),
  };
}

/** The image specs of the images whose inputs were read, at `version` (default: package.json's). Pure. */
export function productImages(inputs: ProductInputs, version = inputs.pkg.version ?? ''): ProductImage[] {
  checkVersion(version);
  const packageJson = appPackageJson(inputs.pkg, version);
  return PRODUCT_PROGRAMS.filter((p) => inputs.appFiles[p.name]).map((p): ProductImage => {
    const files = inputs.appFiles[p.name]!;
    const ref = productImageRef(p.name, version);
    const app: Layer = {
      comment: `app: ${p.name} (${p.programs.join(', ')}) and ${files.length} files they import or read`,
      entries: [
        { path: 'app/package.json', type: 'file', mode: 0o644, content: packageJson },
        ...files.map((f) => ({ path: `app/${f.path}`, type: 'file' as const, mode: 0o644, content: f.content })),
      ],
    };
    return {
      name: p.name,
      ref,
      version,
      spec: {
        ref,
        layers: [inputs.base, inputs.dependencies, app],
        entrypoint: ['/usr/local/bin/node', `/app/${p.entrypoint}`],
        env: ['PATH=/usr/local/bin', 'NODE_ENV=production'],
        user: `${NONROOT_UID}:${NONROOT_UID}`,
        workingDir: '/app',
        labels: {
          'org.opencontainers.image.title': p.name,
          'org.opencontainers.image.version': version,
          ...(inputs.source ? { 'org.opencontainers.image.source': inputs.source } : {}),
          ...(inputs.revision ? { 'org.opencontainers.image.revision': inputs.revision } : {}),
        },
      },
    };
  });
}

export interface BuiltProductImage extends ProductImage {
  built: BuiltImage;
}

export type LayerProgress = (image: ProductImage, layer: BuiltLayer, index: number, total: number) => void;

/** Writes the archives of images; layers they share (same Layer objects) are written once. */
export function buildArchives(images: ProductImage[], onLayer?: LayerProgress, cache: LayerCache = new WeakMap()): BuiltProductImage[] {
  return images.map((image) => ({ ...image, built: buildImage(image.spec, (layer, index, total) => onLayer?.(image, layer, index, total), cache) }));
}

/** Reads the inputs and builds the product images' docker-archives; `onLayer` hears of every layer (progress). */
export async function buildProductImages(
  options: ProductImageOptions & { onLayer?: LayerProgress } = {},
): Promise<{ images: BuiltProductImage[]; dependencies: ProductInputs['dependencyStats'] }> {
  const inputs = await readProductInputs(options);
  return { images: buildArchives(productImages(inputs, options.version), options.onLayer), dependencies: inputs.dependencyStats };
}
