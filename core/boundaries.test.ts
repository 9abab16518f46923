// The architecture, checked: who may import whom. It reads every TypeScript file of the repository and
// resolves its relative imports (static `from '...'`, side-effect `import '...'` and dynamic `import('...')`).
//
//   core/      shared by the operator and the API; imports neither of them, nor the test bed
//   operator/  imports core only through core/index.ts; never api/ or e2e/
//   api/       imports core only through core/index.ts; never operator/ or e2e/
//   start.ts   the product's launcher: never the test bed's code (it runs the test bed as a command)
// Tests (*.test.ts, testing.ts) of operator/ and api/ may also use core/testing/ helpers; nothing of e2e/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function tsFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : tsFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The repository paths a file imports (relative specifiers only; packages are not ours). */
export function importsOf(file: string, source: string): string[] {
  const specifiers = [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])(\.{1,2}\/[^'"]+)\1/gm)].map((m) => m[2]!);
  return specifiers.map((s) => normalize(join(dirname(file), s)));
}

interface Rule {
  /** Files the rule is about. */
  applies: (file: string) => boolean;
  /** Why an import is refused, or undefined when it is fine. */
  refuses: (target: string, file: string) => string | undefined;
}

/** Tests and their helpers (`testing.ts`, `testing/`): never part of the running product. */
const isTest = (file: string) => file.endsWith('.test.ts') || file.endsWith('/testing.ts') || file.includes('/testing/');
const under = (dir: string) => (path: string) => path.startsWith(`${dir}/`);

export const RULES: Rule[] = [
  {
    applies: under('core'),
    refuses: (target) => (['operator', 'api', 'e2e'].some((dir) => under(dir)(target)) ? 'core is shared: it may not depend on operator/, api/ or e2e/' : undefined),
  },
  ...(['operator', 'api'] as const).map((dir): Rule => ({
    applies: under(dir),
    refuses: (target, file) => {
      const other = dir === 'operator' ? 'api' : 'operator';
      if (under(other)(target)) return `${dir}/ may not import ${other}/: what both need belongs in core/`;
      if (under('e2e')(target)) return `${dir}/ may not import the test bed (e2e/)`;
      if (under('core/testing')(target)) return isTest(file) ? undefined : 'only tests may use core/testing/';
      if (under('core')(target) && target !== 'core/index.ts') return `${dir}/ imports core through its public entry core/index.ts, not ${target}`;
      return undefined;
    },
  })),
  {
    applies: (file) => file === 'start.ts',
    refuses: (target) => (under('e2e')(target) ? 'the product does not link the test bed: start.ts runs it as a command' : undefined),
  },
];

export function violations(files: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [file, source] of Object.entries(files)) {
    for (const target of importsOf(file, source)) {
      for (const rule of RULES) {
        const why = rule.applies(file) ? rule.refuses(target, file) : undefined;
        if (why) found.push(`${file} imports ${target}: ${why}`);
      }
    }
  }
  return found;
}

test('the repository keeps its boundaries', () => {
  const self = relative(root, fileURLToPath(import.meta.url)); // its examples below are not imports
  const sources = ['core', 'operator', 'api'].flatMap(tsFiles).concat('start.ts').filter((f) => f !== self);
  const files = Object.fromEntries(sources.map((f) => [f, readFileSync(join(root, f), 'utf8')]));
  assert.ok(Object.keys(files).length > 100, 'the walk found the sources');
  assert.deepEqual(violations(files), []);
});

test('each kind of crossing is caught', () => {
  const cases: Record<string, string> = {
    'api/host/x.ts': "import { KubeClient } from '../../operator/runtime/kube-client.ts';",
    'api/y.ts': "import { apply } from '../core/kube/apply.ts';",
    'operator/z.ts': "import { log } from '../e2e/testbed/log.ts';",
    'operator/controller/w.ts': "const { clusterRoutes } = await import('../../api/routes/clusters.ts');",
    'core/v.ts': "import '../operator/main.ts';",
    'start.ts': "import { up } from './e2e/testbed/testbed.ts';",
    'api/u.ts': "import { FakeApiServer } from '../core/testing/fake-api-server.ts';",
  };
  const found = violations(cases);
  for (const file of Object.keys(cases)) assert.ok(found.some((v) => v.startsWith(`${file} `)), `${file} should be refused; found ${found.join('\n')}`);
  // What is allowed stays allowed.
  assert.deepEqual(violations({
    'api/a.ts': "import { KubeClient } from '../core/index.ts';\nimport { x } from './b.ts';\nimport { pino } from 'pino';",
    'operator/b.test.ts': "import { FakeApiServer } from '../core/testing/fake-api-server.ts';",
    'core/c.ts': "import { LABELS } from './contract.ts';",
  }), []);
});
