// The files a program needs, found by following its imports: the app layer of a product image holds
// exactly these (tests, the test bed and tools stay out), and the image check walks the same graph
// inside a built layer to prove that nothing is missing.
import { posix } from 'node:path';

export interface Imports {
  /** Relative specifiers ('./x.ts', '../core/index.ts'), as written. */
  relative: string[];
  /** Package specifiers ('fastify', '@kubernetes/client-node', 'yaml/util'); node: built-ins left out. */
  packages: string[];
}

// `import ... from '...'`, `export ... from '...'`, `import '...'` and `import('...')`, type-only imports
// included (they cost nothing and keep the walk simple).
// A specifier has no white space: that keeps out prose in strings such as "cannot change from " + x.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])([^'"\s]+)\1/gm;
// `import(` followed by anything but a string literal: a path computed at run time, which no walk can follow.
const COMPUTED_IMPORT = /\bimport\s*\(\s*(?!['"])/;

/** The specifiers a module imports; a computed `import()` is an error, since the walk could not see it. */
export function importsOf(file: string, source: string): Imports {
  if (COMPUTED_IMPORT.test(source)) throw new Error(`${file}: import() of a computed path: the image builder cannot tell which file it loads`);
  const relative: string[] = [];
  const packages: string[] = [];
  for (const match of source.matchAll(SPECIFIER)) {
    const specifier = match[2]!;
    if (specifier.startsWith('./') || specifier.startsWith('../')) relative.push(specifier);
    else if (specifier.startsWith('/')) throw new Error(`${file}: absolute import ${specifier}`);
    else if (!specifier.startsWith('node:')) packages.push(specifier);
  }
  return { relative, packages };
}

/** The package a specifier names: 'yaml/util' -> 'yaml', '@scope/pkg/x' -> '@scope/pkg'. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

export interface ImportClosure {
  /** Repository-relative paths (posix), sorted: the entries and every file they reach. */
  files: string[];
  /** Package names imported by those files, sorted. */
  packages: string[];
}

/**
 * Every file reachable from `entries` through relative imports. `read` returns a file's text, or undefined
 * when it does not exist: an import of a missing file is an error naming the importer.
 */
export function importClosure(entries: string[], read: (path: string) => string | undefined): ImportClosure {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = entries.map((path) => ({ path: posix.normalize(path), from: '(entry point)' }));
  while (pending.length > 0) {
    const { path, from } = pending.pop()!;
    if (files.has(path)) continue;
    if (path.startsWith('../')) throw new Error(`${from} imports ${path}, outside the repository`);
    const source = read(path);
    if (source === undefined) throw new Error(`${from} imports ${path}, which does not exist`);
    files.add(path);
    const found = importsOf(path, source);
    for (const specifier of found.relative) pending.push({ path: posix.join(posix.dirname(path), specifier), from: path });
    for (const specifier of found.packages) packages.add(packageName(specifier));
  }
  return { files: [...files].sort(), packages: [...packages].sort() };
}
