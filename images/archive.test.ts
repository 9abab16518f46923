// The image tarballs are real tar archives: GNU tar reads them, the layers hold the files with the modes
// and contents given under their parent folders, long paths survive, and equal inputs give equal bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, dockerArchive, layerTar, readTar, tar, ustarSplit, withParents, type ImageSpec, type LayerEntry } from './archive.ts';

interface Manifest { Config: string; RepoTags: string[]; Layers: string[] }
interface Config { config: { Entrypoint: string[]; WorkingDir?: string; Labels?: Record<string, string>; User?: string }; rootfs: { diff_ids: string[] }; history: { created_by: string }[] }

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'image-archive-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a docker-archive of one layer unpacks with tar and names its layer by digest', (t) => {
  const dir = scratch(t);
  const program = Buffer.from('#!/bin/true\n'.repeat(100));
  const archive = dockerArchive({
    ref: 'example.local/tool:v1',
    entries: [{ path: 'usr/local/bin/tool', type: 'file', mode: 0o755, content: program }, { path: 'bin', type: 'symlink', mode: 0o777, linkTarget: 'usr/bin' }],
    entrypoint: ['/usr/local/bin/tool'],
  });
  writeFileSync(join(dir, 'image.tar'), archive);
  execFileSync('tar', ['-xf', join(dir, 'image.tar'), '-C', dir]);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest[];
  assert.deepEqual(manifest[0]!.RepoTags, ['example.local/tool:v1']);
  const config = JSON.parse(readFileSync(join(dir, manifest[0]!.Config), 'utf8')) as Config;
  const layer = readFileSync(join(dir, manifest[0]!.Layers[0]!));
  assert.equal(config.rootfs.diff_ids[0], `sha256:${createHash('sha256').update(layer).digest('hex')}`);
  assert.deepEqual(config.config.Entrypoint, ['/usr/local/bin/tool']);

  const rootfs = join(dir, 'rootfs');
  execFileSync('mkdir', [rootfs]);
  execFileSync('tar', ['-xf', join(dir, manifest[0]!.Layers[0]!), '-C', rootfs]);
  assert.deepEqual(readFileSync(join(rootfs, 'usr/local/bin/tool')), program);
  assert.equal(statSync(join(rootfs, 'usr/local/bin/tool')).mode & 0o777, 0o755);
  assert.equal(readlinkSync(join(rootfs, 'bin')), 'usr/bin');
});

test('parents come before their children, once each; a layer is sorted and refuses a path given twice', () => {
  const entries = withParents([
    { path: 'a/b/c', type: 'file', mode: 0o644, content: Buffer.from('x') },
    { path: 'a/b/d', type: 'file', mode: 0o644, content: Buffer.from('y') },
    { path: 'tmp/x', type: 'file', mode: 0o644 },
  ]);
  assert.deepEqual(entries.map((e) => e.path), ['a', 'a/b', 'tmp', 'a/b/c', 'a/b/d', 'tmp/x']);
  assert.equal(entries.find((e) => e.path === 'tmp')!.mode, 0o1777, '/tmp is sticky and world-writable');

  const layer = readTar(layerTar([
    { path: 'z', type: 'file', mode: 0o644 },
    { path: 'a-b/x', type: 'file', mode: 0o644 },
    { path: 'a/y', type: 'file', mode: 0o644 },
  ]));
  assert.deepEqual(layer.map((e) => e.path), ['a', 'a-b', 'a-b/x', 'a/y', 'z']);
  assert.ok(layer.every((e) => e.uid === 0 && e.gid === 0 && e.mtime === 0));
  assert.throws(() => layerTar([{ path: 'a', type: 'file', mode: 0o644 }, { path: '/a', type: 'file', mode: 0o644 }]), /holds a twice/);
});

test('paths and link targets longer than 100 bytes round-trip, through our reader and through GNU tar', (t) => {
  const dir = scratch(t);
  const splittable = `node_modules/${'p'.repeat(60)}/${'q'.repeat(60)}/index.js`; // prefix + name
  const oneLongName = `lib/${'n'.repeat(180)}.js`; // no split fits: a PAX header
  const deepDir = `x/${'d'.repeat(150)}/${'e'.repeat(99)}`; // a folder, via prefix
  const longLink = `../${'l'.repeat(120)}`;
  const split = ustarSplit(splittable)!;
  assert.equal(`${split.prefix}/${split.name}`, splittable);
  assert.ok(split.prefix.length <= 155 && split.name.length <= 100);
  assert.equal(ustarSplit(oneLongName), undefined);
  const input: LayerEntry[] = [
    { path: splittable, type: 'file', mode: 0o644, content: Buffer.from('splittable') },
    { path: oneLongName, type: 'file', mode: 0o644, content: Buffer.from('pax') },
    { path: deepDir, type: 'dir', mode: 0o755 },
    { path: 'link', type: 'symlink', mode: 0o777, linkTarget: longLink },
    { path: 'ünïcode-äöü', type: 'file', mode: 0o600, content: Buffer.from('utf8') },
  ];
  const archive = tar(input);
  const back = readTar(archive);
  assert.deepEqual(back.map((e) => [e.path, e.type, e.mode, e.content.toString(), e.linkTarget]), input.map((e) => [e.path, e.type, e.mode, e.content?.toString() ?? '', e.linkTarget ?? '']));

  writeFileSync(join(dir, 'long.tar'), archive);
  execFileSync('tar', ['-xf', join(dir, 'long.tar'), '-C', dir]);
  assert.equal(readFileSync(join(dir, splittable), 'utf8'), 'splittable');
  assert.equal(readFileSync(join(dir, oneLongName), 'utf8'), 'pax');
  assert.ok(statSync(join(dir, deepDir)).isDirectory());
  assert.equal(readlinkSync(join(dir, 'link')), longLink);
  const listed = execFileSync('tar', ['-tf', join(dir, 'long.tar')]).toString().split('\n').filter(Boolean);
  assert.deepEqual(listed, [splittable, oneLongName, `${deepDir}/`, 'link', 'ünïcode-äöü']);
});

test('several layers: named by digest, listed bottom first with their history; equal inputs give equal bytes', () => {
  const spec = (app: string): ImageSpec => ({
    ref: 'example.local/app:v1',
    layers: [
      { comment: 'base', entries: [{ path: 'usr/local/bin/run', type: 'file', mode: 0o755, content: Buffer.from('run') }] },
      { comment: 'app', entries: [{ path: 'app/main.js', type: 'file', mode: 0o644, content: Buffer.from(app) }] },
    ],
    entrypoint: ['/usr/local/bin/run'],
    workingDir: '/app',
    user: '65532:65532',
    labels: { 'org.opencontainers.image.version': '1', 'a.first': 'x' },
  });
  const seen: string[] = [];
  const one = buildImage(spec('v1'), (layer, index, total) => seen.push(`${index + 1}/${total} ${layer.comment}`));
  const again = buildImage(spec('v1'));
  const changed = buildImage(spec('v2'));
  assert.deepEqual(seen, ['1/2 base', '2/2 app']);
  assert.ok(one.archive.equals(again.archive), 'byte-equal archives');
  assert.equal(one.imageId, again.imageId);
  assert.notEqual(changed.imageId, one.imageId);
  assert.equal(changed.layers[0]!.diffId, one.layers[0]!.diffId, 'the base layer is shared');
  assert.notEqual(changed.layers[1]!.diffId, one.layers[1]!.diffId);

  const files = new Map(readTar(one.archive).map((e) => [e.path, e.content]));
  const manifest = JSON.parse(files.get('manifest.json')!.toString()) as Manifest[];
  assert.deepEqual(manifest[0]!.Layers, one.layers.map((l) => `${l.diffId.slice(7)}.tar`));
  assert.equal(`sha256:${manifest[0]!.Config.replace(/\.json$/, '')}`, one.imageId);
  const config = JSON.parse(files.get(manifest[0]!.Config)!.toString()) as Config;
  assert.equal(config.config.WorkingDir, '/app');
  assert.equal(config.config.User, '65532:65532');
  assert.deepEqual(Object.keys(config.config.Labels!), ['a.first', 'org.opencontainers.image.version'], 'labels sorted');
  assert.deepEqual(config.history.map((h) => h.created_by), ['base', 'app']);
  for (const [i, name] of manifest[0]!.Layers.entries()) {
    assert.equal(`sha256:${createHash('sha256').update(files.get(name)!).digest('hex')}`, config.rootfs.diff_ids[i]);
  }
  assert.throws(() => buildImage({ ref: 'x', entries: [], layers: [] }), /either layers or entries/);
});
