// The fast checks `npm test` runs first, before anything slow (Kubernetes binaries, the test bed): the type
// check, the lint and the generated-files check. They run side by side and each one's output is printed
// only when it fails. `npm run check` (node e2e/static-checks.ts) runs them alone.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface StaticCheck {
  name: string;
  /** Run with this process's Node: the tools are JavaScript files under node_modules. */
  args: string[];
  cwd: string;
  /** The command that shows the same result on its own. */
  rerun: string;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  code: number | null;
  seconds: number;
  output: string;
  rerun: string;
}

/** The checks for the project in `root`; the tools come from this repository's node_modules. */
export function staticChecks(root = repoRoot): StaticCheck[] {
  const tool = (path: string) => join(repoRoot, 'node_modules', path);
  return [
    { name: 'typecheck', args: [tool('typescript/bin/tsc'), '--noEmit', '--pretty', 'false', '-p', root], cwd: root, rerun: 'npm run typecheck' },
    { name: 'lint', args: [tool('eslint/bin/eslint.js'), '--max-warnings', '0', '.'], cwd: root, rerun: 'npm run lint' },
    { name: 'generated files', args: [join(root, 'crds', 'generate.ts'), '--check'], cwd: root, rerun: 'npm run crds -- --check' },
  ];
}

function runCheck(check: StaticCheck): Promise<CheckResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const child = spawn(process.execPath, check.args, { cwd: check.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.stderr.on('data', (b: Buffer) => chunks.push(b));
    const done = (code: number | null, extra = '') =>
      resolve({ name: check.name, ok: code === 0, code, seconds: (Date.now() - started) / 1000, output: Buffer.concat(chunks).toString() + extra, rerun: check.rerun });
    child.on('error', (err) => done(null, `\n${String(err)}`));
    child.on('close', (code) => done(code));
  });
}

/** Runs the checks side by side; prints one line per check, and a failed check's output. */
export async function runStaticChecks(checks = staticChecks(), print: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<{ ok: boolean; results: CheckResult[] }> {
  const started = Date.now();
  const results = await Promise.all(checks.map(async (check) => {
    const result = await runCheck(check);
    if (result.ok) {
      print(`[static checks] ${result.name}: ok (${result.seconds.toFixed(1)} s)`);
    } else {
      print(`[static checks] ${result.name}: FAILED (exit ${result.code ?? 'none'}, ${result.seconds.toFixed(1)} s; to rerun: ${result.rerun})`);
      print(result.output.trimEnd().replace(/^/gm, '  '));
    }
    return result;
  }));
  const failed = results.filter((r) => !r.ok).map((r) => r.name);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  print(failed.length ? `[static checks] FAILED: ${failed.join(', ')} (${seconds} s)` : `[static checks] all passed (${seconds} s)`);
  return { ok: failed.length === 0, results };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { ok } = await runStaticChecks();
  process.exitCode = ok ? 0 : 1;
}
