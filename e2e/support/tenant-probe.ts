// Watching a tenant API server from outside while something happens to its control plane: its super-admin
// credentials from the host, and a probe of one path every 200 ms, each on a new connection (no keep-alive),
// so every probe is balanced anew over the replicas behind the tenant's Service.
import { request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import type { Testbed } from './testbed.ts';

/** A key of a Secret on the host, decoded. */
export async function secretText(tb: Testbed, ns: string, name: string, key: string): Promise<string> {
  const { stdout } = await tb.kubectl(['get', 'secret', '-n', ns, name, '-o', `jsonpath={.data.${key.replaceAll('.', '\\.')}}`]);
  return Buffer.from(stdout, 'base64').toString('utf8');
}

export interface ClientCredentials {
  ca: string;
  cert: string;
  key: string;
}

/** The CA and client certificate of a tenant's break-glass super-admin kubeconfig. */
export async function superAdminCredentials(tb: Testbed, ns: string, tenant: string): Promise<ClientCredentials> {
  const conf = parse(await secretText(tb, ns, `${tenant}-super-admin-kubeconfig`, 'super-admin.conf')) as {
    users: { user: Record<string, string> }[];
    clusters: { cluster: Record<string, string> }[];
  };
  const b64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');
  return {
    ca: b64(conf.clusters[0]?.cluster['certificate-authority-data']),
    cert: b64(conf.users[0]?.user['client-certificate-data']),
    key: b64(conf.users[0]?.user['client-key-data']),
  };
}

/** One GET of `path` on a new connection; resolves the status code, or 0 on a network error or timeout. */
export function tenantStatus(endpoint: string, path: string, creds: ClientCredentials, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${endpoint}${path}`, { ...creds, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export interface ProbeResult {
  probes: number;
  /** Each failed probe: when (ms since the epoch) and the status it got (0: no answer). */
  failures: { at: number; status: number }[];
}

/** Probes `path` every 200 ms until stop(), which resolves what the probes saw. */
export function probeEvery200ms(endpoint: string, path: string, creds: ClientCredentials, timeoutMs: number): { stop: () => Promise<ProbeResult> } {
  const result: ProbeResult = { probes: 0, failures: [] };
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const status = await tenantStatus(endpoint, path, creds, timeoutMs);
      result.probes++;
      if (status !== 200) result.failures.push({ at: Date.now(), status });
      await sleep(200);
    }
  })();
  return {
    stop: async () => {
      polling = false;
      await poller;
      return result;
    },
  };
}
