// `npm test`: first the static checks (typecheck, lint, generated files; seconds, and any failure ends the
// run before anything slow), then builds the real Kubernetes binaries if the cache lacks them, brings up
// the host test bed (or reuses a running one), runs the unit tests and the end-to-end tests against it,
// and takes the test bed down again if this run started it (set KUBECEPTION_KEEP_TESTBED=1 to keep it).
import { spawn } from 'node:child_process';
import { globSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { buildSuite, e2eBin, suiteBuilt } from './conformance/run.ts';
import { runStaticChecks } from './static-checks.ts';
import { ensureBinaries, status, up, down } from './testbed/testbed.ts';
import { log } from './testbed/log.ts';

// The unit test globs are the ones of `npm run test:unit` (package.json), so the two cannot drift apart.
const testUnitScript = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts['test:unit'] ?? '';
const unitTests = [...testUnitScript.matchAll(/'([^']+\.test\.ts)'/g)].map((m) => m[1]!);
if (!unitTests.length) throw new Error(`no unit test globs found in package.json's test:unit script: ${testUnitScript}`);
const e2eTests = (process.argv.slice(2).length ? process.argv.slice(2) : ['e2e/tests/*.e2e.ts']).flatMap((pattern) => {
  const files = globSync(pattern).sort();
  if (!files.length) throw new Error(`npm test: no test file matches ${pattern}`);
  return files;
});
// The conformance subset needs the upstream e2e.test, the longest build of all (about 13 min of 2 cores
// cold). On a machine without it, it is built in the background at the lowest CPU priority while the other
// tests run (they mostly wait for Kubernetes), and the tests that need it run in a second pass, last.
const needsSuite = (file: string) => basename(file) === 'conformance.e2e.ts';
const firstPass = e2eTests.filter((file) => !needsSuite(file));
const lastPass = e2eTests.filter(needsSuite);

function nodeTest(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=1', '--test-force-exit', ...files], { stdio: 'inherit', env });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

/** Starts the suite's build when a test of the last pass needs it and the cache lacks it; never rejects. */
function suiteInBackground(): Promise<void> | undefined {
  if (!lastPass.length || suiteBuilt()) return undefined;
  const logFile = `${dirname(e2eBin)}/background-build.log`;
  mkdirSync(dirname(logFile), { recursive: true });
  const t0 = Date.now();
  log.info({ logFile }, 'building the conformance suite (e2e.test) in the background for the tests that run last');
  return buildSuite({ logFile }).then(
    () => log.info({ seconds: (Date.now() - t0) / 1000 }, 'conformance suite built in the background'),
    (err: unknown) => log.error({ err: String(err), logFile }, 'the background build of the conformance suite failed; the test that needs it builds it again'),
  );
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
const suiteBuild = suiteInBackground(); // from here on the Go toolchain is free: the test bed start and the tests mostly wait
const wasUp = (await status()).up;
const started = Date.now();
const { kubeconfig } = wasUp ? { kubeconfig: (await status()).kubeconfig } : await up();
log.info({ reused: wasUp, seconds: (Date.now() - started) / 1000 }, 'test bed ready for the tests');

let code = 0;
try {
  const env = { ...process.env, KUBECEPTION_TESTBED_KUBECONFIG: kubeconfig };
  code = await nodeTest([...unitTests, ...firstPass], env);
  if (lastPass.length) code = (await nodeTest(lastPass, env)) || code;
} finally {
  await suiteBuild;
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
