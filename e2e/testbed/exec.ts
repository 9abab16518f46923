// Running commands: the test bed is driven by real binaries (openssl, ip, iptables, ctr, go, kubectl).
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command and returns its output; throws with the command line and stderr on failure. */
export async function run(cmd: string, args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunResult> {
  if (options.input !== undefined) return runWithInput(cmd, args, options.input, options.env);
  try {
    const { stdout, stderr } = await execFileAsync(cmd, args, { env: options.env, cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 });
    return { stdout, stderr };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    // eslint-disable-next-line preserve-caught-error -- the message carries stderr; a cause would drag the whole stdout into every print
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** Like run, but ignores failure (for teardown steps whose target may already be gone). */
export async function tryRun(cmd: string, args: readonly string[]): Promise<boolean> {
  try {
    await run(cmd, args);
    return true;
  } catch {
    return false;
  }
}

function runWithInput(cmd: string, args: readonly string[], input: string, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
    });
    child.stdin.end(input);
  });
}
