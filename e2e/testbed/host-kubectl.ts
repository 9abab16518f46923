// kubectl against the host cluster with the test bed's admin kubeconfig, and the one question the test bed
// asks it while starting nodes.
import { join } from 'node:path';
import { run } from './exec.ts';
import { testbedConfig as c } from './config.ts';

export async function kubectl(args: string[], input?: string): Promise<string> {
  const { stdout } = await run(join(c.bin.kubernetes, 'kubectl'), [`--kubeconfig=${c.adminKubeconfig}`, ...args], { input });
  return stdout;
}

/** Whether the node reports Ready; a failed request throws (waitFor retries it and names the last error). */
export async function nodeReady(name: string): Promise<boolean> {
  const out = await kubectl(['get', 'node', name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
  return out.trim() === 'True';
}
