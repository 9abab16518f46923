// `npm run images [-- --version X] [--out DIR]`: writes the operator and API images as docker-archive
// tarballs (dist/images/<name>_<version>.tar) and says how to import them into containerd.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildProductImages, checkVersion, PRODUCT_PROGRAMS, repoRoot, type ProductImageName } from './product.ts';
import { smokeTest } from './smoke.ts';
import { missingImports, readImage } from './verify.ts';

export const USAGE = `Usage: npm run images [-- --version <tag>] [--out <dir>] [--smoke]

Builds kubeception.local/kubeception-operator:<version> and kubeception.local/kubeception-api:<version>
from this repository (no Docker daemon), checks that every import of their programs resolves inside
them, and writes <dir>/<name>_<version>.tar (docker-archive).

  --version <tag>  the tag and the version the programs report (default: package.json's "version")
  --out <dir>      where the tarballs go (default: dist/images)
  --smoke          also unpack each image and run its entrypoint with --help in a chroot (root only)`;

export interface BuildArgs {
  version?: string;
  out: string;
  smoke: boolean;
}

/** The command line, or an error whose message is the usage (for --help) or says what is wrong. */
export function parseBuildArgs(argv: string[]): BuildArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { version: { type: 'string' }, out: { type: 'string' }, smoke: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) throw new Error(USAGE);
  if (positionals.length > 0) throw new Error(`unexpected argument ${positionals[0]}`);
  if (values.version !== undefined) checkVersion(values.version);
  return {
    ...(values.version === undefined ? {} : { version: values.version }),
    out: resolve(values.out ?? join(repoRoot, 'dist', 'images')),
    smoke: values.smoke ?? false,
  };
}

export const archiveFileName = (name: ProductImageName, version: string) => `${name}_${version}.tar`;

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

async function main(): Promise<void> {
  let args: BuildArgs;
  try {
    args = parseBuildArgs(process.argv.slice(2));
  } catch (error) {
    const message = (error as Error).message;
    process.stderr.write(message === USAGE ? `${USAGE}\n` : `${message}\n\n${USAGE}\n`);
    process.exit(message === USAGE ? 0 : 2);
  }
  const started = Date.now();
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say('images: reading node, its libraries, the production node_modules and the product sources');
  const { images, dependencies } = await buildProductImages({
    ...(args.version === undefined ? {} : { version: args.version }),
    onLayer: (image, layer, index, total) => say(`  ${image.name} layer ${index + 1}/${total}: ${mb(layer.size)} ${layer.diffId.slice(0, 19)}  ${layer.comment}`),
  });
  say(`  dependencies pruned from ${mb(dependencies.bytesBeforePruning)} to ${mb(dependencies.bytes)} (${dependencies.packages} packages; *.md, *.map, TypeScript, test folders left out)`);
  for (const image of images) {
    const programs = PRODUCT_PROGRAMS.find((p) => p.name === image.name)!.programs.map((p) => `/app/${p}`);
    const missing = missingImports(readImage(image.built.archive).files, programs);
    if (missing.length > 0) throw new Error(`${image.ref} is incomplete:\n  ${missing.join('\n  ')}`);
    say(`  ${image.name}: every import of ${programs.join(', ')} resolves inside the image`);
  }
  await mkdir(args.out, { recursive: true });
  const files: string[] = [];
  for (const image of images) {
    const file = join(args.out, archiveFileName(image.name, image.version));
    // Written aside and renamed, so a tarball that exists is a whole one.
    await writeFile(`${file}.partial`, image.built.archive);
    await rename(`${file}.partial`, file);
    files.push(file);
    say(`${relative(process.cwd(), file) || file}  ${mb(image.built.archive.length)}  ${image.ref}  image ID ${image.built.imageId}`);
  }
  if (args.smoke) {
    for (const image of images) {
      const result = await smokeTest(image.built.archive);
      say(`  smoke: ${result.ref} ran its entrypoint --help from its own files in ${result.ms} ms: ${result.output.split('\n')[0]}`);
    }
  }
  say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s. Import into a node's containerd with:`);
  for (const file of files) say(`  ctr -n k8s.io images import ${file}`);
}

if (import.meta.main) {
  await main().catch((error: unknown) => {
    process.stderr.write(`images: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
