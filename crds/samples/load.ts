// Reads the sample manifests and the expectations written in the comments on top of the invalid ones, so
// the unit tests (ajv + mirrors) and the e2e test (real API server) check the same cases.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { TenantControlPlane } from '../generated/types.ts';

const here = dirname(fileURLToPath(import.meta.url));

export interface ValidSample {
  file: string;
  /** Full path, for `kubectl apply -f`. */
  path: string;
  object: TenantControlPlane;
}

export interface InvalidSample {
  file: string;
  path: string;
  /** What is wrong (the `# Invalid...:` line). */
  description: string;
  /** A fragment of the message our validator and, unless `expectApiServer` is set, the API server give. */
  expect: string;
  /** Where the API server words it differently (e.g. unknown fields under server-side apply). */
  expectApiServer?: string;
  /** Update cases: the object as first applied, which is valid. */
  base?: TenantControlPlane;
  /** The object to refuse (the update for update cases). */
  object: TenantControlPlane;
  /** The YAML of the object to refuse, for `kubectl apply -f -`. */
  objectYaml: string;
}

function parseObjects(path: string): { objects: TenantControlPlane[]; yamls: string[] } {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  for (const doc of docs) if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]!.message}`);
  return { objects: docs.map((d) => d.toJS() as TenantControlPlane), yamls: docs.map((d) => String(d)) };
}

function commentValue(text: string, key: string): string | undefined {
  const match = new RegExp(`^# ${key}: (.*)$`, 'm').exec(text);
  return match?.[1]?.trim();
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
}

export function validSamples(): ValidSample[] {
  return yamlFiles(here).map((file) => {
    const path = join(here, file);
    const { objects } = parseObjects(path);
    if (objects.length !== 1) throw new Error(`${path}: expected one object`);
    return { file, path, object: objects[0]! };
  });
}

export function invalidSamples(): InvalidSample[] {
  const dir = join(here, 'invalid');
  return yamlFiles(dir).map((file) => {
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    const description = /^# (Invalid.*)$/m.exec(text)?.[1];
    const expect = commentValue(text, 'expect');
    if (!description || !expect) throw new Error(`${path}: needs '# Invalid...' and '# expect: ...' comments on top`);
    const { objects, yamls } = parseObjects(path);
    if (objects.length < 1 || objects.length > 2) throw new Error(`${path}: expected one object, or two for an update`);
    const sample: InvalidSample = {
      file,
      path,
      description,
      expect,
      object: objects[objects.length - 1]!,
      objectYaml: yamls[yamls.length - 1]!,
    };
    const expectApiServer = commentValue(text, 'expect-apiserver');
    if (expectApiServer) sample.expectApiServer = expectApiServer;
    if (objects.length === 2) sample.base = objects[0]!;
    return sample;
  });
}
