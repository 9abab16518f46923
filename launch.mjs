// launch.mjs: how the npm scripts that run TypeScript start Node. Plain JavaScript that any Node (also the
// machine's Node 20, which cannot run .ts files) can run, so `npm start` and `npm test` work on a fresh
// clone without a prior `npm ci`:
//
//   node launch.mjs <node arguments...>     e.g. node launch.mjs start.ts, node launch.mjs --test 'x/*.test.ts'
//
// 1. runs `npm ci --no-audit --no-fund` when node_modules, the `node` package (Node 24 from the npm
//    registry) or npm's record of the install (node_modules/.package-lock.json) is missing, or when
//    package-lock.json is newer than that record (the lock changed since the last install);
// 2. runs node_modules/.bin/node (Node 24) with the arguments, node_modules/.bin first on its PATH as under
//    npm run; stdio is shared, SIGINT/SIGTERM/SIGHUP are passed on to it (every one of them: the launcher
//    never dies of a signal itself), and its exit code or its signal becomes the launcher's.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const modules = join(root, 'node_modules');
const node24 = join(modules, '.bin', 'node');

/** Why `npm ci` has to run first, or undefined when node_modules matches package-lock.json. */
export function installReason(dir = root) {
  const nm = join(dir, 'node_modules');
  const record = join(nm, '.package-lock.json');
  if (!existsSync(nm)) return 'node_modules is missing';
  if (!existsSync(join(nm, '.bin', 'node')) || !existsSync(join(nm, 'node', 'package.json'))) return 'the node package (Node 24) is not installed';
  if (!existsSync(record)) return 'node_modules/.package-lock.json is missing';
  if (statSync(join(dir, 'package-lock.json')).mtimeMs > statSync(record).mtimeMs) return 'package-lock.json changed since the last install';
  return undefined;
}

function say(message) {
  process.stderr.write(`[launch] ${message}\n`);
}

function npmCi() {
  // The npm that started this script (npm run sets npm_execpath), else the one on the PATH.
  const npmCli = process.env.npm_execpath;
  const [cmd, pre] = npmCli && /\.[cm]?js$/.test(npmCli) ? [process.execPath, [npmCli]] : ['npm', []];
  const args = [...pre, 'ci', '--no-audit', '--no-fund'];
  // npm's output goes to stderr: stdout belongs to the script (e.g. `npm run testbed -- status` prints JSON)
  const result = spawnSync(cmd, args, { cwd: root, stdio: ['inherit', 2, 2] });
  if (result.error) return `${result.error.message}`;
  if (result.status !== 0) return `exit ${result.status ?? result.signal}`;
  return undefined;
}

function main() {
  const args = process.argv.slice(2);
  if (!args.length) {
    say('usage: node launch.mjs <file.ts | node arguments...>');
    process.exit(2);
  }
  const reason = installReason();
  if (reason) {
    say(`${reason}: running npm ci --no-audit --no-fund`);
    const failed = npmCi();
    if (failed) {
      say(`npm ci failed (${failed})`);
      process.exit(1);
    }
    if (!existsSync(node24)) {
      say(`npm ci finished but ${node24} is missing: is the npm package "node" in package.json?`);
      process.exit(1);
    }
  }

  const env = { ...process.env, PATH: [join(modules, '.bin'), process.env.PATH].filter(Boolean).join(delimiter) };
  const child = spawn(node24, args, { stdio: 'inherit', env });
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const forward = (signal) => {
    try {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    } catch {
      // the child is gone already: its exit is handled below
    }
  };
  for (const signal of signals) process.on(signal, forward);
  child.on('error', (err) => {
    say(`cannot run ${node24}: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal && signals.includes(signal)) {
      // die of the same signal, so the caller sees what the child saw
      for (const s of signals) process.removeListener(s, forward);
      process.kill(process.pid, signal);
    }
    // a signal such as SIGKILL or SIGSEGV is reported as the shell does: 128 + its number
    setTimeout(() => process.exit(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1)), signal ? 200 : 0);
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
