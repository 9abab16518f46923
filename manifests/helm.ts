// The helm binary built from its Go module (e2e/build/build-kubernetes.sh helm) and a way to run it.
// Used by `npm run manifests` and the chart tests; no cluster is needed for lint and template.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { testbedConfig } from '../e2e/testbed/config.ts';

export const CHART_DIR = join(testbedConfig.repoRoot, 'manifests', 'kubeception');
export const HELM = join(testbedConfig.bin.helm, 'helm');

/** The path of helm, or an error that says how to build it. */
export function helmBinary(): string {
  if (!existsSync(HELM)) {
    throw new Error(
      `helm ${testbedConfig.versions.helm} is not built: ${HELM} is missing. ` +
        'Build it with `bash e2e/build/build-kubernetes.sh helm` (about 6 min cold on 2 cores) or `npm run testbed -- build`.',
    );
  }
  return HELM;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm; resolves with its exit code and output (a failure is an answer, not an exception). */
export function helm(args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<HelmResult> {
  const binary = helmBinary();
  const env = { ...process.env, ...options.env };
  return new Promise((resolve) => {
    execFile(binary, args, { env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
