// `npm run conformance`: the upstream conformance suite against a tenant of the test bed with two joined
// worker machines.
//
//   npm run conformance                      the [Conformance] set minus the named skips (selection.ts)
//   npm run conformance -- --subset ci       the CI subset only (what e2e/tests/conformance.e2e.ts runs)
//   npm run conformance -- --focus REGEX     specs of your own choice (repeatable; --skip REGEX too)
//   options: --nodes N (ginkgo processes, default 4), --out DIR (default docs/conformance), --timeout MINUTES,
//   --name NAME (result files NAME.md, NAME.junit.xml; default the version), --workers I,J (machines wI, wJ; 5,6)
//
// Steps: build e2e.test, ginkgo and agnhost for the tenant's version (build-kubernetes.sh e2e, cached by
// version), the suite's images (images.ts), the test bed (started or reused), a NodePort tenant with two
// workers (tenant.ts), then ginkgo runs e2e.test in parallel (serial specs last, on one process), printing
// progress every 30 s; the results go to <out>/<version>.md and <out>/<version>.junit.xml (report.ts).
// The exit code is 1 when a spec failed.
import { spawn } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { dockerArchive } from '../../images/archive.ts';
import { testbedConfig as c } from '../testbed/config.ts';
import { run } from '../testbed/exec.ts';
import { machineImageTarget } from '../testbed/machine.ts';
import { buildTestPrograms } from '../testbed/images.ts';
import { workerImages, type Worker } from '../testbed/worker.ts';
import { preflight, TESTBED_PACKAGES } from '../testbed/preflight.ts';
import { debianPackages, HOST_PACKAGES, imageSpec, listImages, planImages, type E2eImageSources } from './images.ts';
import { counts, junitReport, markdownReport, parseJunit, type RunSummary } from './report.ts';
import { ciSubset, fullConformance, ginkgoSelectionArgs, type Selection } from './selection.ts';
import { conformanceCluster, type ConformanceCluster } from './tenant.ts';

export const e2eBin = join(c.cacheRoot, 'kubernetes-e2e', c.versions.kubernetes, 'bin');

const say = (line: string) => console.log(`[conformance ${new Date().toISOString().slice(11, 19)}] ${line}`);

/** Whether e2e.test and its tools are in the cache (the build script's own test, for callers that plan around it). */
export function suiteBuilt(): boolean {
  return ['e2e.test', 'ginkgo', 'agnhost', 'nonewprivs', 'sample-apiserver'].every((name) => existsSync(join(e2eBin, name)));
}

/**
 * e2e.test, ginkgo and agnhost for the tenant's version: built once, then taken from the cache. `background`
 * builds at the lowest CPU priority with the build's progress in `logFile` (npm test's other tests keep the
 * CPU and the terminal); the script's lock makes a second caller wait for the first build and reuse it.
 */
export async function buildSuite(background?: { logFile: string }): Promise<void> {
  const script = join(c.repoRoot, 'e2e', 'build', 'build-kubernetes.sh');
  const stderr = background ? openSync(background.logFile, 'a') : 'inherit';
  try {
    await new Promise<void>((done, fail) => {
      const child = background ? spawn('nice', ['-n', '19', 'bash', script, 'e2e'], { stdio: ['ignore', 'ignore', stderr] }) : spawn('bash', [script, 'e2e'], { stdio: ['ignore', 'ignore', stderr] });
      child.on('error', fail);
      child.on('close', (code) => (code === 0 ? done() : fail(new Error(`build-kubernetes.sh e2e exited ${code}`))));
    });
  } finally {
    if (typeof stderr === 'number') closeSync(stderr);
  }
}

/** The test bed's pause program (e2e/images/pause), built with the other test programs when the test bed has not built it yet. */
async function pauseBinary(): Promise<string> {
  const built = join(c.imagesDir, 'bin', 'pause');
  return existsSync(built) ? built : join(await buildTestPrograms(c), 'pause');
}

/** The suite's images as docker-archives, built once per run; imported into each worker by `load`. */
async function suiteImages(dir: string): Promise<{ missing: string[]; load: (w: Worker) => Promise<void>; remove: () => Promise<void> }> {
  const refs = await listImages(join(e2eBin, 'e2e.test'));
  // what every worker machine gets already (the pause image) is not made twice
  const { buildable, missing } = planImages(refs.filter((r) => !workerImages.includes(r)));
  const sources: E2eImageSources = {
    e2eBin,
    pauseBinary: await pauseBinary(),
    corednsBinary: join(c.bin.coredns, 'coredns'),
    etcdBin: c.bin.etcd,
    nginxRoot: await debianPackages(join(c.cacheRoot, 'debian', 'nginx'), ['nginx', 'nginx-common']),
    kubernetesSource: (await run('go', ['list', '-m', '-f', '{{.Dir}}', 'k8s.io/kubernetes'], { cwd: join(c.cacheRoot, 'work', `kubernetes-e2e-${c.versions.kubernetes}`) })).stdout.trim(),
  };
  const archives: string[] = [];
  for (const ref of buildable) {
    const file = join(dir, `${ref.replace(/[/:]/g, '_')}.tar`);
    await writeFile(file, dockerArchive(await imageSpec(ref, sources)));
    archives.push(file);
  }
  say(`images built: ${buildable.join(', ')}; not built (no recipe): ${missing.join(', ')}`);
  return {
    missing,
    // about 1 GB of archives: gone once the workers have the images (the log and the report stay)
    remove: async () => void (await Promise.all(archives.map((f) => rm(f, { force: true })))),
    load: async (w) => {
      const target = machineImageTarget(w);
      for (const file of archives) await run('ctr', ['--address', target.socket, '-n', 'k8s.io', 'images', 'import', file]);
    },
  };
}

export interface ConformanceOptions {
  selection: Selection;
  nodes: number;
  /** Where the result files go; undefined: only returned. */
  out?: string;
  /** Base name of the result files (default: the version). */
  name?: string;
  timeoutMinutes: number;
  /** Worker machine numbers (default 5 and 6: apart from the e2e tests' workers). */
  workerIndexes?: [number, number];
  /** Runs against the cluster after the suite, before it is removed (the e2e test's own checks). */
  afterSuite?: (cluster: ConformanceCluster) => Promise<void>;
}

export async function runConformance(options: ConformanceOptions): Promise<RunSummary & { logFile: string; timings: Record<string, number> }> {
  const version = c.versions.kubernetes;
  const work = await mkdtemp(join(tmpdir(), 'kubeception-conformance-'));
  const timings: Record<string, number> = {};
  // the Debian packages the suite's images are made of, with the test bed's own (one preflight per process)
  await preflight([...Object.keys(TESTBED_PACKAGES), ...HOST_PACKAGES]);
  let t0 = Date.now();
  say(`building e2e.test, ginkgo, agnhost ${version} (cached after the first time)`);
  await buildSuite();
  timings['suite build'] = (Date.now() - t0) / 1000;
  t0 = Date.now();
  const images = await suiteImages(work);
  timings['images'] = (Date.now() - t0) / 1000;
  const cluster = await conformanceCluster({ workerIndexes: options.workerIndexes ?? [5, 6], namespacePrefix: 'conformance', dir: work, loadImages: images.load, log: say })
    .finally(() => images.remove());
  Object.assign(timings, cluster.timings);
  const logFile = join(work, 'e2e.log');
  const reportDir = join(work, 'report');
  await mkdir(reportDir, { recursive: true });
  try {
    const startedAt = new Date();
    const args = [
      `--nodes=${options.nodes}`, '--no-color', '-v', `--timeout=${options.timeoutMinutes}m`, '--junit-report=junit.xml', `--output-dir=${reportDir}`,
      ...ginkgoSelectionArgs(options.selection),
      join(e2eBin, 'e2e.test'), '--',
      `--kubeconfig=${cluster.kubeconfig}`, '--provider=skeleton', `--report-dir=${reportDir}`, '--e2e-output-dir', reportDir,
      `--kubectl-path=${join(c.bin.kubernetes, 'kubectl')}`,
    ];
    say(`running: ginkgo ${args.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')}`);
    say(`log: ${logFile}`);
    const code = await new Promise<number>((done) => {
      const log = createWriteStream(logFile);
      const child = spawn(join(e2eBin, 'ginkgo'), args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: cluster.kubeconfig } });
      child.stdout.pipe(log, { end: false });
      child.stderr.pipe(log, { end: false });
      const progress = setInterval(() => {
        const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
        const done = (text.match(/^• \[/gm) ?? []).length;
        const failed = (text.match(/^• \[FAILED\]|^• \[PANICKED\]|^• \[TIMEDOUT\]/gm) ?? []).length;
        say(`${done} specs done (${failed} failed), ${Math.round((Date.now() - startedAt.getTime()) / 1000)} s`);
      }, 30_000);
      child.on('close', (exit) => {
        clearInterval(progress);
        log.end();
        done(exit ?? 1);
      });
    });
    const seconds = (Date.now() - startedAt.getTime()) / 1000;
    timings['suite run'] = seconds;
    const junit = join(reportDir, 'junit.xml');
    if (!existsSync(junit)) throw new Error(`ginkgo exited ${code} without a JUnit report; see ${logFile}:\n${(await readFile(logFile, 'utf8')).slice(-3000)}`);
    const results = parseJunit(await readFile(junit, 'utf8'), options.selection.skips, options.selection.focus);
    const summary: RunSummary = {
      version, startedAt, seconds, nodes: options.nodes, focus: options.selection.focus, skips: options.selection.skips, missingImages: images.missing,
      cluster: `a NodePort tenant (1 apiserver, kube-proxy iptables, CoreDNS, konnectivity, flannel VXLAN) with 2 worker machines (kubeadm join, containerd 1.6)`,
      results,
    };
    if (options.out) {
      await mkdir(options.out, { recursive: true });
      const base = options.name ?? version;
      await writeFile(join(options.out, `${base}.md`), markdownReport(summary));
      await writeFile(join(options.out, `${base}.junit.xml`), junitReport(summary));
      say(`results: ${join(options.out, `${base}.md`)}`);
    }
    await options.afterSuite?.(cluster);
    const n = counts(results);
    say(`${n.passed} passed, ${n.failed} failed, ${n.skipped} skipped by name; suite ${Math.round(seconds)} s; ginkgo exit ${code}`);
    return { ...summary, logFile, timings };
  } finally {
    if (process.env.KUBECEPTION_KEEP_CONFORMANCE_TENANT) say(`tenant kept: KUBECONFIG=${cluster.kubeconfig}`);
    else await cluster.remove();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      subset: { type: 'string' }, focus: { type: 'string', multiple: true }, skip: { type: 'string', multiple: true },
      nodes: { type: 'string', default: '4' }, out: { type: 'string', default: join(c.repoRoot, 'docs', 'conformance') },
      name: { type: 'string' }, timeout: { type: 'string', default: '240' }, workers: { type: 'string', default: '5,6' },
    },
  });
  let selection: Selection = values.subset === 'ci' ? ciSubset() : fullConformance();
  if (values.focus?.length) selection = { focus: values.focus, skips: selection.skips };
  if (values.skip?.length) selection = { ...selection, skips: [...selection.skips, ...values.skip.map((pattern) => ({ pattern, reason: 'skipped on the command line' }))] };
  const [a, b] = values.workers!.split(',').map(Number);
  const summary = await runConformance({ selection, nodes: Number(values.nodes), out: resolve(values.out!), name: values.name, timeoutMinutes: Number(values.timeout), workerIndexes: [a!, b!] });
  say(`timings: ${Object.entries(summary.timings).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}`);
  if (counts(summary.results).failed > 0 || summary.results.length === 0) process.exitCode = 1;
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}


