// Kubeconfig files of the test bed's components, each a client certificate of the host CA.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';

export async function writeKubeconfig(file: string, opts: { server: string; pkiDir: string; cert: string; user: string }): Promise<void> {
  const b64 = async (name: string) => (await readFile(join(opts.pkiDir, name))).toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'testbed', cluster: { server: opts.server, 'certificate-authority-data': await b64('ca.crt') } }],
    users: [{ name: opts.user, user: { 'client-certificate-data': await b64(`${opts.cert}.crt`), 'client-key-data': await b64(`${opts.cert}.key`) } }],
    contexts: [{ name: 'testbed', context: { cluster: 'testbed', user: opts.user } }],
    'current-context': 'testbed',
  };
  await writeFile(file, stringify(config), { mode: 0o600 });
}
