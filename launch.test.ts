// launch.mjs, from the outside: which Node it runs, what it forwards, when it installs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const launcher = fileURLToPath(new URL('./launch.mjs', import.meta.url));
// The machine's node (20 here) runs the launcher, as `npm start` on a fresh clone does: the first `node` on
// the PATH outside node_modules (npm run puts node_modules/.bin first), else this Node.
const systemNode = (process.env.PATH ?? '').split(delimiter)
  .filter((dir) => dir && !dir.includes('node_modules'))
  .map((dir) => join(dir, 'node'))
  .find((file) => existsSync(file)) ?? process.execPath;

function script(t: { after: (fn: () => void) => void }, source: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kc-launch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'script.ts');
  writeFileSync(file, source);
  return file;
}

test(`run by ${systemNode}: runs a .ts file on Node 24 from node_modules with the arguments, returns its exit code`, (t) => {
  const file = script(t, 'const n: number = 7;\nconsole.log(JSON.stringify([process.versions.node, process.argv.slice(2)]));\nprocess.exit(n);\n');
  const r = spawnSync(systemNode, [launcher, file, 'a b', '--flag'], { encoding: 'utf8' });
  assert.equal(r.status, 7, r.stderr);
  const [version, args] = JSON.parse(r.stdout) as [string, string[]];
  assert.equal(version.split('.')[0], '24');
  assert.deepEqual(args, ['a b', '--flag']);
  assert.equal(r.stderr, '', 'nothing to install: the launcher says nothing');
});

test('SIGTERM and a second SIGINT reach the child; the launcher survives both and exits with its code', async (t) => {
  const file = script(t, [
    "let seen = 0;",
    "for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, () => { console.log(`got ${s}`); if (++seen === 2) process.exit(5); });",
    "console.log('ready');",
    "setInterval(() => {}, 1000);",
  ].join('\n'));
  const child = spawn(systemNode, [launcher, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise<void>((resolve) => child.stdout.on('data', () => out.includes('ready') && resolve()));
  child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGINT');
  const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
  assert.deepEqual([code, signal], [5, null]);
  assert.match(out, /got SIGTERM\ngot SIGINT\n/);
});

test('a child killed by a signal makes the launcher end by the same signal', async (t) => {
  const file = script(t, "console.log('ready');\nsetInterval(() => {}, 1000);\n");
  const child = spawn(systemNode, [launcher, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.on('data', (b: Buffer) => b.toString().includes('ready') && resolve()));
  child.kill('SIGTERM');
  const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
  assert.deepEqual([code, signal], [null, 'SIGTERM']);
});

test('npm ci is due when node_modules, the node package or the install record is missing, or the lock is newer', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kc-launch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const reason = (): string | null => {
    const r = spawnSync(systemNode, ['--input-type=module', '-e',
      `import { installReason } from ${JSON.stringify(new URL('./launch.mjs', import.meta.url).href)}; console.log(JSON.stringify(installReason(${JSON.stringify(dir)}) ?? null));`,
    ], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as string | null;
  };
  writeFileSync(join(dir, 'package-lock.json'), '{}');
  assert.equal(reason(), 'node_modules is missing');
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  assert.equal(reason(), 'the node package (Node 24) is not installed');
  mkdirSync(join(dir, 'node_modules', 'node'));
  writeFileSync(join(dir, 'node_modules', 'node', 'package.json'), '{}');
  writeFileSync(join(dir, 'node_modules', '.bin', 'node'), '');
  assert.equal(reason(), 'node_modules/.package-lock.json is missing');
  writeFileSync(join(dir, 'node_modules', '.package-lock.json'), '{}');
  const now = Date.now() / 1000;
  utimesSync(join(dir, 'package-lock.json'), now - 60, now - 60);
  assert.equal(reason(), null);
  utimesSync(join(dir, 'package-lock.json'), now + 60, now + 60);
  assert.equal(reason(), 'package-lock.json changed since the last install');
});
