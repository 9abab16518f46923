// The version the programs report is package.json's, and a package.json without one is refused by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { productVersion, readProductVersion } from './index.ts';

test('the product version is package.json\'s version', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(productVersion, pkg.version);
  assert.match(productVersion, /^\d+\.\d+\.\d+/);
});

test('another package.json gives its version; one without a version is an error naming the file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'version-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'package.json');
  writeFileSync(file, JSON.stringify({ name: 'x', version: '0.1.1-e2e' }));
  assert.equal(readProductVersion(pathToFileURL(file)), '0.1.1-e2e');
  writeFileSync(file, JSON.stringify({ name: 'x' }));
  assert.throws(() => readProductVersion(pathToFileURL(file)), (e: Error) => e.message.includes(file) && /no "version"/.test(e.message));
});
