// The image tarballs the test bed imports into containerd are real tar archives: GNU tar reads them,
// and the layer holds the files with the modes and contents given, under their parent folders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerArchive, tar, withParents } from './image-archive.ts';

test('a docker-archive of one layer unpacks with tar and names its layer by digest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'image-archive-'));
  const program = Buffer.from('#!/bin/true\n'.repeat(100));
  const archive = dockerArchive({
    ref: 'example.local/tool:v1',
    entries: [{ path: 'usr/local/bin/tool', type: 'file', mode: 0o755, content: program }, { path: 'bin', type: 'symlink', mode: 0o777, linkTarget: 'usr/bin' }],
    entrypoint: ['/usr/local/bin/tool'],
  });
  writeFileSync(join(dir, 'image.tar'), archive);
  execFileSync('tar', ['-xf', join(dir, 'image.tar'), '-C', dir]);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { Config: string; RepoTags: string[]; Layers: string[] }[];
  assert.deepEqual(manifest[0]!.RepoTags, ['example.local/tool:v1']);
  const config = JSON.parse(readFileSync(join(dir, manifest[0]!.Config), 'utf8')) as { config: { Entrypoint: string[] }; rootfs: { diff_ids: string[] } };
  const layer = readFileSync(join(dir, manifest[0]!.Layers[0]!));
  assert.equal(config.rootfs.diff_ids[0], `sha256:${createHash('sha256').update(layer).digest('hex')}`);
  assert.deepEqual(config.config.Entrypoint, ['/usr/local/bin/tool']);

  const rootfs = join(dir, 'rootfs');
  execFileSync('mkdir', [rootfs]);
  execFileSync('tar', ['-xf', join(dir, manifest[0]!.Layers[0]!), '-C', rootfs]);
  assert.deepEqual(readFileSync(join(rootfs, 'usr/local/bin/tool')), program);
  assert.equal(statSync(join(rootfs, 'usr/local/bin/tool')).mode & 0o777, 0o755);
  assert.equal(execFileSync('readlink', [join(rootfs, 'bin')]).toString().trim(), 'usr/bin');
});

test('parents come before their children, once each, and long paths are refused', () => {
  const entries = withParents([
    { path: 'a/b/c', type: 'file', mode: 0o644, content: Buffer.from('x') },
    { path: 'a/b/d', type: 'file', mode: 0o644, content: Buffer.from('y') },
    { path: 'tmp/x', type: 'file', mode: 0o644 },
  ]);
  assert.deepEqual(entries.map((e) => e.path), ['a', 'a/b', 'tmp', 'a/b/c', 'a/b/d', 'tmp/x']);
  assert.equal(entries.find((e) => e.path === 'tmp')!.mode, 0o1777, '/tmp is sticky and world-writable');
  assert.throws(() => tar([{ path: 'x'.repeat(101), type: 'file', mode: 0o644 }]), /too long/);
});
