// `npm test`: first the static checks (typecheck, lint, generated files; seconds, and any failure ends the
// run before anything slow), then builds the real Kubernetes binaries if the cache lacks them, brings up
// the host test bed (or reuses a running one), runs the unit tests and the end-to-end tests against it,
// and takes the test bed down again if this run started it (set KUBECEPTION_KEEP_TESTBED=1 to keep it).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { runStaticChecks } from './static-checks.ts';
import { ensureBinaries, status, up, down } from './testbed/testbed.ts';
import { log } from './testbed/log.ts';

// The unit test globs are the ones of `npm run test:unit` (package.json), so the two cannot drift apart.
const testUnitScript = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts['test:unit'] ?? '';
const unitTests = [...testUnitScript.matchAll(/'([^']+\.test\.ts)'/g)].map((m) => m[1]!);
if (!unitTests.length) throw new Error(`no unit test globs found in package.json's test:unit script: ${testUnitScript}`);
const e2eTests = process.argv.slice(2).length ? process.argv.slice(2) : ['e2e/tests/*.e2e.ts'];

function nodeTest(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=1', '--test-force-exit', ...files], { stdio: 'inherit', env });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

const checks = await runStaticChecks();
if (!checks.ok) {
  console.error('npm test: the static checks failed (see above); no binaries were built and the test bed was not touched.');
  process.exit(1);
}

try {
  await ensureBinaries(); // the machine's preflight (Debian packages, Go, root), then the Go build if the cache lacks it
} catch (err) {
  console.error(`npm test: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
const wasUp = (await status()).up;
const started = Date.now();
const { kubeconfig } = wasUp ? { kubeconfig: (await status()).kubeconfig } : await up();
log.info({ reused: wasUp, seconds: (Date.now() - started) / 1000 }, 'test bed ready for the tests');

let code = 0;
try {
  const env = { ...process.env, KUBECEPTION_TESTBED_KUBECONFIG: kubeconfig };
  code = await nodeTest([...unitTests, ...e2eTests], env);
} finally {
  if (!wasUp && !process.env.KUBECEPTION_KEEP_TESTBED) {
    try {
      await down(); // fails if anything was left behind: a process, a mount or a network device
    } catch (err) {
      log.error({ err: String(err) }, 'test bed teardown left something behind');
      code ||= 1;
    }
  }
}
process.exitCode = code;
