import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStaticChecks, staticChecks, type StaticCheck } from './static-checks.ts';

/** A tiny TypeScript project in a temp directory: tsconfig.json and one file. */
function project(t: { after: (fn: () => void) => void }, source: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kc-static-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'nodenext', target: 'es2024', types: [] },
    include: ['*.ts'],
  }));
  writeFileSync(join(dir, 'main.ts'), source);
  return dir;
}

const typecheckOf = (root: string): StaticCheck[] => staticChecks(root).filter((c) => c.name === 'typecheck');

test('an intentional type error fails the typecheck, with the error and the rerun command in the output', async (t) => {
  const dir = project(t, 'export const port: number = "8080";\n');
  const lines: string[] = [];
  const { ok, results } = await runStaticChecks(typecheckOf(dir), (l) => lines.push(l));
  assert.equal(ok, false);
  assert.equal(results[0]?.ok, false);
  assert.match(results[0]?.output ?? '', /main\.ts.*error TS2322/);
  assert.match(lines.join('\n'), /typecheck: FAILED .*npm run typecheck/);
  assert.match(lines.at(-1) ?? '', /FAILED: typecheck/);
});

test('a clean tree passes the typecheck', async (t) => {
  const dir = project(t, 'export const port: number = 8080;\n');
  const { ok, results } = await runStaticChecks(typecheckOf(dir), () => {});
  assert.equal(ok, true, results[0]?.output);
});

test('one failing check fails the run; the others still run and report', async () => {
  const checks: StaticCheck[] = [
    { name: 'passes', args: ['-e', ''], cwd: tmpdir(), rerun: 'x' },
    { name: 'fails', args: ['-e', 'console.error("broken"); process.exit(3)'], cwd: tmpdir(), rerun: 'npm run fails' },
  ];
  const lines: string[] = [];
  const { ok, results } = await runStaticChecks(checks, (l) => lines.push(l));
  assert.equal(ok, false);
  assert.deepEqual(results.map((r) => [r.name, r.ok, r.code]), [['passes', true, 0], ['fails', false, 3]]);
  assert.ok(lines.includes('  broken'));
  assert.match(lines.at(-1) ?? '', /FAILED: fails \(/);
});

test('the committed generated files are what npm run crds writes', async () => {
  const { ok, results } = await runStaticChecks(staticChecks().filter((c) => c.name === 'generated files'), () => {});
  assert.equal(ok, true, results[0]?.output);
});
