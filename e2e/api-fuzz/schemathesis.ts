// Schemathesis (PyPI) for fuzzing the API from its own /openapi.json. It is installed with pip into a
// virtualenv outside the repository, keyed by version like the Go-built binaries
// (~/.cache/kubeception/schemathesis/<version>, or under $KUBECEPTION_CACHE), so a warm machine skips
// the install. A venv cannot be moved, so it is built in place and marked complete only after pip
// succeeded; an unmarked one (an interrupted install) is removed and built again.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const SCHEMATHESIS_VERSION = '4.32.5';

const run = promisify(execFile);

export function schemathesisHome(version = SCHEMATHESIS_VERSION): string {
  const cache = process.env.KUBECEPTION_CACHE ?? join(homedir(), '.cache', 'kubeception');
  return join(cache, 'schemathesis', version);
}

/** The `schemathesis` executable, installing it first when the cache lacks it (needs python3 with venv). */
export async function ensureSchemathesis(log: (line: string) => void = () => {}, version = SCHEMATHESIS_VERSION): Promise<string> {
  const home = schemathesisHome(version);
  const bin = join(home, 'bin', 'schemathesis');
  const marker = join(home, '.installed');
  if (existsSync(marker) && existsSync(bin)) return bin;
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  log(`installing schemathesis ${version} into ${home}`);
  await run('python3', ['-m', 'venv', home]);
  await run(join(home, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `schemathesis==${version}`], { maxBuffer: 16 * 1024 * 1024 });
  writeFileSync(marker, `${version}\n`);
  return bin;
}

export interface FuzzOptions {
  /** Base URL of the running API, e.g. http://127.0.0.1:8080 (its /openapi.json is fuzzed). */
  baseUrl: string;
  /** An API key with every scope of the account the fuzzer may use. */
  apiKey: string;
  /** Test cases per operation (default 50). */
  maxExamples?: number;
  /** Seed for a reproducible run. */
  seed?: number;
  /** Where the JUnit report goes (default: none). */
  reportDir?: string;
  /** Extra arguments for `schemathesis run`. */
  extraArgs?: string[];
}

/**
 * What every answer must satisfy: no 5xx, status codes, content types, headers and bodies as the
 * document declares them, and invalid requests refused. `positive_data_acceptance` is left out: a
 * schema-valid request can still be refused for reasons a schema cannot say (a cluster that does
 * not exist, is not ready yet, or a quota), and those answers are documented problems.
 */
export const FUZZ_CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
  'response_schema_conformance',
  'negative_data_rejection',
  'unsupported_method',
  'ignored_auth',
];

export function schemathesisArgs(options: FuzzOptions): string[] {
  return [
    'run',
    `${options.baseUrl}/openapi.json`,
    '--url',
    options.baseUrl,
    '--header',
    `Authorization: Bearer ${options.apiKey}`,
    '--checks',
    FUZZ_CHECKS.join(','),
    '--max-examples',
    String(options.maxExamples ?? 50),
    '--workers',
    '1',
    '--phases',
    'examples,coverage,fuzzing,stateful',
    '--suppress-health-check',
    'all',
    '--no-color',
    ...(options.seed === undefined ? [] : ['--seed', String(options.seed)]),
    ...(options.reportDir === undefined ? [] : ['--report', 'junit', '--report-dir', options.reportDir]),
    ...(options.extraArgs ?? []),
  ];
}

export interface FuzzResult {
  ok: boolean;
  exitCode: number;
  output: string;
}

/** Runs schemathesis against a running API; ok when it found nothing. */
export async function fuzzApi(options: FuzzOptions, log: (line: string) => void = () => {}): Promise<FuzzResult> {
  const bin = await ensureSchemathesis(log);
  // Schemathesis keeps a cache (.schemathesis/) and looks for schemathesis.toml in its working
  // directory and the ones above: a fresh one outside the repository, so neither leaks either way.
  const cwd = mkdtempSync(join(tmpdir(), 'kc-api-fuzz-'));
  try {
    const { stdout, stderr } = await run(bin, schemathesisArgs(options), { cwd, maxBuffer: 64 * 1024 * 1024 });
    return { ok: true, exitCode: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { ok: false, exitCode: failed.code, output: (failed.stdout ?? '') + (failed.stderr ?? '') };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}
