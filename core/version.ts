// The product's version: package.json's "version", read once when the process loads the core. The
// images (images/product.ts) write the package.json they ship, so a process reports what its image is
// tagged with; the operator exports it as kubeception_build_info, the API in /healthz and /readyz.
import { readFileSync } from 'node:fs';

/** The "version" of a package.json; a missing or empty one is an error that names the file. */
export function readProductVersion(packageJson: URL = new URL('../package.json', import.meta.url)): string {
  const parsed = JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: unknown };
  if (typeof parsed.version !== 'string' || parsed.version.trim() === '') {
    throw new Error(`${packageJson.pathname} has no "version": the product cannot say which version it is`);
  }
  return parsed.version;
}

export const productVersion: string = readProductVersion();
